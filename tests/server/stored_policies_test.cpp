// A cluster that already holds policies, end to end: the UPDATEs the API
// server sends for objects stored before the webhook (a finalizer removed
// from an object being deleted, a label, an edit), sent to the running
// server as the API server sends them, and the validation actions an
// operator rolls the webhook out with.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/objects.h"
#include "tests/server/server_fixture.h"

namespace asmegress::server::testing {
namespace {

using nlohmann::json;

const std::string kFtpField = "spec.egressRules[0].to[1].port.protocol";

json explicit_ports() { return json::parse(testdata("policies/explicit-ports.json")); }

// Stored before the webhook: to[1] speaks FTP.
json with_ftp() {
  json object = explicit_ports();
  object["spec"]["egressRules"][0]["to"][1]["port"]["protocol"] = "FTP";
  return object;
}

json deleting(json object) {
  object["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z";
  return object;
}

json labelled(json object) {
  object["metadata"]["labels"] = {{"team", "payments"}};
  return object;
}

// The review the API server sends, compact as Go's encoding/json writes it.
std::string review(const std::string& operation, const json& object, const json& old_object) {
  return json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", "e911857d-c318-11e8-bbad-025000000001"},
                {"kind",
                 {{"group", "istio.alibabacloud.com"},
                  {"version", "v1beta1"},
                  {"kind", "ASMEgressTrafficPolicy"}}},
                {"resource",
                 {{"group", "istio.alibabacloud.com"},
                  {"version", "v1beta1"},
                  {"resource", "asmegresstrafficpolicies"}}},
                {"name", object["metadata"]["name"]},
                {"namespace", "istio-egress"},
                {"operation", operation},
                {"userInfo", {{"username", "system:serviceaccount:mesh:controller"}}},
                {"object", object},
                {"oldObject", old_object},
                {"dryRun", false}}}}
      .dump();
}

json response_of(TlsClient& client, const std::string& path, const std::string& body) {
  const auto answer = client.post_review(path + "?timeout=10s", body);
  EXPECT_EQ(answer.result_int(), 200u) << answer.body();
  return json::parse(answer.body()).at("response");
}

std::vector<std::string> cause_fields(const json& response) {
  std::vector<std::string> fields;
  if (!response.contains("status")) return fields;
  for (const auto& c : response["status"]["details"]["causes"]) fields.push_back(c["field"]);
  return fields;
}

std::vector<std::string> warnings_of(const json& response) {
  if (!response.contains("warnings")) return {};
  return response["warnings"].get<std::vector<std::string>>();
}

bool says_already_there(const std::vector<std::string>& warnings, const std::string& field) {
  for (const auto& w : warnings) {
    if (w.rfind(field + ": already invalid before this update", 0) == 0) return true;
  }
  return false;
}

struct StoredCase {
  std::string name;
  std::string operation;
  json old_object;
  json object;
  std::vector<std::string> denied;  // fields of the denial's causes
  bool ftp_warned;                  // the stored FTP error comes back as a warning
};

std::vector<StoredCase> stored_cases() {
  json finalized = deleting(with_ftp());
  finalized["metadata"]["finalizers"] = json::array({"example.com/cleanup"});
  json released = deleting(with_ftp());
  released["metadata"]["finalizers"] = json::array();
  json added = with_ftp();
  added["spec"]["egressRules"][0]["to"].push_back(
      {{"name", "cache"},
       {"hosts", {"10.0.0.9"}},
       {"port", {{"name", "redis"}, {"number", 6379}, {"protocol", "TCP"}}},
       {"byEgressGateway", {{"port", 10003}}}});
  json new_error = with_ftp();
  new_error["spec"]["egressRules"][0]["to"][0]["hosts"][0] = "Bad_Host";
  json other_bad = with_ftp();
  other_bad["spec"]["egressRules"][0]["to"][1]["port"]["protocol"] = "SMTP";
  return {
      {"finalizer removal while deleting", "UPDATE", finalized, released, {}, true},
      {"label", "UPDATE", with_ftp(), labelled(with_ftp()), {}, true},
      {"added valid entry", "UPDATE", with_ftp(), added, {}, true},
      {"unchanged error next to a new one", "UPDATE", with_ftp(), new_error,
       {"spec.egressRules[0].to[0].hosts[0]"}, true},
      {"same field, another bad value", "UPDATE", with_ftp(), other_bad, {kFtpField}, false},
      {"create", "CREATE", nullptr, with_ftp(), {kFtpField}, false},
  };
}

TEST(StoredPolicies, UpdatesAreRatcheted) {
  RunningServer server;
  auto client = server.client();
  for (const StoredCase& c : stored_cases()) {
    SCOPED_TRACE(c.name);
    const json response = response_of(*client, "/validate", review(c.operation, c.object, c.old_object));
    EXPECT_EQ(response["allowed"], c.denied.empty()) << response.dump(2);
    EXPECT_EQ(cause_fields(response), c.denied) << response.dump(2);
    if (!c.denied.empty() && !c.ftp_warned && c.operation == "UPDATE") {
      EXPECT_EQ(response["status"]["message"].get<std::string>().find("FTP"), std::string::npos)
          << "an old value in the denial";
    }
    EXPECT_EQ(says_already_there(warnings_of(response), kFtpField), c.ftp_warned)
        << response.dump(2);
    for (const auto& w : warnings_of(response)) EXPECT_LE(w.size(), 120u) << w;
  }
}

std::string base64_decode(const std::string& text) {
  return kube::base64_decode(text).value_or(std::string());
}

TEST(StoredPolicies, MetadataOnlyAndDeletingUpdatesGetNoPatch) {
  RunningServer server;
  auto client = server.client();
  // Stored with every port blank, as Service Mesh leaves them.
  const json blank = json::parse(testdata("review-create-auto-ports.json"))["request"]["object"];
  json finalized = deleting(blank);
  finalized["metadata"]["finalizers"] = json::array({"example.com/cleanup"});
  json released = deleting(blank);
  released["metadata"]["finalizers"] = json::array();
  json edited = blank;
  edited["spec"]["egressRules"][0]["to"].erase(0);

  struct Case {
    std::string name;
    json old_object;
    json object;
    bool patched;
  };
  for (const Case& c : std::vector<Case>{{"label", blank, labelled(blank), false},
                                        {"finalizer removal while deleting", finalized, released, false},
                                        {"spec edited", blank, edited, true}}) {
    SCOPED_TRACE(c.name);
    const json response = response_of(*client, "/mutate", review("UPDATE", c.object, c.old_object));
    EXPECT_EQ(response["allowed"], true);
    EXPECT_EQ(response.contains("patch"), c.patched) << response.dump();
    if (c.patched) {
      const json patch = json::parse(base64_decode(response["patch"].get<std::string>()));
      const json result = c.object.patch(patch);
      for (const auto& to : result["spec"]["egressRules"][0]["to"]) {
        EXPECT_TRUE(to["byEgressGateway"]["port"].is_number_integer()) << result.dump();
      }
    }
  }
}

policy::Settings with_actions(bool deny, bool warn, bool audit) {
  policy::Settings settings;
  settings.validation_actions = {deny, warn, audit};
  return settings;
}

std::string metrics_of(TlsClient& client) {
  const auto response = client.request("GET", "/metrics", {}, {});
  EXPECT_EQ(response.result_int(), 200u);
  return response.body();
}

TEST(ValidationActions, WarnAdmitsWithWarnings) {
  RunningServer server({}, with_actions(false, true, false));
  auto client = server.client();
  const json response = response_of(*client, "/validate", review("CREATE", with_ftp(), nullptr));
  EXPECT_EQ(response["allowed"], true) << response.dump();
  EXPECT_FALSE(response.contains("status"));
  ASSERT_EQ(warnings_of(response).size(), 1u) << response.dump();
  EXPECT_EQ(warnings_of(response)[0].rfind(kFtpField + ": Unsupported value: \"FTP\"", 0), 0u);
  EXPECT_NE(metrics_of(*client).find("asm_egress_webhook_validation_actions_total{action=\"Warn\"} 1\n"),
            std::string::npos);
}

TEST(ValidationActions, AuditAdmitsAnnotatesLogsAndCounts) {
  RunningServer server({}, with_actions(false, false, true));
  auto client = server.client();
  const json response = response_of(*client, "/validate", review("CREATE", with_ftp(), nullptr));
  EXPECT_EQ(response["allowed"], true) << response.dump();
  EXPECT_FALSE(response.contains("warnings"));
  ASSERT_TRUE(response.contains("auditAnnotations")) << response.dump();
  const json errors = json::parse(response["auditAnnotations"]["validation-errors"].get<std::string>());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["field"], kFtpField);
  EXPECT_EQ(errors[0]["type"], "FieldValueNotSupported");

  const std::string metrics = metrics_of(*client);
  EXPECT_NE(metrics.find("asm_egress_webhook_validation_actions_total{action=\"Audit\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("asm_egress_webhook_validation_actions_total{action=\"Deny\"} 0\n"),
            std::string::npos);
  // Labels in the order the text serializer writes them.
  EXPECT_NE(metrics.find("asm_egress_webhook_decisions_total{reason=\"Invalid\","
                         "result=\"allowed\",webhook=\"/validate\"} 1\n"),
            std::string::npos)
      << metrics;

  // One line, with the errors, for the object the request named.
  const std::string logs = server.logs();
  std::size_t audit_lines = 0;
  for (std::size_t at = logs.find("\"msg\":\"validation audit\""); at != std::string::npos;
       at = logs.find("\"msg\":\"validation audit\"", at + 1)) {
    ++audit_lines;
    const std::size_t begin = logs.rfind('\n', at) + 1;
    const json line = json::parse(logs.substr(begin, logs.find('\n', at) - begin));
    EXPECT_EQ(line["name"], "egress-by-egressgateway-a");
    EXPECT_EQ(line["namespace"], "istio-egress");
    EXPECT_EQ(line["uid"], "e911857d-c318-11e8-bbad-025000000001");
    EXPECT_EQ(json::parse(line["errors"].get<std::string>()), errors);
  }
  EXPECT_EQ(audit_lines, 1u) << logs;
}

TEST(ValidationActions, DenyIsCountedAndTheRatchetedUpdateIsNot) {
  RunningServer server;
  auto client = server.client();
  EXPECT_EQ(response_of(*client, "/validate", review("CREATE", with_ftp(), nullptr))["allowed"], false);
  EXPECT_EQ(response_of(*client, "/validate",
                        review("UPDATE", labelled(with_ftp()), with_ftp()))["allowed"],
            true);
  EXPECT_EQ(server.metrics().validation_actions("Deny"), 1u);
  EXPECT_EQ(server.metrics().validation_actions("Audit"), 0u);
  EXPECT_EQ(server.logs().find("validation audit"), std::string::npos);
}

}  // namespace
}  // namespace asmegress::server::testing
