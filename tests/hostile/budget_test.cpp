// The memory budget and the attacks that used to break it, against the shipped
// executable with its default flags (a child process on port 0, generated
// certificates). Each test is one way a hostile client can try to stop,
// starve or bloat the webhook. After each the process must be alive, answer a
// valid review byte for byte as the engine does, have stayed under the
// budget at its peak (VmHWM, reset before the attack) and be back near its
// level before the attack.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "policy/admission.h"
#include "tests/hostile/hostile_support.h"
#include "tests/hostile/server_process.h"
#include "tests/hostile/tls_client.h"

namespace asmegress::hostile {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The budgets the README promises (and the chart's 128Mi limit leaves room for).
constexpr long budget_kib = 96 * 1024;
constexpr long idle_budget_kib = 48 * 1024;
constexpr long settle_kib = 8 * 1024;
constexpr std::size_t body_limit = 7 * 1024 * 1024;
constexpr std::size_t default_max_connections = 1024;
// How long the API server's own connection may take to get in and be answered.
constexpr auto admission_deadline = 2s;

// A CREATE review of `object` (JSON text), compact, as the API server sends it.
std::string review_of(std::string_view object, std::string_view kind = {}) {
  std::string out =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"budget-test",)";
  out += R"("kind":)";
  out += kind.empty() ? std::string_view(
                            R"({"group":"istio.alibabacloud.com","version":"v1beta1","kind":"ASMEgressTrafficPolicy"})")
                      : kind;
  out += R"(,"resource":{"group":"istio.alibabacloud.com","version":"v1beta1","resource":"asmegresstrafficpolicies"},)";
  out += R"("name":"egress-by-gw","namespace":"istio-egress","operation":"CREATE",)";
  out += R"("userInfo":{"username":"admin"},"object":)";
  out += object;
  out += R"(,"oldObject":null,"dryRun":false}})";
  return out;
}

// A policy for gateway "gw" with one rule whose to[] is `destinations` (the
// items' JSON text, comma-separated).
std::string policy_of(std::string_view destinations) {
  std::string out =
      R"({"apiVersion":"istio.alibabacloud.com/v1beta1","kind":"ASMEgressTrafficPolicy",)"
      R"("metadata":{"name":"egress-by-gw","namespace":"istio-egress"},)"
      R"("spec":{"byEgressGateway":{"name":"gw"},"egressRules":[{"from":[{"namespace":"default"}],"to":[)";
  out += destinations;
  out += "]}]}}";
  return out;
}

// `count` destinations of `hosts` hosts each; `host(i, k)` names host k of
// entry i; `tail` is the rest of the entry (port and gateway).
std::string destinations(std::size_t count, std::size_t hosts,
                         const std::function<std::string(std::size_t, std::size_t)>& host,
                         std::string_view tail) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i != 0) out += ',';
    out += R"({"name":"d)" + std::to_string(i) + R"(","hosts":[)";
    for (std::size_t k = 0; k < hosts; ++k) {
      if (k != 0) out += ',';
      out += '"' + host(i, k) + '"';
    }
    out += "],";
    out += tail;
    out += '}';
  }
  return out;
}

void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::size_t open_file_limit() {
  rlimit limit{};
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? static_cast<std::size_t>(limit.rlim_cur) : 1024;
}

// Whether the server's log shows `text` within a few seconds.
bool wait_for_log(const ServerProcess& process, std::string_view text) {
  for (int i = 0; i < 100; ++i) {
    if (process.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// One server process for a test suite: the shipped executable, defaults but
// for loopback, port 0 and its own certificate directory.
class ServedExecutable {
 public:
  explicit ServedExecutable(const std::string& name, std::vector<std::string> extra = {}) {
    directory_ = std::filesystem::temp_directory_path() /
                 ("asm-egress-budget-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(directory_);
    std::vector<std::string> arguments{"serve", "--secure-port", "0", "--bind-address", "127.0.0.1",
                                       "--cert-dir", (directory_ / "certs").string(),
                                       "--shutdown-drain-period", "100ms",
                                       "--shutdown-grace-period", "3s"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ServerProcess>(ASM_EGRESS_WEBHOOK_EXECUTABLE, arguments,
                                               (directory_ / "server.log").string(), true);
  }
  ~ServedExecutable() {
    if (process_) process_->terminate(10s);
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  ServedExecutable(const ServedExecutable&) = delete;
  ServedExecutable& operator=(const ServedExecutable&) = delete;

  std::string start() { return process_->start(); }
  ServerProcess& process() { return *process_; }
  std::filesystem::path directory() const { return directory_; }
  std::string ca_file() const { return (directory_ / "certs" / "ca.crt").string(); }

 private:
  std::filesystem::path directory_;
  std::unique_ptr<ServerProcess> process_;
};

class Budgets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);
    raise_open_file_limit();
    server_ = new ServedExecutable("suite");
    const std::string error = server_->start();
    ASSERT_TRUE(error.empty()) << error;
    golden_ = new std::string(
        policy::answer_review(fixture(), policy::WebhookKind::Mutating, policy::Settings{}).body);
    for (int i = 0; i < 20; ++i) {
      auto connection = connect();
      ASSERT_NE(connection, nullptr);
      ASSERT_EQ(post(*connection, "/mutate", fixture()).status, 200);
      ASSERT_EQ(post(*connection, "/validate", fixture()).status, 200);
    }
    std::printf("server pid %d on port %u, RSS after warm-up %ld KiB\n", server().pid(),
                server().port(), server().rss_kib());
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete golden_;
    golden_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    rss_before_kib_ = settled_rss();
    server().reset_peak();
  }

  void TearDown() override {
    ASSERT_TRUE(server().running()) << server().log();
    expect_answers_correctly();
    if (!rss_is_meaningful) return;
    const long peak = server().peak_kib();
    std::printf("RSS before %ld KiB, peak %ld KiB\n", rss_before_kib_, peak);
    EXPECT_LE(peak, budget_kib) << "peak RSS over the budget";
    const long after = settled_rss(rss_before_kib_ + settle_kib);
    EXPECT_LE(after, rss_before_kib_ + settle_kib)
        << "RSS " << after << " KiB after the attack, " << rss_before_kib_ << " KiB before";
  }

  static ServerProcess& server() { return server_->process(); }
  static std::uint16_t port() { return server().port(); }

  static std::unique_ptr<TlsConnection> connect(std::chrono::milliseconds timeout = 10s,
                                                const std::string& ca = {}) {
    TlsOptions options;
    options.ca_file = ca.empty() ? server_->ca_file() : ca;
    std::string error;
    return TlsConnection::open(port(), options, error, timeout);
  }

  static HttpResponse post(TlsConnection& connection, const std::string& target,
                           std::string_view body, std::string_view extra = {}) {
    if (!connection.write(http_request("POST", target, body, extra))) return {};
    return connection.read_response().value_or(HttpResponse{});
  }

  // Answers one review on a fresh connection; status 0 when none came.
  static HttpResponse review(const std::string& target, std::string_view body) {
    auto connection = connect();
    if (!connection) return {};
    return post(*connection, target, body);
  }

  // A new client, as the API server would be: connected and answered within
  // the deadline, with the engine's own answer.
  static void expect_answers_correctly(std::chrono::milliseconds deadline = admission_deadline) {
    const auto started = Clock::now();
    auto connection = connect(deadline);
    ASSERT_NE(connection, nullptr) << "no TLS connection within " << deadline.count() << " ms";
    const HttpResponse answer = post(*connection, "/mutate?timeout=10s", fixture());
    const auto took = Clock::now() - started;
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.body, *golden_);
    EXPECT_LT(took, deadline) << "answered after "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms";
  }

  // RSS once it has stopped falling for a while (memory is given back within
  // a second or so of a burst), or once it is at or below `target`.
  static long settled_rss(long target = 0) {
    long rss = server().rss_kib();
    int steady = 0;
    for (int i = 0; i < 50 && steady < 15; ++i) {
      if (target > 0 && rss <= target) break;
      std::this_thread::sleep_for(100ms);
      const long next = server().rss_kib();
      steady = next >= rss ? steady + 1 : 0;
      rss = std::min(rss, next);
    }
    return rss;
  }

  // Sends `bytes` from a thread per connection (the server may not read them:
  // writes give up after the socket's timeout), then waits for all.
  static void send_from_threads(std::vector<std::unique_ptr<TlsConnection>>& connections,
                                const std::string& bytes) {
    std::vector<std::thread> writers;
    writers.reserve(connections.size());
    for (auto& connection : connections) {
      TlsConnection* c = connection.get();
      writers.emplace_back([c, &bytes] { c->write(bytes); });
    }
    for (auto& writer : writers) writer.join();
  }

  static inline ServedExecutable* server_ = nullptr;
  static inline std::string* golden_ = nullptr;
  long rss_before_kib_ = 0;
};

// Beast 1.81 throws std::length_error from its field container for a field
// of 64 KiB, trailers included; and it does not count chunk headers,
// extensions or trailers against the header limit. The API server never
// sends a chunked body: Transfer-Encoding is refused before the body, on
// every path, so none of this is ever parsed.
TEST_F(Budgets, ChunkedTrailersAndExtensionsAreRefused) {
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string post_head =
      "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a 65,534-byte trailer value", head + "0\r\nX-Trailer: " + std::string(65534, 'v') + "\r\n\r\n"},
      {"a 65,534-byte trailer name", head + "0\r\n" + std::string(65534, 'n') + ": v\r\n\r\n"},
      {"a review with a 64 KiB trailer", post_head + "2\r\n{}\r\n0\r\nX: " + std::string(65534, 'v') + "\r\n\r\n"},
  };
  for (const auto& [what, request] : cases) {
    auto connection = connect();
    ASSERT_NE(connection, nullptr) << what;
    ASSERT_TRUE(connection->write(request)) << what;
    const auto response = connection->read_response();
    ASSERT_TRUE(server().running()) << what << ": " << server().log();
    ASSERT_TRUE(response.has_value()) << what;
    EXPECT_EQ(response->status, 411) << what << ": " << response->body;
    EXPECT_EQ(response->header("connection"), "close") << what;
    EXPECT_TRUE(connection->closed_by_peer_within(3s)) << what;
  }
  // Bulk that no limit counted: 100 MiB of chunk extension, 20 MiB of tiny
  // trailer fields. The server answers from the header and stops reading.
  std::string extension = head + "1;x=";
  extension.append(100U << 20U, 'a');
  std::string trailers = head + "0\r\n";
  while (trailers.size() < (20U << 20U)) trailers += "a:b\r\n";
  for (const auto* bulk : {&extension, &trailers}) {
    std::vector<std::unique_ptr<TlsConnection>> connections;
    for (int i = 0; i < 4; ++i) {
      auto connection = connect(3s);
      ASSERT_NE(connection, nullptr);
      connections.push_back(std::move(connection));
    }
    send_from_threads(connections, *bulk);
    ASSERT_TRUE(server().running()) << server().log();
  }
}

// request.kind is read, but only its group, version and kind: a huge array
// there is refused without being built.
TEST_F(Budgets, UnreadPartsOfAReviewAreNotBuilt) {
  std::string kind = "[";
  const std::string shell = review_of(policy_of(""), "[]");
  while (kind.size() + shell.size() + 2 < body_limit) kind += "0,";
  kind += "0]";
  const std::string body = review_of(policy_of(""), kind);
  ASSERT_LE(body.size(), body_limit);
  for (const char* target : {"/mutate", "/validate"}) {
    const HttpResponse response = review(target, body);
    EXPECT_EQ(response.status, 400) << target << ": " << response.body.substr(0, 200);
    EXPECT_NE(response.body.find("request.kind"), std::string::npos) << response.body.substr(0, 200);
  }
  // Two at once.
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&] {
      if (review("/validate", body).status == 400) ++answered;
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(answered.load(), 2);
}

// Clients that send all but the last byte of a maximum body hold memory for
// as long as the body timeout: the bytes in flight are bounded by a budget,
// past which requests wait unread; small reviews still pass.
TEST_F(Budgets, BodiesInFlightStayWithinTheBudget) {
  for (const std::size_t clients : {std::size_t{20}, std::size_t{64}}) {
    std::vector<std::unique_ptr<TlsConnection>> held;
    for (std::size_t i = 0; i < clients; ++i) {
      auto connection = connect(3s);
      ASSERT_NE(connection, nullptr);
      held.push_back(std::move(connection));
    }
    std::string request = "POST /validate?timeout=10s HTTP/1.1\r\nHost: localhost\r\n"
                          "Content-Type: application/json\r\nContent-Length: " +
                          std::to_string(body_limit) + "\r\n\r\n";
    request.append(body_limit - 1, ' ');
    send_from_threads(held, request);
    ASSERT_TRUE(server().running()) << server().log();
    // While they hold all they can: a review of ordinary size gets through.
    expect_answers_correctly();
    if (rss_is_meaningful) {
      EXPECT_LE(server().peak_kib(), budget_kib) << clients << " clients";
    }
  }
}

// A request that will be refused (route, method, content type, client
// certificate) is answered from its header: its body is never read, and no
// 100 Continue invites it.
TEST_F(Budgets, RefusedRequestsAreAnsweredBeforeTheirBody) {
  const std::string declared = "Content-Length: " + std::to_string(body_limit) + "\r\n";
  const std::vector<std::tuple<std::string, std::string, int>> cases{
      {"GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" + declared + "\r\n", "probe with a body", 413},
      {"GET /readyz HTTP/1.1\r\nHost: x\r\n" + declared + "\r\n", "readiness with a body", 413},
      {"POST /nowhere HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n" +
           declared + "\r\n", "unknown path", 404},
      {"PUT /validate HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\n" +
           declared + "\r\n", "wrong method", 405},
      {"POST /mutate HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: text/plain\r\n" +
           declared + "\r\n", "wrong content type", 415},
  };
  for (const auto& [head, what, status] : cases) {
    auto connection = connect();
    ASSERT_NE(connection, nullptr);
    ASSERT_TRUE(connection->write(head));
    const auto response = connection->read_response();
    ASSERT_TRUE(response.has_value()) << what;
    EXPECT_EQ(response->status, status) << what << ": " << response->body;
    EXPECT_EQ(response->header("connection"), "close") << what;
  }
  // Twenty at once, bodies sent in full: none of it is kept.
  std::vector<std::unique_ptr<TlsConnection>> held;
  for (int i = 0; i < 20; ++i) {
    auto connection = connect(3s);
    ASSERT_NE(connection, nullptr);
    held.push_back(std::move(connection));
  }
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + declared + "\r\n";
  request.append(body_limit, ' ');
  send_from_threads(held, request);
  if (rss_is_meaningful) {
    EXPECT_LE(server().peak_kib(), rss_before_kib_ + 16 * 1024) << "refused bodies were read";
  }
}

// Connections that never send a byte, then many that stop halfway through
// their header: at the connection limit the oldest connection that has not
// sent a whole request makes room, so a new client always gets in. Five
// rounds: memory comes back after each, and does not climb.
TEST_F(Budgets, IdleAndHalfSentConnectionsMakeRoom) {
  if (open_file_limit() < 3600) GTEST_SKIP() << "needs 3600 open files, have " << open_file_limit();
  std::vector<long> after_rounds;
  for (int round = 0; round < 5; ++round) {
    {
      std::vector<Socket> idle;
      idle.reserve(3000);
      for (int i = 0; i < 3000; ++i) {
        Socket socket = connect_loopback(port());
        ASSERT_TRUE(socket.valid()) << i;
        idle.push_back(std::move(socket));
      }
      std::vector<std::unique_ptr<TlsConnection>> half_sent;
      for (int i = 0; i < 200; ++i) {
        auto connection = connect(3s);
        ASSERT_NE(connection, nullptr) << "half-sent client " << i << " of round " << round;
        connection->write("POST /validate?timeout=10s HTTP/1.1\r\nHost: x\r\nContent-Type: applic");
        half_sent.push_back(std::move(connection));
      }
      expect_answers_correctly();
      if (rss_is_meaningful) {
        EXPECT_LE(server().peak_kib(), idle_budget_kib) << "round " << round;
      }
    }
    after_rounds.push_back(settled_rss(rss_before_kib_));
    std::printf("round %d: RSS after %ld KiB\n", round, after_rounds.back());
  }
  if (rss_is_meaningful) {
    EXPECT_LE(after_rounds.back(), after_rounds.front() + 2 * 1024) << "memory climbs round by round";
  }
}

// Connections that complete the TLS handshake and then say nothing: the
// header timeout applies before the first request, and at the limit they
// make room for new clients rather than lock them out.
TEST_F(Budgets, SilentTlsConnectionsMakeRoom) {
  if (open_file_limit() < default_max_connections + 200) GTEST_SKIP() << "too few open files";
  std::vector<std::unique_ptr<TlsConnection>> silent;
  for (std::size_t i = 0; i < default_max_connections; ++i) {
    auto connection = connect(3s);
    ASSERT_NE(connection, nullptr) << "silent client " << i;
    silent.push_back(std::move(connection));
  }
  expect_answers_correctly();
  // Ten more new clients in a row: each gets in.
  for (int i = 0; i < 10; ++i) expect_answers_correctly();
}

// Sharing and duplicate checks over every pair of destinations made one
// valid review cost seconds of CPU. Decisions are linear: each of these
// takes a small fraction of what a quadratic check took (6.9 s, 8.6 s).
TEST_F(Budgets, LargeValidPoliciesAreDecidedInLinearTime) {
  const std::string http_tail =
      R"("port":{"number":80,"protocol":"HTTP","name":"http"},"byEgressGateway":{"port":10000})";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"1,600 HTTP destinations x 50 hosts on one port",
       review_of(policy_of(destinations(
           1600, 50, [](std::size_t i, std::size_t k) { return "h" + std::to_string(i) + "x" + std::to_string(k) + ".io"; },
           http_tail)))},
      {"9,000 HTTP destinations x 5 hosts on one port",
       review_of(policy_of(destinations(
           9000, 5,
           [](std::size_t i, std::size_t k) {
             return "service-" + std::to_string(i) + "-" + std::to_string(k) +
                    ".a-rather-long-subdomain-name-for-padding.example.com";
           },
           http_tail)))},
      {"2 destinations x 20,000 hosts",
       review_of(policy_of(destinations(
           2, 20000, [](std::size_t i, std::size_t k) { return "h" + std::to_string(i) + "x" + std::to_string(k) + ".io"; },
           http_tail)))},
  };
  for (const auto& [what, body] : cases) {
    ASSERT_LE(body.size(), body_limit) << what;
    for (const char* target : {"/validate", "/mutate"}) {
      const auto cpu_before = server().cpu_time();
      const HttpResponse response = review(target, body);
      const auto cpu = server().cpu_time() - cpu_before;
      ASSERT_EQ(response.status, 200) << what << " " << target << ": " << response.body.substr(0, 300);
      const json::value answer = json::parse(response.body);
      const bool many_hosts = what.starts_with("2 ");
      EXPECT_EQ(answer.at("response").at("allowed").as_bool(), !many_hosts || std::string_view(target) == "/mutate")
          << what << " " << target << ": " << response.body.substr(0, 600);
      std::printf("%s, %zu bytes, %s: %lld ms of server CPU\n", what.c_str(), body.size(), target,
                  static_cast<long long>(cpu.count()));
      EXPECT_LT(cpu, 2000ms) << what << " " << target;
    }
  }
}

// Every warning is true of a valid policy of many multi-host TCP entries;
// a few dozen say what there is to say.
TEST_F(Budgets, WarningsAreCapped) {
  const std::string body = review_of(policy_of(destinations(
      9500, 2,
      [](std::size_t i, std::size_t k) {
        return (k == 0 ? "database-" : "replica-") + std::to_string(i) + ".tcp-services.example.com";
      },
      R"("port":{"number":3306,"protocol":"TCP","name":"mysql"})")));
  ASSERT_GT(body.size(), 1U << 20U);
  const HttpResponse response = review("/validate", body);
  ASSERT_EQ(response.status, 200) << response.body.substr(0, 300);
  const json::value answer = json::parse(response.body);
  EXPECT_TRUE(answer.at("response").at("allowed").as_bool());
  const json::array& warnings = answer.at("response").at("warnings").as_array();
  EXPECT_LE(warnings.size(), 64U);
  EXPECT_GE(warnings.size(), 10U);
  const std::string last(warnings.back().as_string());
  EXPECT_NE(last.find("more"), std::string::npos) << last;
  for (const auto& warning : warnings) EXPECT_LE(warning.as_string().size(), 120U) << warning;
  EXPECT_LT(response.body.size(), 16U * 1024U);
}

// A client certificate is required on the webhooks: a client without one
// is answered 401 from its header, and its body is never read.
TEST(BudgetsMutualTls, RequestsWithoutACertificateAreNotRead) {
  ::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  // The CA of the generated serving pair stands in for the client CA: no
  // client here has a certificate it signed.
  ServedExecutable bootstrap("mtls-bootstrap");
  ASSERT_TRUE(bootstrap.start().empty());
  const std::string client_ca = (bootstrap.directory() / "client-ca.crt").string();
  std::filesystem::copy_file(bootstrap.ca_file(), client_ca);
  ServedExecutable served("mtls", {"--client-ca-file", client_ca});
  const std::string error = served.start();
  ASSERT_TRUE(error.empty()) << error;
  ServerProcess& server = served.process();
  TlsOptions options;
  options.ca_file = served.ca_file();
  const std::string declared = "Content-Length: " + std::to_string(body_limit) + "\r\n";
  {
    std::string connect_error;
    auto connection = TlsConnection::open(server.port(), options, connect_error);
    ASSERT_NE(connection, nullptr) << connect_error;
    ASSERT_TRUE(connection->write("POST /validate HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                  "Content-Type: application/json\r\n" + declared + "\r\n"));
    const auto response = connection->read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 401);
  }
  const long before = server.rss_kib();
  server.reset_peak();
  std::vector<std::unique_ptr<TlsConnection>> held;
  for (int i = 0; i < 20; ++i) {
    std::string connect_error;
    auto connection = TlsConnection::open(server.port(), options, connect_error, 3s);
    ASSERT_NE(connection, nullptr) << connect_error;
    held.push_back(std::move(connection));
  }
  std::string request = "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                        declared + "\r\n";
  request.append(body_limit - 1, ' ');
  std::vector<std::thread> writers;
  for (auto& connection : held) {
    TlsConnection* c = connection.get();
    writers.emplace_back([c, &request] { c->write(request); });
  }
  for (auto& writer : writers) writer.join();
  ASSERT_TRUE(server.running()) << server.log();
  if (rss_is_meaningful) {
    EXPECT_LE(server.peak_kib(), before + 16 * 1024) << "bodies without a certificate were read";
  }
}

// A container whose open-file limit is below --max-connections (containerd 2
// starts containers with a soft limit of 1024): the server raises the soft
// limit to the hard one, and where the hard one is lower still it holds
// fewer connections, so that it can go on closing idle ones to make room.
// Once accept(2) fails for lack of descriptors, nobody gets in until an idle
// connection times out.
TEST(BudgetsOpenFiles, AFewOpenFilesStillLeaveRoomForNewClients) {
  ::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  const std::string golden =
      policy::answer_review(fixture(), policy::WebhookKind::Mutating, policy::Settings{}).body;
  const std::string marker = "too few open files for --max-connections";
  {
    ServedExecutable raised("nofile-raised");
    raised.process().limit_open_files(256, 4096);
    const std::string error = raised.start();
    ASSERT_TRUE(error.empty()) << error;
    ASSERT_TRUE(wait_for_log(raised.process(), "\"openFileLimit\":4096"))
        << raised.process().log();
    EXPECT_EQ(raised.process().log().find(marker), std::string::npos) << raised.process().log();
  }
  ServedExecutable served("nofile");
  served.process().limit_open_files(256, 256);
  const std::string error = served.start();
  ASSERT_TRUE(error.empty()) << error;
  ServerProcess& server = served.process();
  ASSERT_TRUE(wait_for_log(server, marker)) << server.log();
  std::vector<Socket> idle;
  for (int i = 0; i < 600; ++i) {
    Socket socket = connect_loopback(server.port());
    ASSERT_TRUE(socket.valid()) << i;
    idle.push_back(std::move(socket));
  }
  std::this_thread::sleep_for(200ms);  // let the server accept what it can
  for (int i = 0; i < 3; ++i) {
    const auto started = Clock::now();
    TlsOptions options;
    options.ca_file = served.ca_file();
    std::string connect_error;
    auto connection = TlsConnection::open(server.port(), options, connect_error, admission_deadline);
    ASSERT_NE(connection, nullptr) << "client " << i << ": " << connect_error;
    ASSERT_TRUE(connection->write(http_request("POST", "/mutate?timeout=10s", fixture())));
    const auto answer = connection->read_response();
    ASSERT_TRUE(answer.has_value()) << "client " << i;
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, golden);
    EXPECT_LT(Clock::now() - started, admission_deadline) << "client " << i;
  }
  ASSERT_TRUE(server.running()) << server.log();
}

// TLS 1.2 with an RSA certificate (what the chart's built-in mode makes):
// only ECDHE key exchange with AEAD ciphers, Mozilla's intermediate
// profile; static RSA (no forward secrecy), CBC and SHA-1 suites refused.
TEST(BudgetsTls, TlsTwelveWithAnRsaCertificateOffersOnlyEcdheWithAead) {
  ::signal(SIGPIPE, SIG_IGN);
  const auto directory = std::filesystem::temp_directory_path() /
                         ("asm-egress-budget-rsa-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  const std::string key = (directory / "tls.key").string();
  const std::string certificate = (directory / "tls.crt").string();
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key + " -out " + certificate +
      " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ServedExecutable served("rsa", {"--tls-cert-file", certificate, "--tls-private-key-file", key});
  const std::string error = served.start();
  ASSERT_TRUE(error.empty()) << error;
  const std::uint16_t port = served.process().port();
  for (const char* refused : {"AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA256",
                              "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-SHA256",
                              "ECDHE-RSA-AES256-SHA384", "DHE-RSA-AES128-GCM-SHA256",
                              "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305"}) {
    TlsOptions options;
    options.max_version = TLS1_2_VERSION;
    options.cipher_list = std::string(refused) + ":@SECLEVEL=0";
    options.ca_file = certificate;
    std::string connect_error;
    auto connection = TlsConnection::open(port, options, connect_error);
    EXPECT_EQ(connection, nullptr) << refused << " was negotiated";
  }
  for (const char* accepted : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                               "ECDHE-RSA-CHACHA20-POLY1305"}) {
    TlsOptions options;
    options.max_version = TLS1_2_VERSION;
    options.cipher_list = accepted;
    options.ca_file = certificate;
    std::string connect_error;
    auto connection = TlsConnection::open(port, options, connect_error);
    ASSERT_NE(connection, nullptr) << accepted << ": " << connect_error;
    EXPECT_EQ(connection->cipher(), accepted);
    ASSERT_TRUE(connection->write(http_request("GET", "/healthz", {})));
    const auto response = connection->read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
  }
  TlsOptions modern;
  modern.ca_file = certificate;
  std::string connect_error;
  auto connection = TlsConnection::open(port, modern, connect_error);
  ASSERT_NE(connection, nullptr) << connect_error;
  EXPECT_EQ(connection->protocol(), "TLSv1.3");
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace asmegress::hostile
