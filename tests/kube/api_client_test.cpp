// The client against the fake API server: every call's success and error
// paths, the limits (time, size), verification of the API server, and
// tokens read again as they rotate.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "kube/api_client.h"
#include "tests/kube/fake_api_server.h"

namespace asmegress::kube::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kNamespace = "asm-egress-webhook";
constexpr const char* kSecret = "webhook-tls";
constexpr const char* kConfiguration = "egress-asm-egress-webhook";

Secret tls_secret(const std::string& certificate) {
  Secret secret;
  secret.namespace_name = kNamespace;
  secret.name = kSecret;
  secret.type = "kubernetes.io/tls";
  secret.data = {{"ca.crt", "ca"}, {"tls.crt", certificate}, {"tls.key", "key"}};
  return secret;
}

class ApiClientTest : public ::testing::Test {
 protected:
  ApiClientTest() {
    api_.put(FakeApiServer::mutating_path(kConfiguration),
             FakeApiServer::webhook_configuration("MutatingWebhookConfiguration", kConfiguration, 1));
    api_.put(FakeApiServer::validating_path(kConfiguration),
             FakeApiServer::webhook_configuration("ValidatingWebhookConfiguration",
                                                  kConfiguration, 3));
  }

  ApiClient client(ClientLimits limits = {}) {
    return ApiClient(api_.access(), limits, [this](const ApiCall& call, std::string_view code) {
      observed_.push_back(std::string(call.verb) + " " + std::string(call.resource) + " " +
                          std::string(code));
    });
  }

  FakeApiServer api_;
  std::vector<std::string> observed_;
};

TEST_F(ApiClientTest, AbsentSecretIs404NotFound) {
  auto api = client();
  const auto read = api.get_secret(kNamespace, kSecret);
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().is_status(404));
  EXPECT_EQ(read.error().reason, "NotFound");
  EXPECT_EQ(read.error().code_label(), "404");
  EXPECT_EQ(observed_, std::vector<std::string>{"get secrets 404"});
}

TEST_F(ApiClientTest, CreateThenGetGivesTheSameDataAndACreateTwiceIs409) {
  auto api = client();
  const auto created = api.create_secret(tls_secret("certificate\nwith bytes \x01\x02"));
  ASSERT_TRUE(created) << created.error().summary();
  EXPECT_FALSE(created->resource_version.empty());
  const auto read = api.get_secret(kNamespace, kSecret);
  ASSERT_TRUE(read) << read.error().summary();
  EXPECT_EQ(read->type, "kubernetes.io/tls");
  EXPECT_EQ(read->data.at("tls.crt"), "certificate\nwith bytes \x01\x02");
  EXPECT_EQ(read->resource_version, created->resource_version);
  // The fake stores base64, as the API server does.
  const auto stored = api_.get(FakeApiServer::secret_path(kNamespace, kSecret));
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)["data"]["tls.key"], "a2V5");

  const auto again = api.create_secret(tls_secret("other"));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().is_status(409));
  EXPECT_EQ(again.error().reason, "AlreadyExists");
}

TEST_F(ApiClientTest, UpdateIsBoundToTheResourceVersionAndKeepsWhatItDoesNotKnow) {
  auto api = client();
  ASSERT_TRUE(api.create_secret(tls_secret("first")));
  auto read = api.get_secret(kNamespace, kSecret);
  ASSERT_TRUE(read);

  // Someone else labels the Secret in between: the update read before is stale.
  json stored = *api_.get(FakeApiServer::secret_path(kNamespace, kSecret));
  stored["metadata"]["labels"] = {{"team", "mesh"}};
  stored["metadata"]["ownerReferences"] = json::array({{{"kind", "Thing"}, {"name", "x"}}});
  api_.put(FakeApiServer::secret_path(kNamespace, kSecret), stored);
  Secret stale = *read;
  stale.data["tls.crt"] = "second";
  const auto refused = api.update_secret(stale);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().is_status(409));
  EXPECT_EQ(refused.error().reason, "Conflict");

  auto fresh = api.get_secret(kNamespace, kSecret);
  ASSERT_TRUE(fresh);
  fresh->data["tls.crt"] = "second";
  const auto updated = api.update_secret(*fresh);
  ASSERT_TRUE(updated) << updated.error().summary();
  EXPECT_NE(updated->resource_version, fresh->resource_version);
  EXPECT_EQ(updated->data.at("tls.crt"), "second");
  const json after = *api_.get(FakeApiServer::secret_path(kNamespace, kSecret));
  EXPECT_EQ(after["metadata"]["labels"]["team"], "mesh");
  EXPECT_EQ(after["metadata"]["ownerReferences"][0]["name"], "x");
}

TEST_F(ApiClientTest, CaBundlesOfEveryWebhookAreSetUnlessTheConfigurationChanged) {
  auto api = client();
  auto read = api.get_webhook_configuration(WebhookConfigurationKind::Validating, kConfiguration);
  ASSERT_TRUE(read) << read.error().summary();
  ASSERT_EQ(read->ca_bundles.size(), 3u);
  EXPECT_EQ(read->ca_bundles[0], "");

  const auto set = api.set_ca_bundles(*read, "PEM A\nPEM B\n");
  ASSERT_TRUE(set) << set.error().summary();
  EXPECT_EQ(set->ca_bundles, std::vector<std::string>(3, "PEM A\nPEM B\n"));
  const json stored = *api_.get(FakeApiServer::validating_path(kConfiguration));
  for (const auto& webhook : stored["webhooks"]) {
    EXPECT_EQ(webhook["clientConfig"]["caBundle"], "UEVNIEEKUEVNIEIK");
    EXPECT_EQ(webhook["clientConfig"]["service"]["path"], "/validate");  // untouched
  }
  EXPECT_EQ(api_.requests().back().content_type, "application/json-patch+json");

  // A patch made from what was read before a change is refused, not applied
  // to webhooks that may have moved.
  const auto stale = api.set_ca_bundles(*read, "PEM C\n");
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().is_status(409));
  const json unchanged = *api_.get(FakeApiServer::validating_path(kConfiguration));
  EXPECT_EQ(unchanged["webhooks"][0]["clientConfig"]["caBundle"], "UEVNIEEKUEVNIEIK");
}

TEST_F(ApiClientTest, ForbiddenCarriesTheApiServersMessage) {
  api_.set_rules(std::vector<RbacRule>{});
  auto api = client();
  const auto read = api.get_webhook_configuration(WebhookConfigurationKind::Mutating, kConfiguration);
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().is_status(403));
  EXPECT_EQ(read.error().reason, "Forbidden");
  EXPECT_NE(read.error().message.find("cannot get resource \"mutatingwebhookconfigurations\""),
            std::string::npos)
      << read.error().message;
  EXPECT_EQ(observed_.back(), "get mutatingwebhookconfigurations 403");
}

TEST_F(ApiClientTest, TheChartsRulesAllowEveryCallAndNoOtherObject) {
  api_.set_rules(rules_for(kNamespace, kSecret, kConfiguration));
  auto api = client();
  ASSERT_TRUE(api.create_secret(tls_secret("x")));
  auto secret = api.get_secret(kNamespace, kSecret);
  ASSERT_TRUE(secret);
  ASSERT_TRUE(api.update_secret(*secret));
  for (const auto kind : {WebhookConfigurationKind::Mutating, WebhookConfigurationKind::Validating}) {
    auto read = api.get_webhook_configuration(kind, kConfiguration);
    ASSERT_TRUE(read) << read.error().summary();
    ASSERT_TRUE(api.set_ca_bundles(*read, "PEM\n"));
  }
  EXPECT_TRUE(api.get_secret(kNamespace, "another-secret").error().is_status(403));
  EXPECT_TRUE(api.get_secret("kube-system", kSecret).error().is_status(403));
  EXPECT_TRUE(api.get_webhook_configuration(WebhookConfigurationKind::Mutating, "another")
                  .error()
                  .is_status(403));
  // Every request the client made is one of api_calls, by method and path.
  std::set<std::string> made;
  for (const auto& request : api_.requests()) made.insert(request.verb + " " + request.resource);
  std::set<std::string> table;
  for (const ApiCall& call : api_calls) {
    table.insert(std::string(call.verb) + " " + std::string(call.resource));
  }
  EXPECT_EQ(made, table);
}

TEST_F(ApiClientTest, ADroppedConnectionIsAConnectionError) {
  api_.add_fault("get", "secrets", FakeApiServer::Fault::Drop);
  auto api = client();
  const auto read = api.get_secret(kNamespace, kSecret);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().kind, ApiError::Kind::Connection) << read.error().summary();
  EXPECT_EQ(observed_.back(), "get secrets connection");
  // The next call is fine: one connection per call.
  EXPECT_TRUE(api.get_secret(kNamespace, kSecret).error().is_status(404));
}

TEST_F(ApiClientTest, AnUnansweredCallEndsAtItsTimeLimit) {
  api_.add_fault("patch", "mutatingwebhookconfigurations", FakeApiServer::Fault::Hang);
  auto api = client(ClientLimits{300ms, 1 << 20});
  auto read = api.get_webhook_configuration(WebhookConfigurationKind::Mutating, kConfiguration);
  ASSERT_TRUE(read);
  const auto started = std::chrono::steady_clock::now();
  const auto patched = api.set_ca_bundles(*read, "PEM\n");
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(patched);
  EXPECT_EQ(patched.error().kind, ApiError::Kind::Timeout) << patched.error().summary();
  EXPECT_NE(patched.error().message.find("waiting for the answer"), std::string::npos);
  EXPECT_LT(took, 5s);  // far below the fake's own 10 s idle limit
  EXPECT_EQ(observed_.back(), "patch mutatingwebhookconfigurations timeout");
}

TEST_F(ApiClientTest, ALargerAnswerThanTheLimitIsRefused) {
  Secret big = tls_secret(std::string(200 * 1024, 'x'));
  ASSERT_TRUE(client().create_secret(big));
  auto api = client(ClientLimits{5s, 64 * 1024});
  const auto read = api.get_secret(kNamespace, kSecret);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().kind, ApiError::Kind::Malformed) << read.error().summary();
  EXPECT_NE(read.error().message.find("larger than 65536 bytes"), std::string::npos);
}

TEST_F(ApiClientTest, TheApiServersCertificateIsVerified) {
  ClusterAccess wrong_ca = api_.access();
  FakeApiServer other;
  wrong_ca.ca_pem = other.ca_pem();
  ApiClient untrusting(wrong_ca);
  const auto read = untrusting.get_secret(kNamespace, kSecret);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().kind, ApiError::Kind::Connection);
  EXPECT_NE(read.error().message.find("TLS handshake"), std::string::npos) << read.error().message;

  ClusterAccess wrong_name = api_.access();
  wrong_name.server_name = "not-the-api-server.example";
  ApiClient misnamed(wrong_name);
  EXPECT_EQ(misnamed.get_secret(kNamespace, kSecret).error().kind, ApiError::Kind::Connection);
  ClusterAccess by_name = api_.access();
  by_name.server_name = "kubernetes.default.svc";
  ApiClient named(by_name);
  EXPECT_TRUE(named.get_secret(kNamespace, kSecret).error().is_status(404));
  EXPECT_THROW(ApiClient([&] {
                 ClusterAccess broken = api_.access();
                 broken.ca_pem = "not a certificate";
                 return broken;
               }()),
               std::invalid_argument);
}

TEST_F(ApiClientTest, TheTokenFileIsReadAgainForEveryCall) {
  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / ("token-" + std::to_string(::getpid()));
  std::ofstream(file) << "expired-token\n";
  ClusterAccess access = api_.access();
  access.token.clear();
  access.token_file = file.string();
  ApiClient api(access);
  EXPECT_TRUE(api.get_secret(kNamespace, kSecret).error().is_status(401));
  std::ofstream(file) << "webhook-token\n";  // the kubelet rotated it
  EXPECT_TRUE(api.get_secret(kNamespace, kSecret).error().is_status(404));
  std::filesystem::remove(file);
  EXPECT_EQ(api.get_secret(kNamespace, kSecret).error().kind, ApiError::Kind::Credentials);
}

}  // namespace
}  // namespace asmegress::kube::testing
