// End to end, as the API server calls the webhook: TLS verified against the
// generated ca.crt, POST with ?timeout=, keep-alive, and the returned patch
// applied with an independent JSON Patch implementation (nlohmann::json).
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "policy/admission.h"
#include "kube/objects.h"
#include "tests/server/exposition.h"
#include "tests/server/server_fixture.h"

namespace asmegress::server::testing {
namespace {

using nlohmann::json;

std::string base64_decode(const std::string& text) {
  return kube::base64_decode(text).value_or(std::string());
}

json gateway_ports(const json& object) {
  json ports = json::object();
  for (const auto& to : object["spec"]["egressRules"][0]["to"]) {
    ports[to["name"].get<std::string>()] = to["byEgressGateway"]["port"];
  }
  return ports;
}

class AdmissionTest : public ::testing::Test {
 protected:
  RunningServer server_;
  json review_ = json::parse(testdata("review-create-auto-ports.json"));
};

TEST_F(AdmissionTest, MutatePatchGivesTheDocumentedGatewayPorts) {
  auto client = server_.client();
  const auto response = client->post_review("/mutate?timeout=10s", review_.dump());
  ASSERT_EQ(response.result_int(), 200u) << response.body();
  EXPECT_EQ(response[boost::beast::http::field::content_type], "application/json");

  const json answer = json::parse(response.body());
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_EQ(answer["response"]["uid"], review_["request"]["uid"]);
  EXPECT_EQ(answer["response"]["allowed"], true);
  ASSERT_EQ(answer["response"]["patchType"], "JSONPatch");

  const json patch = json::parse(base64_decode(answer["response"]["patch"].get<std::string>()));
  const json stored = review_["request"]["object"].patch(patch);
  EXPECT_EQ(gateway_ports(stored), (json{{"aliyun-com-http", 10000},
                                         {"aliyun-https", 10001},
                                         {"https-upgrade", 10000},
                                         {"tcp-svc1", 10002},
                                         {"tcp-svc2", 10003}}));
  // Nothing but the ports (and annotations) moved.
  EXPECT_EQ(stored["spec"]["byEgressGateway"], review_["request"]["object"]["spec"]["byEgressGateway"]);
}

TEST_F(AdmissionTest, ManyReviewsOverOneKeepAliveConnectionAnswerAlike) {
  auto client = server_.client();
  std::string first;
  for (int i = 0; i < 50; ++i) {
    json review = review_;
    review["request"]["uid"] = "uid-" + std::to_string(i);
    const auto response = client->post_review("/mutate?timeout=10s", review.dump());
    ASSERT_EQ(response.result_int(), 200u);
    ASSERT_TRUE(response.keep_alive());
    ASSERT_TRUE(client->connected());
    const json answer = json::parse(response.body());
    EXPECT_EQ(answer["response"]["uid"], "uid-" + std::to_string(i));
    if (i == 0) first = answer["response"]["patch"];
    EXPECT_EQ(answer["response"]["patch"], first);
  }
  EXPECT_EQ(server_.metrics().requests(WebhookPath::Mutate, 200), 50u);
}

TEST_F(AdmissionTest, V1beta1ReviewIsAnsweredInV1beta1) {
  json review = review_;
  review["apiVersion"] = "admission.k8s.io/v1beta1";
  auto client = server_.client();
  const auto response = client->post_review("/mutate", review.dump());
  ASSERT_EQ(response.result_int(), 200u) << response.body();
  const json answer = json::parse(response.body());
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(answer["response"]["uid"], review_["request"]["uid"]);
  const json patch = json::parse(base64_decode(answer["response"]["patch"].get<std::string>()));
  EXPECT_EQ(gateway_ports(review_["request"]["object"].patch(patch))["tcp-svc2"], 10003);
}

TEST_F(AdmissionTest, DryRunGetsTheSameAnswer) {
  json dry = review_;
  dry["request"]["dryRun"] = true;
  auto client = server_.client();
  const auto wet_response = client->post_review("/mutate?timeout=10s", review_.dump());
  const auto dry_response = client->post_review("/mutate?timeout=10s", dry.dump());
  ASSERT_EQ(wet_response.result_int(), 200u);
  ASSERT_EQ(dry_response.result_int(), 200u);
  EXPECT_EQ(wet_response.body(), dry_response.body());
}

TEST_F(AdmissionTest, ServerAnswerIsByteForByteTheEngineAnswer) {
  auto client = server_.client();
  for (const auto kind : {policy::WebhookKind::Mutating, policy::WebhookKind::Validating}) {
    const std::string body = review_.dump();
    const auto response =
        client->post_review(kind == policy::WebhookKind::Mutating ? "/mutate" : "/validate", body);
    EXPECT_EQ(response.body(), policy::answer_review(body, kind, policy::Settings{}).body);
  }
}

TEST_F(AdmissionTest, ValidateNeverPatchesAndDeniesWithAFieldPath) {
  auto client = server_.client();
  const auto allowed = client->post_review("/validate?timeout=10s", review_.dump());
  ASSERT_EQ(allowed.result_int(), 200u);
  const json allowed_answer = json::parse(allowed.body());
  EXPECT_FALSE(allowed_answer["response"].contains("patch"));
  EXPECT_FALSE(allowed_answer["response"].contains("patchType"));

  json wrong = review_;
  wrong["request"]["object"]["spec"]["egressRules"][0]["to"][0]["port"]["protocol"] = "FTP";
  const auto denied = client->post_review("/validate?timeout=10s", wrong.dump());
  ASSERT_EQ(denied.result_int(), 200u);
  const json answer = json::parse(denied.body());
  EXPECT_EQ(answer["response"]["allowed"], false);
  EXPECT_EQ(answer["response"]["status"]["code"], 422);
  EXPECT_NE(answer["response"]["status"]["message"].get<std::string>().find(
                "spec.egressRules[0].to[0].port.protocol"),
            std::string::npos)
      << denied.body();
  EXPECT_FALSE(answer["response"].contains("patch"));
}

TEST_F(AdmissionTest, ReviewsAreLoggedAndCounted) {
  auto client = server_.client();
  ASSERT_EQ(client->post_review("/mutate", review_.dump()).result_int(), 200u);
  const auto metrics = client->request("GET", "/metrics", {}, {});
  ASSERT_EQ(metrics.result_int(), 200u);
  EXPECT_EQ(sample_value(metrics.body(), "controller_runtime_webhook_requests_total",
                         {{"webhook", "/mutate"}, {"code", "200"}}),
            1.0)
      << metrics.body();
  const auto allocated =
      policy::answer_review(review_.dump(), policy::WebhookKind::Mutating, policy::Settings{})
          .summary.ports_allocated;
  ASSERT_GT(allocated, 0u);
  EXPECT_EQ(sample_value(metrics.body(), "asm_egress_webhook_ports_allocated_total"),
            static_cast<double>(allocated));
  EXPECT_EQ(sample_value(metrics.body(), "asm_egress_webhook_decisions_total",
                         {{"webhook", "/mutate"}, {"result", "allowed"}, {"reason", "Patched"}}),
            1.0);
  const std::string logs = server_.logs();
  EXPECT_NE(logs.find("\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\""), std::string::npos);
  EXPECT_NE(logs.find("\"operation\":\"CREATE\""), std::string::npos);
  EXPECT_NE(logs.find("\"dryRun\":false"), std::string::npos);
}

}  // namespace
}  // namespace asmegress::server::testing
