// The objects as JSON: base64 data, what an update keeps, the caBundle patch.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "kube/api_calls.h"
#include "kube/objects.h"

namespace asmegress::kube {
namespace {

namespace json = boost::json;

TEST(Base64, RoundTripsEveryLengthAndRefusesGarbage) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    const std::string encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(base64_decode(encoded), bytes) << i;
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(base64_encode("PEM A\n"), "UEVNIEEK");
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("ab!d"));
  EXPECT_EQ(base64_decode(""), std::string());
}

TEST(SecretJson, AnUpdateKeepsTheObjectsOtherFields) {
  const json::value read = json::parse(R"({
    "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
    "metadata": {"name": "s", "namespace": "n", "resourceVersion": "7",
                 "labels": {"team": "mesh"}, "managedFields": [{"manager": "x"}],
                 "annotations": {"keep": "me"}},
    "data": {"tls.crt": "Y2VydA==", "extra": "eA=="}})");
  std::string error;
  auto secret = secret_from_json(read, error);
  ASSERT_TRUE(secret) << error;
  EXPECT_EQ(secret->data.at("tls.crt"), "cert");
  EXPECT_EQ(secret->annotations.at("keep"), "me");
  secret->data["tls.crt"] = "new";
  const json::value sent = json::parse(secret_to_json(*secret));
  EXPECT_EQ(sent.at("metadata").at("resourceVersion"), "7");
  EXPECT_EQ(sent.at("metadata").at("labels").at("team"), "mesh");
  EXPECT_EQ(sent.at("metadata").at("annotations").at("keep"), "me");
  EXPECT_FALSE(sent.at("metadata").as_object().contains("managedFields"));
  EXPECT_EQ(sent.at("data").at("tls.crt"), "bmV3");
  EXPECT_EQ(sent.at("data").at("extra"), "eA==");
  EXPECT_EQ(sent.at("type"), "kubernetes.io/tls");

  EXPECT_FALSE(secret_from_json(json::parse(R"({"metadata": {}, "data": {"x": "!!"}})"), error));
  EXPECT_NE(error.find("data.x"), std::string::npos);
}

TEST(WebhookConfigurationJson, EveryWebhooksCaBundle) {
  std::string error;
  const auto configuration = webhook_configuration_from_json(
      WebhookConfigurationKind::Mutating,
      json::parse(R"({"metadata": {"name": "w", "resourceVersion": "3"},
                      "webhooks": [{"name": "a", "clientConfig": {"caBundle": "UEVNIEEK"}},
                                   {"name": "b", "clientConfig": {}}]})"),
      error);
  ASSERT_TRUE(configuration) << error;
  EXPECT_EQ(configuration->webhook_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(configuration->ca_bundles, (std::vector<std::string>{"PEM A\n", ""}));

  const json::value patch = json::parse(ca_bundle_patch(*configuration, "PEM B\n"));
  EXPECT_EQ(patch, json::parse(R"([
    {"op": "replace", "path": "/metadata/resourceVersion", "value": "3"},
    {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": "UEVNIEIK"},
    {"op": "add", "path": "/webhooks/1/clientConfig/caBundle", "value": "UEVNIEIK"}])"));
}

TEST(StatusBody, ReasonAndMessage) {
  const Status status = status_from_body(
      R"({"kind":"Status","status":"Failure","message":"m","reason":"Conflict","code":409})");
  EXPECT_EQ(status.reason, "Conflict");
  EXPECT_EQ(status.message, "m");
  EXPECT_EQ(status_from_body("<html>bad gateway</html>").message, "<html>bad gateway</html>");
}

TEST(ApiCalls, PathsMethodsAndRbacText) {
  EXPECT_EQ(object_path(api_call(Call::GetSecret), "ns", "s"), "/api/v1/namespaces/ns/secrets/s");
  EXPECT_EQ(object_path(api_call(Call::CreateSecret), "ns", ""), "/api/v1/namespaces/ns/secrets");
  EXPECT_EQ(object_path(api_call(Call::PatchValidatingWebhookConfiguration), "ns", "w"),
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/w");
  EXPECT_EQ(http_method(api_call(Call::CreateSecret)), "POST");
  EXPECT_EQ(http_method(api_call(Call::UpdateSecret)), "PUT");
  EXPECT_EQ(http_method(api_call(Call::PatchMutatingWebhookConfiguration)), "PATCH");
  EXPECT_FALSE(rbac_names_apply(api_call(Call::CreateSecret)));
  EXPECT_EQ(rbac_rule_text(api_call(Call::UpdateSecret), "ns", "s"),
            "a Role in namespace \"ns\" with the rule {apiGroups: [\"\"], resources: "
            "[\"secrets\"], resourceNames: [\"s\"], verbs: [\"update\"]}, bound by a RoleBinding "
            "to the server's service account");
  EXPECT_EQ(rbac_rule_text(api_call(Call::CreateSecret), "ns", "s").find("resourceNames"),
            std::string::npos);
  EXPECT_NE(rbac_rule_text(api_call(Call::GetMutatingWebhookConfiguration), "ns", "w")
                .find("a ClusterRole with the rule {apiGroups: [\"admissionregistration.k8s.io\"]"),
            std::string::npos);
  // The enum and the table agree.
  EXPECT_EQ(api_call(Call::PatchValidatingWebhookConfiguration).resource,
            "validatingwebhookconfigurations");
  EXPECT_EQ(api_call(Call::PatchValidatingWebhookConfiguration).verb, "patch");
}

}  // namespace
}  // namespace asmegress::kube
