// Hostile clients against the running server (a child process, port 0,
// generated certificates, one-second step timeouts). After every test the
// server must still answer /healthz, answer the seed review byte for byte as
// the engine does, and hold no more memory than shortly after start-up plus
// a bound (allocator caches make an exact level meaningless).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <nlohmann/json.hpp>

#include "policy/admission.h"
#include "tests/hostile/hostile_support.h"
#include "tests/hostile/server_process.h"
#include "tests/hostile/tls_client.h"

namespace asmegress::hostile {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::size_t max_connections = 32;
constexpr auto step_timeout = 1000ms;
constexpr auto idle_timeout = 2000ms;
// How far above its warmed-up level the server's RSS may be after a test.
constexpr long rss_slack_kib = 20 * 1024;
constexpr std::size_t body_limit = 7 * 1024 * 1024;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(byte(generator));
  return out;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0U) == 0xC0U) { n = 1; cp = c & 0x1FU; }
    else if ((c & 0xF0U) == 0xE0U) { n = 2; cp = c & 0x0FU; }
    else if ((c & 0xF8U) == 0xF0U) { n = 3; cp = c & 0x07U; }
    else return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0U) != 0x80U) return false;
      cp = (cp << 6U) | (d & 0x3FU);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

class HostileClients : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);
    directory_ = std::filesystem::temp_directory_path() /
                 ("asm-egress-hostile-" + std::to_string(::getpid()));
    std::filesystem::create_directories(directory_);
    server_ = new ServerProcess(
        ASM_EGRESS_HOSTILE_SERVER,
        {(directory_ / "certs").string(), std::to_string(max_connections),
         std::to_string(step_timeout.count()), std::to_string(idle_timeout.count())},
        (directory_ / "server.log").string(), false);
    const std::string error = server_->start();
    ASSERT_TRUE(error.empty()) << error;
    golden_ = new std::string(policy::answer_review(fixture(), policy::WebhookKind::Mutating,
                                                    policy::Settings{})
                                  .body);
    // Warm up: every kind of request once, so caches and thread arenas exist
    // before the baseline is taken.
    for (int i = 0; i < 20; ++i) {
      auto connection = connect();
      ASSERT_NE(connection, nullptr);
      ASSERT_EQ(post(*connection, "/mutate", fixture()).status, 200);
      ASSERT_EQ(post(*connection, "/validate", fixture()).status, 200);
      ASSERT_EQ(post(*connection, "/mutate", "{").status, 400);
    }
    baseline_rss_kib_ = server_->rss_kib();
    std::printf("server pid %d on port %u, RSS after warm-up %ld KiB\n", server_->pid(),
                server_->port(), baseline_rss_kib_);
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      std::chrono::milliseconds took{};
      const auto status = server_->terminate(10s, &took);
      EXPECT_EQ(status, 0) << server_->log();
      EXPECT_LT(took, 6s);
      delete server_;
      server_ = nullptr;
    }
    delete golden_;
    std::filesystem::remove_all(directory_);
  }

  void SetUp() override { rss_before_kib_ = server_->rss_kib(); }
  void TearDown() override { expect_healthy(rss_before_kib_); }

  static std::uint16_t port() { return server_->port(); }
  static std::string ca_file() { return (directory_ / "certs" / "ca.crt").string(); }

  static std::unique_ptr<TlsConnection> connect(TlsOptions options = {}) {
    if (options.ca_file.empty()) options.ca_file = ca_file();
    std::string error;
    auto connection = TlsConnection::open(port(), options, error);
    EXPECT_NE(connection, nullptr) << error;
    return connection;
  }

  static HttpResponse post(TlsConnection& connection, const std::string& target,
                           std::string_view body, std::string_view extra = {}) {
    if (!connection.write(http_request("POST", target, body, extra))) return {};
    return connection.read_response().value_or(HttpResponse{});
  }

  static HttpResponse get(TlsConnection& connection, const std::string& target) {
    if (!connection.write(http_request("GET", target, {}))) return {};
    return connection.read_response().value_or(HttpResponse{});
  }

  // Answers one review on a fresh connection; status 0 when none came.
  static HttpResponse review(const std::string& target, std::string_view body) {
    auto connection = connect();
    if (!connection) return {};
    return post(*connection, target, body);
  }

  static void expect_healthy(long rss_before_kib) {
    ASSERT_TRUE(server_->running()) << server_->log();
    auto connection = connect();
    ASSERT_NE(connection, nullptr);
    const HttpResponse health = get(*connection, "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "ok\n");
    const HttpResponse answer = post(*connection, "/mutate?timeout=10s", fixture());
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.body, *golden_);
    if (!rss_is_meaningful) return;
    // The server gives memory back right after writing its answer, which can
    // be a moment after the client has read it: allow it that moment.
    long rss = server_->rss_kib();
    for (int i = 0; i < 20 && rss > rss_before_kib + rss_slack_kib; ++i) {
      std::this_thread::sleep_for(50ms);
      rss = server_->rss_kib();
    }
    EXPECT_LE(rss, rss_before_kib + rss_slack_kib)
        << "RSS " << rss << " KiB, before the test " << rss_before_kib << " KiB, after warm-up "
        << baseline_rss_kib_ << " KiB";
  }

  static std::uint64_t metric(const std::string& name) {
    auto connection = connect();
    if (!connection) return 0;
    const HttpResponse metrics = get(*connection, "/metrics");
    std::istringstream lines(metrics.body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(name + " ", 0) == 0) return std::stoull(line.substr(name.size() + 1));
    }
    ADD_FAILURE() << "no metric " << name;
    return 0;
  }

  // The review fixture with one part changed.
  static std::string fixture_with(const std::function<void(json::object& request)>& change) {
    json::value review = json::parse(fixture());
    change(review.at("request").as_object());
    return json::serialize(review);
  }

  // Status 200 with a well-formed AdmissionReview answer, or a 400.
  static void expect_answered_not_failed(const HttpResponse& response, const std::string& what) {
    ASSERT_TRUE(response.status == 200 || response.status == 400)
        << what << ": status " << response.status << " " << response.body.substr(0, 300);
    EXPECT_TRUE(valid_utf8(response.body)) << what;
    if (response.status == 200) {
      json::error_code ec;
      const json::value answer = json::parse(response.body, ec);
      ASSERT_FALSE(ec) << what << ": " << response.body.substr(0, 300);
      EXPECT_TRUE(answer.at("response").at("allowed").is_bool()) << what;
    }
  }

  static inline std::filesystem::path directory_;
  static inline ServerProcess* server_ = nullptr;
  static inline std::string* golden_ = nullptr;
  static inline long baseline_rss_kib_ = 0;
  long rss_before_kib_ = 0;
};

TEST_F(HostileClients, GarbageBeforeTheHandshakeIsDropped) {
  const std::uint64_t failures_before = metric("asm_egress_webhook_tls_handshake_failures_total");
  const std::vector<std::string> payloads{
      random_bytes(4096, 1),
      std::string("\x16\x03\x01\xff\xff", 5) + random_bytes(2000, 2),  // a record claiming 64 KiB
      std::string("\x80\x2e\x01\x00\x02", 5) + random_bytes(43, 3),     // an SSLv2 hello
      "GET / HTTP/1.1\r\n\r\n" + random_bytes(100, 4),
      std::string(1, '\0'),
  };
  for (const std::string& payload : payloads) {
    Socket socket = connect_loopback(port());
    ASSERT_TRUE(socket.valid());
    send_all(socket.fd(), payload);
    std::string received;
    EXPECT_TRUE(peer_closes_within(socket.fd(), 3s, &received)) << payload.size();
    EXPECT_EQ(received.find("HTTP/"), std::string::npos);
  }
  EXPECT_GE(metric("asm_egress_webhook_tls_handshake_failures_total"),
            failures_before + payloads.size());
}

TEST_F(HostileClients, GarbageInsideTheHandshakeIsDropped) {
  for (unsigned seed = 10; seed < 14; ++seed) {
    // A real ClientHello, the server's first flight read, then garbage.
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(context);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);
    std::string hello(static_cast<std::size_t>(BIO_pending(out)), '\0');
    BIO_read(out, hello.data(), static_cast<int>(hello.size()));
    SSL_free(ssl);
    SSL_CTX_free(context);

    Socket socket = connect_loopback(port());
    ASSERT_TRUE(socket.valid());
    if (seed % 2 == 0) {
      ASSERT_TRUE(send_all(socket.fd(), hello));
      std::string flight;
      EXPECT_FALSE(peer_closes_within(socket.fd(), 200ms, &flight));
      EXPECT_FALSE(flight.empty()) << "no ServerHello";
      send_all(socket.fd(), std::string("\x17\x03\x03\x00\x40", 5) + random_bytes(64, seed));
    } else {
      // Half a ClientHello, then silence: the handshake timeout must cut it.
      ASSERT_TRUE(send_all(socket.fd(), hello.substr(0, hello.size() / 2)));
    }
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(peer_closes_within(socket.fd(), step_timeout + 2s)) << seed;
    EXPECT_LT(std::chrono::steady_clock::now() - started, step_timeout + 2s);
  }
}

TEST_F(HostileClients, OldProtocolVersionsAreRefused) {
  for (const int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    TlsOptions options;
    options.min_version = version;
    options.max_version = version;
    options.cipher_list = "DEFAULT:@SECLEVEL=0";  // let the client offer them at all
    options.ca_file = ca_file();
    std::string error;
    EXPECT_EQ(TlsConnection::open(port(), options, error), nullptr) << "version " << version;
  }
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    TlsOptions options;
    options.min_version = version;
    options.max_version = version;
    auto connection = connect(options);
    ASSERT_NE(connection, nullptr) << "version " << version;
    EXPECT_EQ(get(*connection, "/healthz").status, 200);
  }
}

TEST_F(HostileClients, WeakCipherSuitesAreRefused) {
  // Each list offers only ciphers without forward secrecy, without
  // authentication or encryption, or with broken primitives.
  for (const char* weak : {"NULL", "aNULL", "eNULL", "EXPORT", "RC4", "DES", "3DES", "MD5",
                           "kRSA", "PSK", "SRP", "CAMELLIA", "SEED", "IDEA"}) {
    TlsOptions options;
    options.max_version = TLS1_2_VERSION;
    options.cipher_list = std::string(weak) + ":@SECLEVEL=0";
    options.ca_file = ca_file();
    std::string error;
    auto connection = TlsConnection::open(port(), options, error);
    EXPECT_EQ(connection, nullptr) << weak << " negotiated " << connection->cipher();
  }
  // What a default client gets: TLS 1.3, or an AEAD suite with ECDHE on 1.2.
  auto modern = connect();
  ASSERT_NE(modern, nullptr);
  EXPECT_EQ(modern->protocol(), "TLSv1.3");
  TlsOptions tls12;
  tls12.max_version = TLS1_2_VERSION;
  auto legacy = connect(tls12);
  ASSERT_NE(legacy, nullptr);
  EXPECT_NE(legacy->cipher().find("ECDHE"), std::string::npos) << legacy->cipher();
  EXPECT_NE(legacy->cipher().find("GCM"), std::string::npos) << legacy->cipher();
}

TEST_F(HostileClients, PlainHttpOnTheTlsPortGetsNoAnswer) {
  Socket socket = connect_loopback(port());
  ASSERT_TRUE(socket.valid());
  ASSERT_TRUE(send_all(socket.fd(), http_request("POST", "/mutate", fixture())));
  std::string received;
  EXPECT_TRUE(peer_closes_within(socket.fd(), 3s, &received));
  EXPECT_EQ(received.find("HTTP/"), std::string::npos) << received.substr(0, 100);
}

TEST_F(HostileClients, SlowHeadersAreCut) {
  auto connection = connect();
  ASSERT_NE(connection, nullptr);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(connection->write("POST /validate HTTP/1.1\r\n"));
  bool closed = false;
  std::string received;
  for (int i = 0; i < 60 && !closed; ++i) {  // at most 6 s of dripping
    connection->write("X-Slow-" + std::to_string(i) + ": a\r\n");
    closed = connection->closed_by_peer_within(100ms, &received);
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(closed);
  EXPECT_LT(took, step_timeout + 1500ms);
  EXPECT_EQ(received.find("200 OK"), std::string::npos);
}

TEST_F(HostileClients, SlowBodiesAreCut) {
  auto connection = connect();
  ASSERT_NE(connection, nullptr);
  const std::string body = fixture();
  const std::string request = http_request("POST", "/validate", body);
  const std::size_t header_size = request.size() - body.size();
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(connection->write(std::string_view(request).substr(0, header_size)));
  bool closed = false;
  std::string received;
  for (std::size_t i = 0; i < 60 && !closed; ++i) {
    connection->write(std::string_view(body).substr(i, 1));
    closed = connection->closed_by_peer_within(100ms, &received);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, step_timeout + 1500ms);
  EXPECT_EQ(received.find("200 OK"), std::string::npos);
}

TEST_F(HostileClients, IdleConnectionsBeyondTheLimitMakeRoom) {
  // Every connection completes its handshake and then says nothing. Each new
  // one past the limit takes the place of the oldest: none is refused.
  std::vector<std::unique_ptr<TlsConnection>> held;
  for (std::size_t i = 0; i < max_connections + 16; ++i) {
    TlsOptions options;
    options.ca_file = ca_file();
    std::string error;
    auto connection = TlsConnection::open(port(), options, error, 2s);
    ASSERT_NE(connection, nullptr) << "connection " << i << ": " << error;
    held.push_back(std::move(connection));
  }
  // The sixteen oldest made room.
  for (std::size_t i = 0; i < 16; ++i) {
    EXPECT_TRUE(held[i]->closed_by_peer_within(1s)) << "connection " << i << " was not evicted";
  }
  // Before its first request a connection has the header timeout (one step
  // here), not the idle timeout: the silent ones go soon.
  const auto started = std::chrono::steady_clock::now();
  std::size_t closed = 0;
  for (std::size_t i = 16; i < held.size(); ++i) {
    if (held[i]->closed_by_peer_within(step_timeout + 2s)) ++closed;
  }
  EXPECT_EQ(closed, held.size() - 16);
  EXPECT_LT(std::chrono::steady_clock::now() - started, step_timeout + 2s);
  EXPECT_GE(metric("asm_egress_webhook_connections_evicted_total"), 16U);
}

TEST_F(HostileClients, PipelinedRequestsAreAnsweredInOrder) {
  auto connection = connect();
  ASSERT_NE(connection, nullptr);
  const std::string body = fixture();
  std::string burst;
  for (int i = 0; i < 10; ++i) {
    burst += http_request("GET", "/healthz", {});
    burst += http_request("POST", "/mutate", body);
    burst += http_request("GET", "/nowhere", {});
  }
  ASSERT_TRUE(connection->write(burst));
  for (int i = 0; i < 10; ++i) {
    const auto health = connection->read_response();
    ASSERT_TRUE(health.has_value());
    EXPECT_EQ(health->body, "ok\n");
    const auto answer = connection->read_response();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->body, *golden_);
    const auto missing = connection->read_response();
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 404);
  }
}

TEST_F(HostileClients, BodyOneByteOverTheLimitIs413) {
  {  // Declared: answered from the header alone.
    auto connection = connect();
    ASSERT_NE(connection, nullptr);
    ASSERT_TRUE(connection->write("POST /mutate HTTP/1.1\r\nHost: localhost\r\n"
                                  "Content-Type: application/json\r\nContent-Length: " +
                                  std::to_string(body_limit + 1) + "\r\n\r\n"));
    const auto response = connection->read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 413);
  }
  {  // Actually sent.
    auto connection = connect();
    ASSERT_NE(connection, nullptr);
    std::string body = fixture();
    body.resize(body_limit + 1, ' ');
    connection->write(http_request("POST", "/mutate", body));
    const auto response = connection->read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 413);
  }
  {  // Exactly at the limit: answered.
    std::string body = fixture();
    body.resize(body_limit, ' ');
    const HttpResponse response = review("/mutate", body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, *golden_);
  }
}

// The API server sends Content-Length; a chunked body, well-formed or not,
// is refused from its header, and none of its chunks is parsed.
TEST_F(HostileClients, ChunkedBodiesAreRefused) {
  const std::string body = fixture();
  const std::string head =
      "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (const std::string& request :
       {chunked_request("/mutate", body, 1), chunked_request("/mutate", body, 7, ";ext=1"),
        chunked_request("/mutate", body, 4096), head + "zz\r\n{}\r\n0\r\n\r\n",
        head + "fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n", head + "2\r\n{}XX0\r\n\r\n",
        head + "-2\r\n{}\r\n0\r\n\r\n"}) {
    auto connection = connect();
    ASSERT_NE(connection, nullptr);
    ASSERT_TRUE(connection->write(request));
    const auto response = connection->read_response();
    ASSERT_TRUE(response.has_value()) << request.substr(0, 200);
    EXPECT_EQ(response->status, 411);
    EXPECT_EQ(response->body, "Transfer-Encoding is not accepted: send the body with a Content-Length\n");
    EXPECT_TRUE(connection->closed_by_peer_within(3s));
  }
}

TEST_F(HostileClients, JsonNestedOneHundredThousandDeep) {
  constexpr std::size_t depth = 100'000;
  const std::vector<std::string> bodies{
      std::string(depth, '[') + std::string(depth, ']'),
      [] {
        std::string s;
        for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
        s += "1";
        s += std::string(depth, '}');
        return s;
      }(),
      fixture_with([](json::object& request) {
        request["object"].as_object()["spec"].as_object()["deep"] = "DEEP";
      }),
      std::string(depth, '['),
  };
  for (std::string body : bodies) {
    const auto marker = body.find("\"DEEP\"");
    if (marker != std::string::npos) {
      body.replace(marker, 6, std::string(depth, '[') + std::string(depth, ']'));
    }
    for (const char* target : {"/mutate", "/validate"}) {
      const HttpResponse response = review(target, body);
      EXPECT_EQ(response.status, 400) << response.body.substr(0, 200);
      EXPECT_NE(response.body.find("JSON"), std::string::npos) << response.body.substr(0, 200);
    }
  }
}

TEST_F(HostileClients, HugeStringsAndArrays) {
  const std::string huge(5 * 1024 * 1024, 'x');
  const std::vector<std::pair<std::string, std::string>> cases{
      {"uid", fixture_with([&](json::object& request) { request["uid"] = huge; })},
      {"name", fixture_with([&](json::object& request) {
         request["object"].at("metadata").as_object()["name"] = huge;
       })},
      {"hosts", fixture_with([](json::object& request) {
         json::array hosts;
         for (int i = 0; i < 300'000; ++i) hosts.emplace_back("h" + std::to_string(i) + ".example.com");
         request["object"].at("spec").at("egressRules").at(0).at("to").at(0).as_object()["hosts"] =
             std::move(hosts);
       })},
      {"rules", fixture_with([](json::object& request) {
         json::value& rules = request["object"].at("spec").at("egressRules");
         const json::value rule = rules.at(0);
         for (int i = 0; i < 5'000; ++i) rules.as_array().push_back(rule);
       })},
      {"labels", fixture_with([](json::object& request) {
         json::object labels;
         for (int i = 0; i < 200'000; ++i) labels["k" + std::to_string(i)] = "v";
         request["object"].at("metadata").as_object()["labels"] = std::move(labels);
       })},
  };
  for (const auto& [what, body] : cases) {
    ASSERT_LE(body.size(), body_limit) << what;
    for (const char* target : {"/mutate", "/validate"}) {
      const auto started = std::chrono::steady_clock::now();
      const HttpResponse response = review(target, body);
      expect_answered_not_failed(response, what + " " + target);
      // The answer must not be an amplification of the input.
      EXPECT_LT(response.body.size(), 2 * body.size() + 4096) << what << " " << target;
      EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << what << " " << target;
      std::printf("%s %s: %zu-byte body, status %d, %zu-byte answer, server RSS %ld KiB\n",
                  what.c_str(), target, body.size(), response.status, response.body.size(),
                  server_->rss_kib());
    }
  }
}

// One entry repeated: every repetition is a Duplicate field error. The answer
// must stay bounded (size, time, memory), whatever the number of errors.
TEST_F(HostileClients, RepeatedEntriesDoNotAmplifyTheAnswer) {
  const std::string body = fixture_with([](json::object& request) {
    json::array hosts;
    for (int i = 0; i < 300'000; ++i) hosts.emplace_back("a.example.com");
    request["object"].at("spec").at("egressRules").at(0).at("to").at(0).as_object()["hosts"] =
        std::move(hosts);
  });
  ASSERT_LE(body.size(), body_limit);
  for (const char* target : {"/validate", "/mutate"}) {
    const auto started = std::chrono::steady_clock::now();
    const HttpResponse response = review(target, body);
    expect_answered_not_failed(response, target);
    EXPECT_LT(response.body.size(), 1024U * 1024U) << target;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << target;
  }
}

TEST_F(HostileClients, InvalidUtf8) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"raw 0xff", "\xff\xfe"},
      {"overlong slash", "\xc0\xaf"},
      {"encoded surrogate", "\xed\xa0\x80"},
      {"truncated", "a\xe2\x82"},
      {"beyond U+10FFFF", "\xf4\x90\x80\x80"},
  };
  const std::string body = fixture();
  for (const auto& [what, bytes] : cases) {
    std::string bad = body;
    bad.replace(bad.find("egress-by-egressgateway-a"), 6, bytes);  // in request.name
    for (const char* target : {"/mutate", "/validate"}) {
      const HttpResponse response = review(target, bad);
      EXPECT_EQ(response.status, 400) << what << " " << target;
      expect_answered_not_failed(response, what);
    }
  }
  // Escaped lone surrogates are valid JSON text but not valid Unicode.
  for (const char* escaped : {R"(\ud800)", R"(\udfff)", R"(\ud800\u0041)"}) {
    std::string bad = body;
    const std::string name = "\"name\": \"egress-by-egressgateway-a\"";
    const auto at = bad.find("\"name\": \"egress-by-egressgateway-a\"", bad.find("metadata"));
    ASSERT_NE(at, std::string::npos);
    bad.replace(at, name.size(), std::string("\"name\": \"egress-by-") + escaped + "\"");
    for (const char* target : {"/mutate", "/validate"}) {
      expect_answered_not_failed(review(target, bad), escaped);
    }
  }
}

TEST_F(HostileClients, DuplicateKeys) {
  std::string body = fixture();
  // The uid twice, and the whole object twice: answered, one uid echoed.
  body.replace(body.find("\"uid\""), 5, "\"uid\": \"first\", \"uid\"");
  for (const char* target : {"/mutate", "/validate"}) {
    const HttpResponse response = review(target, body);
    expect_answered_not_failed(response, target);
    const json::value answer = json::parse(response.body);
    const json::string& uid = answer.at("response").at("uid").as_string();
    EXPECT_TRUE(uid == "first" || uid == "705ab4f5-6393-11e8-b7cc-42010a800002") << uid;
  }
  std::string twice = fixture();
  const auto object = twice.find("\"object\"");
  const auto spec = twice.find("\"spec\"", object);
  twice.insert(spec, "\"spec\": {\"byEgressGateway\": {\"name\": 7}}, ");
  for (const char* target : {"/mutate", "/validate"}) {
    expect_answered_not_failed(review(target, twice), std::string("spec twice ") + target);
  }
}

TEST_F(HostileClients, PortsBeyondUint32AndNegative) {
  const std::vector<std::string> numbers{"4294967376", "4294967295", "4294967296",
                                         "18446744073709551615", "18446744073709551696",
                                         "-1", "-4294967216", "65536", "0", "80.5",
                                         "8e1", "1e400", "-0", "\"80\"", "true", "[]", "{}"};
  for (const std::string& number : numbers) {
    for (const char* field : {"number", "gateway"}) {
      std::string body = fixture_with([&](json::object& request) {
        json::object& to =
            request["object"].at("spec").at("egressRules").at(0).at("to").at(0).as_object();
        if (std::string_view(field) == "number") {
          to["port"].as_object()["number"] = "PLACEHOLDER";
        } else {
          to["byEgressGateway"] = {{"port", "PLACEHOLDER"}};
        }
      });
      body.replace(body.find("\"PLACEHOLDER\""), 13, number);
      for (const char* target : {"/validate", "/mutate"}) {
        const HttpResponse response = review(target, body);
        const std::string what = std::string(field) + "=" + number + " " + target;
        expect_answered_not_failed(response, what);
        if (response.status != 200 || std::string_view(target) != "/validate") continue;
        const json::value answer = json::parse(response.body);
        // 80 (from 8e1 or 80.5 or 2^32+80...) must never be read into a legal port.
        const bool blank_gateway_port =
            std::string_view(field) == "gateway" && (number == "0" || number == "-0");
        if (number != "8e1" && !blank_gateway_port) {
          EXPECT_FALSE(answer.at("response").at("allowed").as_bool()) << what << response.body;
        }
      }
    }
  }
}

TEST_F(HostileClients, NullInEveryField) {
  const json::value original = json::parse(fixture());
  std::vector<std::string> paths;
  std::function<void(const json::value&, const std::string&)> walk =
      [&](const json::value& value, const std::string& path) {
        if (!path.empty()) paths.push_back(path);
        if (const auto* object = value.if_object()) {
          for (const auto& member : *object) walk(member.value(), path + "/" + std::string(member.key()));
        } else if (const auto* array = value.if_array()) {
          for (std::size_t i = 0; i < array->size(); ++i) walk((*array)[i], path + "/" + std::to_string(i));
        }
      };
  walk(original, "");
  ASSERT_GT(paths.size(), 40U);
  auto connection = connect();
  ASSERT_NE(connection, nullptr);
  const nlohmann::json source = nlohmann::json::parse(fixture());
  for (const std::string& path : paths) {
    nlohmann::json changed = source;
    changed[nlohmann::json::json_pointer(path)] = nullptr;
    for (const char* target : {"/mutate", "/validate"}) {
      const HttpResponse response = post(*connection, target, changed.dump());
      expect_answered_not_failed(response, path + " " + target);
      if (response.status != 200) continue;
      const auto answer = nlohmann::json::parse(response.body);
      const auto& r = answer["response"];
      EXPECT_EQ(r.contains("patch"), r.contains("patchType")) << path;
      if (std::string_view(target) == "/validate") {
        EXPECT_FALSE(r.contains("patch")) << path;
      }
      if (r.contains("patch")) {
        EXPECT_TRUE(r["allowed"].get<bool>()) << path;
      }
    }
  }
}

TEST_F(HostileClients, ReviewOfAnotherKind) {
  const std::string config_map = fixture_with([](json::object& request) {
    request["kind"] = {{"group", ""}, {"version", "v1"}, {"kind", "ConfigMap"}};
    request["resource"] = {{"group", ""}, {"version", "v1"}, {"resource", "configmaps"}};
    request["object"] = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
        "metadata":{"name":"x","namespace":"istio-egress"},"data":{"a":"b"}})");
  });
  const std::string mismatched = fixture_with([](json::object& request) {
    request["object"] = json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
        "metadata":{"name":"egress-by-egressgateway-a","namespace":"istio-egress"},
        "spec":{"egressRules":[{"to":[{"port":{"number":443,"protocol":"HTTPS"},"hosts":["a.b"]}]}]}})");
  });
  for (const auto& [what, body] : {std::pair{"ConfigMap", config_map}, std::pair{"mismatched", mismatched}}) {
    for (const char* target : {"/mutate", "/validate"}) {
      const HttpResponse response = review(target, body);
      expect_answered_not_failed(response, std::string(what) + " " + target);
      if (response.status != 200) continue;
      const json::value answer = json::parse(response.body);
      if (std::string_view(what) == "ConfigMap") {
        // Another resource: allowed untouched.
        EXPECT_EQ(answer.at("response").as_object().if_contains("patch"), nullptr)
            << target << " " << response.body;
        EXPECT_TRUE(answer.at("response").at("allowed").as_bool()) << response.body;
      } else if (std::string_view(target) == "/validate") {
        // request.kind says ours, the object is not: never admitted as valid.
        EXPECT_FALSE(answer.at("response").at("allowed").as_bool()) << response.body;
      }
    }
  }
}

// The shipped executable (not the test helper): it picks a free port with
// --secure-port 0, logs it, serves, and exits 0 on SIGTERM within its grace.
TEST(HostileExecutable, ServesOnAFreePortAndStopsOnSigterm) {
  ::signal(SIGPIPE, SIG_IGN);
  const auto directory = std::filesystem::temp_directory_path() /
                         ("asm-egress-hostile-exe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  ServerProcess server(ASM_EGRESS_WEBHOOK_EXECUTABLE,
                       {"serve", "--secure-port", "0", "--bind-address", "127.0.0.1", "--cert-dir",
                        (directory / "certs").string(), "--shutdown-drain-period", "100ms",
                        "--shutdown-grace-period", "3s"},
                       (directory / "server.log").string(), true);
  const std::string error = server.start();
  ASSERT_TRUE(error.empty()) << error;
  TlsOptions options;
  options.ca_file = (directory / "certs" / "ca.crt").string();
  std::string connect_error;
  auto connection = TlsConnection::open(server.port(), options, connect_error);
  ASSERT_NE(connection, nullptr) << connect_error;
  ASSERT_TRUE(connection->write(http_request("POST", "/mutate?timeout=10s", fixture())));
  const auto response = connection->read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body,
            policy::answer_review(fixture(), policy::WebhookKind::Mutating, policy::Settings{}).body);
  connection.reset();
  std::chrono::milliseconds took{};
  EXPECT_EQ(server.terminate(10s, &took), 0) << server.log();
  EXPECT_LT(took, 3500ms);
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace asmegress::hostile
