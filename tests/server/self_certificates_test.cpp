// certificates.mode self end to end: real servers (replicas, in this
// process) keep their certificate in a fake API server, and clients trust
// only what the webhook configurations' caBundles say, as the API server
// does. A fresh start, a second replica, a lost create race, an overwritten
// caBundle, renewals under load, and refused or failing API calls.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "kube/api_calls.h"
#include "kube/objects.h"
#include "server/certificate_secret.h"
#include "tests/kube/fake_api_server.h"
#include "tests/server/exposition.h"
#include "tests/server/server_fixture.h"

namespace asmegress::server::testing {
namespace {

using kube::testing::FakeApiServer;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kNamespace = "asm-egress-webhook";
constexpr const char* kSecret = "egress-asm-egress-webhook-tls";
constexpr const char* kConfiguration = "egress-asm-egress-webhook";

const std::string kSecretPath = FakeApiServer::secret_path(kNamespace, kSecret);

// GET /readyz as the kubelet does: HTTPS, no verification.
std::pair<unsigned, std::string> readyz(std::uint16_t port) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  try {
    asio::io_context io;
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_verify_mode(asio::ssl::verify_none);
    asio::ssl::stream<asio::ip::tcp::socket> stream(io, tls);
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    stream.handshake(asio::ssl::stream_base::client);
    http::request<http::empty_body> request{http::verb::get, "/readyz", 11};
    request.set(http::field::host, "localhost");
    http::write(stream, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return {response.result_int(), response.body()};
  } catch (const std::exception& e) {
    return {0, e.what()};
  }
}

bool holds_ca(const std::string& bundle, const std::string& ca) {
  const auto held = split_certificates(bundle);
  const auto wanted = split_certificates(ca);
  return wanted.size() == 1 && std::find(held.begin(), held.end(), wanted.front()) != held.end();
}

class SelfCertificatesTest : public ::testing::Test {
 protected:
  SelfCertificatesTest() {
    api_.put(FakeApiServer::mutating_path(kConfiguration),
             FakeApiServer::webhook_configuration("MutatingWebhookConfiguration", kConfiguration, 1));
    // Several webhooks in one configuration: each gets the caBundle.
    api_.put(FakeApiServer::validating_path(kConfiguration),
             FakeApiServer::webhook_configuration("ValidatingWebhookConfiguration",
                                                  kConfiguration, 2));
    api_.set_rules(kube::testing::rules_for(kNamespace, kSecret, kConfiguration));
  }

  SelfCertificateConfig self_config() const {
    SelfCertificateConfig self;
    self.secret_namespace = kNamespace;
    self.secret_name = kSecret;
    self.webhook_configuration = kConfiguration;
    self.dns_names = {"localhost"};
    self.ip_addresses = {"127.0.0.1"};
    self.validity = std::chrono::hours(1);
    self.cluster = api_.access();
    self.poll_interval = 100ms;
    self.settle_period = 300ms;
    self.retry_initial = 50ms;
    self.retry_max = 400ms;
    self.api_timeout = 2s;
    return self;
  }

  std::unique_ptr<RunningServer> replica(
      const std::function<void(SelfCertificateConfig&)>& adjust = {}) const {
    SelfCertificateConfig self = self_config();
    if (adjust) adjust(self);
    return std::make_unique<RunningServer>(
        [&self](ServerConfig& config) { config.self_certificates = self; });
  }

  static bool ready(const RunningServer& server) { return readyz(server.port()).first == 200; }

  json secret() const { return api_.get(kSecretPath).value_or(json()); }
  std::string secret_data(const std::string& key) const {
    const json s = secret();
    if (!s.contains("data") || !s["data"].contains(key)) return {};
    return kube::base64_decode(s["data"][key].get<std::string>()).value_or("");
  }

  // Every webhook's caBundle, decoded, over both configurations.
  std::vector<std::string> ca_bundles() const {
    std::vector<std::string> bundles;
    for (const auto& path : {FakeApiServer::mutating_path(kConfiguration),
                             FakeApiServer::validating_path(kConfiguration)}) {
      const json configuration = api_.get(path).value_or(json());
      for (const auto& webhook : configuration["webhooks"]) {
        bundles.push_back(kube::base64_decode(
                              webhook["clientConfig"].value("caBundle", std::string()))
                              .value_or("?"));
      }
    }
    return bundles;
  }
  // What the API server trusts for the webhook: the mutating one's bundle.
  std::string trusted() const { return ca_bundles().front(); }

  std::string served_certificate(const RunningServer& server) const {
    TlsClient client(server.port(), TlsClient::Options{trusted(), {}});
    client.connect();
    return client.peer_certificate_pem();
  }

  std::vector<kube::testing::RecordedRequest> webhook_requests() const {
    std::vector<kube::testing::RecordedRequest> made;
    for (auto& request : api_.requests()) {
      if (!request.admin) made.push_back(request);
    }
    return made;
  }
  int count(const std::string& verb, const std::string& resource, unsigned status) const {
    int n = 0;
    for (const auto& request : webhook_requests()) {
      n += request.verb == verb && request.resource == resource && request.status == status;
    }
    return n;
  }

  std::string review_ = testdata("review-create-auto-ports.json");
  FakeApiServer api_;
};

TEST_F(SelfCertificatesTest, AFreshStartCreatesTheSecretAndInjectsTheCa) {
  api_.set_rules(std::nullopt);  // every call allowed: this test is about the calls made
  auto server = replica();
  ASSERT_TRUE(eventually([&] { return ready(*server); }, 20s)) << readyz(server->port()).second
                                                                << server->logs();
  const json created = secret();
  EXPECT_EQ(created["type"], "kubernetes.io/tls");
  for (const char* key : {"ca.crt", "tls.crt", "tls.key"}) {
    EXPECT_FALSE(secret_data(key).empty()) << key;
  }
  EXPECT_FALSE(created["data"].contains("next.crt"));
  const std::string ca = secret_data("ca.crt");
  EXPECT_EQ(split_certificates(ca).size(), 1u);
  for (const std::string& bundle : ca_bundles()) EXPECT_EQ(bundle, ca);
  EXPECT_EQ(ca_bundles().size(), 3u);

  // Verified against the caBundle, for the names asked for.
  EXPECT_EQ(served_certificate(*server), secret_data("tls.crt"));
  TlsClient client(server->port(), TlsClient::Options{trusted(), {}});
  EXPECT_EQ(client.post_review("/mutate?timeout=10s", review_).result_int(), 200u);
  TlsClient by_ip(server->port(), TlsClient::Options{trusted(), {}, "127.0.0.1"});
  EXPECT_EQ(by_ip.request("GET", "/healthz", {}, {}).result_int(), 200u);

  EXPECT_EQ(count("create", "secrets", 201), 1);
  std::set<std::string> table;
  for (const kube::ApiCall& call : kube::api_calls) {
    table.insert(std::string(call.verb) + " " + std::string(call.resource));
  }
  for (const auto& request : webhook_requests()) {
    EXPECT_EQ(table.count(request.verb + " " + request.resource), 1u)
        << request.method << " " << request.path << " is not in kube/api_calls.h";
    EXPECT_TRUE(request.name.empty() ? request.verb == "create"
                                     : request.name == kSecret || request.name == kConfiguration)
        << request.path;
  }
  const std::string metrics = server->metrics().render();
  EXPECT_EQ(sample_value(metrics, "asm_egress_webhook_certificate_ready"), 1.0);
  EXPECT_EQ(sample_value(metrics, "asm_egress_webhook_kubernetes_api_requests_total",
                         {{"verb", "create"}, {"resource", "secrets"}, {"code", "201"}}),
            1.0);
  EXPECT_EQ(sample_value(metrics, "asm_egress_webhook_certificate_secret_writes_total",
                         {{"step", "create"}}),
            1.0);
  const auto expiry =
      sample_value(metrics, "asm_egress_webhook_serving_certificate_expiry_timestamp_seconds");
  ASSERT_TRUE(expiry);
  EXPECT_NEAR(*expiry, static_cast<double>(std::time(nullptr) + 3600), 120);
}

TEST_F(SelfCertificatesTest, ReadyzFailsUntilTheCaIsInTheCaBundles) {
  // The configurations cannot be patched yet: the pair is there, not trusted.
  auto rules = kube::testing::rules_for(kNamespace, kSecret, kConfiguration);
  std::erase_if(rules, [](const kube::testing::RbacRule& rule) { return rule.verb == "patch"; });
  api_.set_rules(rules);
  auto server = replica();
  ASSERT_TRUE(api_.wait_for([&] { return !secret_data("tls.crt").empty(); }));
  ASSERT_TRUE(eventually([&] { return count("patch", "mutatingwebhookconfigurations", 403) >= 2; },
                         20s));
  const auto [status, reason] = readyz(server->port());
  EXPECT_EQ(status, 503u);
  EXPECT_NE(reason.find("patch mutatingwebhookconfigurations"), std::string::npos) << reason;
  // The Secret's pair is served already; only the caBundles lack its CA.
  TlsClient client(server->port(), TlsClient::Options{secret_data("ca.crt"), {}});
  client.connect();
  EXPECT_EQ(client.peer_certificate_pem(), secret_data("tls.crt"));
  for (const std::string& bundle : ca_bundles()) EXPECT_EQ(bundle, "");

  api_.set_rules(kube::testing::rules_for(kNamespace, kSecret, kConfiguration));
  EXPECT_TRUE(eventually([&] { return ready(*server); }, 20s)) << readyz(server->port()).second;
}

TEST_F(SelfCertificatesTest, ASecondReplicaReusesThePairAndWritesNothing) {
  auto first = replica();
  ASSERT_TRUE(eventually([&] { return ready(*first); }, 20s)) << first->logs();
  const json before = secret();
  const std::vector<std::string> bundles_before = ca_bundles();

  auto second = replica();
  ASSERT_TRUE(eventually([&] { return ready(*second); }, 20s)) << second->logs();
  EXPECT_EQ(served_certificate(*second), served_certificate(*first));
  // Let both go round a few more polls: still nothing written.
  const std::size_t seen = api_.requests().size();
  ASSERT_TRUE(api_.wait_for([&] { return api_.requests().size() > seen + 20; }));
  EXPECT_EQ(secret()["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);
  EXPECT_EQ(ca_bundles(), bundles_before);
  EXPECT_EQ(count("create", "secrets", 201), 1);
  EXPECT_EQ(count("update", "secrets", 200), 0);
  EXPECT_EQ(count("patch", "mutatingwebhookconfigurations", 200), 1);
  EXPECT_EQ(count("patch", "validatingwebhookconfigurations", 200), 1);
}

TEST_F(SelfCertificatesTest, ACreateAnswered409UsesTheWinnersPair) {
  std::string error;
  PairRequirements names;
  names.dns_names = {"localhost"};
  names.ip_addresses = {"127.0.0.1"};
  names.validity = std::chrono::hours(1);
  const auto winner = generate_fresh_pair(names, error);
  ASSERT_TRUE(winner) << error;
  // Another replica's create lands between this one's read (404) and its create.
  std::atomic<bool> raced{false};
  api_.on_request([&](const kube::testing::RecordedRequest& request) {
    if (request.verb != "create" || raced.exchange(true)) return;
    api_.put(kSecretPath, json{{"apiVersion", "v1"},
                               {"kind", "Secret"},
                               {"type", "kubernetes.io/tls"},
                               {"metadata", {{"name", kSecret}, {"namespace", kNamespace}}},
                               {"data",
                                {{"ca.crt", kube::base64_encode(winner->ca_certificate)},
                                 {"tls.crt", kube::base64_encode(winner->pair.certificate)},
                                 {"tls.key", kube::base64_encode(winner->pair.private_key)}}}});
  });
  auto server = replica();
  ASSERT_TRUE(eventually([&] { return ready(*server); }, 20s)) << server->logs();
  EXPECT_EQ(count("create", "secrets", 409), 1);
  EXPECT_EQ(count("update", "secrets", 200), 0);
  EXPECT_EQ(secret_data("tls.crt"), winner->pair.certificate);
  EXPECT_EQ(trusted(), winner->ca_certificate);
  EXPECT_EQ(served_certificate(*server), winner->pair.certificate);
  EXPECT_NE(server->logs().find("another replica created the certificate Secret first"),
            std::string::npos);
}

TEST_F(SelfCertificatesTest, ReplicasStartingTogetherAgreeOnOnePair) {
  std::vector<std::unique_ptr<RunningServer>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(replica());
  for (auto& server : replicas) {
    ASSERT_TRUE(eventually([&] { return ready(*server); }, 20s)) << server->logs();
  }
  const std::string pair = secret_data("tls.crt");
  for (auto& server : replicas) EXPECT_EQ(served_certificate(*server), pair);
  EXPECT_EQ(count("create", "secrets", 201), 1);
  EXPECT_EQ(count("update", "secrets", 200), 0);
  EXPECT_EQ(split_certificates(trusted()).size(), 1u);
}

TEST_F(SelfCertificatesTest, AnOverwrittenCaBundleIsPutBack) {
  auto server = replica();
  ASSERT_TRUE(eventually([&] { return ready(*server); }, 20s)) << server->logs();
  const std::string ca = secret_data("ca.crt");
  // helm upgrade, an Argo CD sync or a person sets another caBundle.
  std::string error;
  const auto stranger = generate_certificate_authority("someone-else", std::chrono::hours(1), error);
  ASSERT_TRUE(stranger);
  json configuration = *api_.get(FakeApiServer::validating_path(kConfiguration));
  configuration["webhooks"][1]["clientConfig"]["caBundle"] =
      kube::base64_encode(stranger->certificate);
  configuration["webhooks"][0]["clientConfig"].erase("caBundle");
  api_.put(FakeApiServer::validating_path(kConfiguration), configuration);

  ASSERT_TRUE(api_.wait_for([&] {
    const auto bundles = ca_bundles();
    return std::all_of(bundles.begin(), bundles.end(), [&](const std::string& b) { return b == ca; });
  }));
  EXPECT_TRUE(ready(*server));
  EXPECT_NE(server->logs().find("the caBundle was changed by something else"), std::string::npos);
  EXPECT_EQ(sample_value(server->metrics().render(), "asm_egress_webhook_ca_bundle_writes_total",
                         {{"configuration", "ValidatingWebhookConfiguration"}}),
            2.0);
}

TEST_F(SelfCertificatesTest, RenewalsUnderLoadFailNoRequest) {
  // Two replicas with nine-second certificates: each renewal starts three
  // seconds before expiry, time enough for a slow (sanitizer) build to poll
  // several times and let the new CA settle, so the test sees two promotions
  // and the first CA leave the caBundle.
  const auto short_lived = [](SelfCertificateConfig& self) {
    self.validity = 9s;
    self.settle_period = 600ms;
  };
  auto first = replica(short_lived);
  ASSERT_TRUE(eventually([&] { return ready(*first); }, 20s)) << first->logs();
  auto second = replica(short_lived);
  ASSERT_TRUE(eventually([&] { return ready(*second); }, 20s)) << second->logs();
  const std::string first_pair = secret_data("tls.crt");
  const std::string first_ca = secret_data("ca.crt");

  std::atomic<bool> stop{false};
  std::atomic<int> succeeded{0};
  std::atomic<int> failed{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  // The API server reads webhook configurations through a cache: some
  // clients trust the caBundle as it was a moment ago (well within the
  // settle period), the others the one of the moment.
  const auto trusted_as_of = [&](std::chrono::milliseconds lag) {
    const auto configuration = api_.get_as_of(FakeApiServer::mutating_path(kConfiguration),
                                              std::chrono::steady_clock::now() - lag);
    if (!configuration) return std::string();
    return kube::base64_decode(
               (*configuration)["webhooks"][0]["clientConfig"].value("caBundle", std::string()))
        .value_or("");
  };
  ASSERT_TRUE(eventually([&] { return trusted_as_of(150ms) == first_ca; }));
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      int round = 0;
      const std::chrono::milliseconds lag = t % 2 == 0 ? 0ms : 150ms;
      while (!stop.load()) {
        const RunningServer& target = (round++ % 2 == 0) ? *first : *second;
        try {
          // As the API server: a new connection now and then, keep-alive
          // otherwise.
          TlsClient client(target.port(), TlsClient::Options{trusted_as_of(lag), {}});
          const int per_connection = t < 2 ? 10 : 1;
          for (int i = 0; i < per_connection && !stop.load(); ++i) {
            const auto response = client.post_review("/mutate?timeout=10s", review_);
            if (response.result_int() == 200) {
              ++succeeded;
            } else {
              ++failed;
            }
          }
        } catch (const std::exception& e) {
          ++failed;
          const std::lock_guard lock(failures_mutex);
          failures.push_back(e.what());
        }
      }
    });
  }

  std::set<std::string> pairs{first_pair};
  bool first_ca_left = false;
  const bool renewed = api_.wait_for(
      [&] {
        pairs.insert(secret_data("tls.crt"));
        first_ca_left = first_ca_left || !holds_ca(trusted(), first_ca);
        return pairs.size() >= 3 && first_ca_left;
      },
      60s);
  const int during = succeeded.load();
  ASSERT_TRUE(eventually([&] { return succeeded.load() > during + 20; }));
  stop = true;
  for (auto& thread : clients) thread.join();

  EXPECT_TRUE(renewed) << pairs.size() << " pairs seen; first CA left: " << first_ca_left
                       << "\n" << first->logs();
  EXPECT_EQ(failed.load(), 0) << (failures.empty() ? "" : failures.front());
  EXPECT_GT(succeeded.load(), 100);
  const std::string now_serving = secret_data("tls.crt");
  EXPECT_TRUE(eventually([&] {
    return served_certificate(*first) == secret_data("tls.crt") &&
           served_certificate(*second) == secret_data("tls.crt");
  }));
  // Either replica may be the one that stages and promotes.
  EXPECT_NE((first->logs() + second->logs()).find("renewing: the new pair is the serving pair"),
            std::string::npos);
  // The RBAC the chart grants is exactly what the servers used: every call
  // of kube/api_calls.h, nothing else, nothing refused.
  std::set<std::string> used;
  for (const auto& request : webhook_requests()) {
    used.insert(request.verb + " " + request.resource);
    EXPECT_NE(request.status, 403u) << request.method << " " << request.path;
  }
  std::set<std::string> table;
  for (const kube::ApiCall& call : kube::api_calls) {
    table.insert(std::string(call.verb) + " " + std::string(call.resource));
  }
  EXPECT_EQ(used, table);
}

TEST_F(SelfCertificatesTest, AForbiddenCallIsReportedWithTheRuleToGrantAndRetried) {
  // Only the Secret's rules: the webhook configurations cannot be read.
  auto rules = kube::testing::rules_for(kNamespace, kSecret, kConfiguration);
  std::erase_if(rules, [](const kube::testing::RbacRule& rule) { return rule.resource != "secrets"; });
  api_.set_rules(rules);
  auto server = replica();
  ASSERT_TRUE(eventually([&] { return count("get", "mutatingwebhookconfigurations", 403) >= 3; },
                         20s));
  EXPECT_EQ(readyz(server->port()).first, 503u);
  const std::string logs = server->logs();
  EXPECT_NE(logs.find("a ClusterRole with the rule {apiGroups: [\\\"admissionregistration.k8s.io\\\"], "
                      "resources: [\\\"mutatingwebhookconfigurations\\\"], resourceNames: [\\\"" +
                      std::string(kConfiguration) + "\\\"], verbs: [\\\"get\\\"]}"),
            std::string::npos)
      << logs;
  EXPECT_NE(logs.find("cannot get resource"), std::string::npos);  // the API server's words
  const auto forbidden = sample_value(server->metrics().render(),
                                      "asm_egress_webhook_kubernetes_api_requests_total",
                                      {{"verb", "get"},
                                       {"resource", "mutatingwebhookconfigurations"},
                                       {"code", "403"}});
  ASSERT_TRUE(forbidden);
  EXPECT_GE(*forbidden, 3.0);

  api_.set_rules(kube::testing::rules_for(kNamespace, kSecret, kConfiguration));
  EXPECT_TRUE(eventually([&] { return ready(*server); }, 20s)) << readyz(server->port()).second;
}

TEST_F(SelfCertificatesTest, DroppedUnansweredAndConflictingCallsAreRetried) {
  api_.add_fault("get", "secrets", FakeApiServer::Fault::Drop);
  api_.add_fault("create", "secrets", FakeApiServer::Fault::ServerError);
  api_.add_fault("get", "validatingwebhookconfigurations", FakeApiServer::Fault::Hang);
  api_.add_fault("patch", "mutatingwebhookconfigurations", FakeApiServer::Fault::Conflict);
  auto server = replica([](SelfCertificateConfig& self) { self.api_timeout = 500ms; });
  ASSERT_TRUE(eventually([&] { return ready(*server); }, 30s)) << server->logs();
  const std::string metrics = server->metrics().render();
  const auto counted = [&](const char* verb, const char* resource, const char* code) {
    return sample_value(metrics, "asm_egress_webhook_kubernetes_api_requests_total",
                        {{"verb", verb}, {"resource", resource}, {"code", code}})
        .value_or(0);
  };
  EXPECT_EQ(counted("get", "secrets", "connection"), 1.0);
  EXPECT_EQ(counted("create", "secrets", "500"), 1.0);
  EXPECT_EQ(counted("get", "validatingwebhookconfigurations", "timeout"), 1.0);
  EXPECT_EQ(counted("patch", "mutatingwebhookconfigurations", "409"), 1.0);
  EXPECT_EQ(count("create", "secrets", 201), 1);
  const std::string logs = server->logs();
  EXPECT_NE(logs.find("is reachable from the pod"), std::string::npos);
  for (const std::string& bundle : ca_bundles()) EXPECT_EQ(bundle, secret_data("ca.crt"));
}

}  // namespace
}  // namespace asmegress::server::testing
