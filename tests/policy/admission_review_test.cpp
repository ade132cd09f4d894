// answer_review against policy/README.md "AdmissionReview" and the admission
// contract in docs/design.md: what the API server would receive back.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/validation_actions.h"
#include "policy/admission_review.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

using ::testing::HasSubstr;

constexpr WebhookKind kMutate = WebhookKind::Mutating;
constexpr WebhookKind kValidate = WebhookKind::Validating;
const std::string kGroup = "istio.alibabacloud.com";
const std::string kKind = "ASMEgressTrafficPolicy";

ReviewOutcome answer(const json& review, WebhookKind webhook, const Settings& s = {}) {
  return answer_review(review.dump(), webhook, s);
}

// The response, with the invariants every well-formed answer must satisfy checked.
json response_of(const ReviewOutcome& out, const json& review, WebhookKind webhook) {
  EXPECT_TRUE(out.well_formed) << out.body;
  if (!out.well_formed) return json::object();
  const json body = json::parse(out.body);
  EXPECT_EQ(body.at("apiVersion"), review.at("apiVersion"));
  EXPECT_EQ(body.at("kind"), "AdmissionReview");
  const json& resp = body.at("response");
  EXPECT_EQ(resp.at("uid"), review.at("request").at("uid"));
  EXPECT_TRUE(resp.at("allowed").is_boolean());
  EXPECT_EQ(resp.contains("patch"), resp.contains("patchType")) << resp.dump();
  if (resp.contains("patchType")) {
    EXPECT_EQ(resp.at("patchType"), "JSONPatch");
  }
  if (webhook == kValidate) {
    EXPECT_FALSE(resp.contains("patch")) << "the validating webhook patched: " << resp.dump();
  }
  if (resp.contains("warnings")) {
    EXPECT_TRUE(resp.at("warnings").is_array());
    EXPECT_FALSE(resp.at("warnings").empty()) << "warnings only when any";
    for (const auto& w : resp.at("warnings")) {
      EXPECT_LE(w.get<std::string>().size(), 120U) << w;
    }
  }
  return resp;
}

json decoded_patch(const json& resp) {
  return json::parse(base64_decode(resp.at("patch").get<std::string>()));
}

json fixture_review() { return load_json(kReviewCreateAutoPorts); }

json review_of(const json& object, std::string operation = "CREATE",
               std::optional<json> old = std::nullopt) {
  ReviewSpec spec;
  spec.object = object;
  spec.operation = std::move(operation);
  spec.old_object = std::move(old);
  return make_review(spec);
}

json with_ftp_protocol() {
  return edited(load_json(kExplicitPorts),
                {op_add("/spec/egressRules/0/to/1/port/protocol", "FTP")});
}

// ---------------------------------------------------------------------------

TEST(AnswerReview, MutateAllocatesThroughAPatch) {
  for (const std::string api : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    json review = fixture_review();
    review["apiVersion"] = api;
    const ReviewOutcome out = answer(review, kMutate);
    const json resp = response_of(out, review, kMutate);
    EXPECT_EQ(resp.at("allowed"), true) << api;
    ASSERT_TRUE(resp.contains("patch")) << resp.dump();
    EXPECT_FALSE(resp.contains("warnings")) << "/mutate leaves warnings to /validate";
    const json patched = apply_patch(review["request"]["object"], decoded_patch(resp));
    const std::vector<std::int64_t> want = {10000, 10001, 10000, 10002, 10003};
    for (std::size_t j = 0; j < want.size(); ++j) {
      EXPECT_EQ(gateway_port(patched, 0, j), want[j]) << api << " to[" << j << "]";
    }
    EXPECT_EQ(patched["metadata"]["annotations"]["asm-egress-webhook/port-allocation"], "auto");
    EXPECT_TRUE(out.summary.allowed);
    EXPECT_EQ(out.summary.reason, "Patched");
    EXPECT_EQ(out.summary.api_version, api);
    EXPECT_EQ(out.summary.uid, review["request"]["uid"]);
    EXPECT_EQ(out.summary.operation, "CREATE");
    EXPECT_EQ(out.summary.name, "egress-by-egressgateway-a");
    EXPECT_GT(out.summary.ports_allocated, 0U);
  }
}

TEST(AnswerReview, ValidateNeverPatchesAndCarriesWarnings) {
  for (const std::string api : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    json review = fixture_review();
    review["apiVersion"] = api;
    const ReviewOutcome out = answer(review, kValidate);
    const json resp = response_of(out, review, kValidate);
    EXPECT_EQ(resp.at("allowed"), true) << resp.dump();
    // tcp-svc2 reaches a domain over TCP.
    ASSERT_TRUE(resp.contains("warnings")) << resp.dump();
    EXPECT_GE(resp.at("warnings").size(), 1U);
    EXPECT_GE(out.summary.warnings, 1U);
  }
}

TEST(AnswerReview, NothingToDoMeansNoPatchNoWarnings) {
  const json review = review_of(load_json(kExplicitPorts));
  for (const WebhookKind w : {kMutate, kValidate}) {
    const json resp = response_of(answer(review, w), review, w);
    EXPECT_EQ(resp.at("allowed"), true);
    EXPECT_FALSE(resp.contains("patch")) << resp.dump();
    EXPECT_FALSE(resp.contains("patchType")) << resp.dump();
    EXPECT_FALSE(resp.contains("warnings")) << resp.dump();
  }
}

TEST(AnswerReview, DenialShapeForOneError) {
  const json review = review_of(with_ftp_protocol());
  const ReviewOutcome out = answer(review, kValidate);
  const json resp = response_of(out, review, kValidate);
  EXPECT_EQ(resp.at("allowed"), false);
  const std::string body =
      "Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\", \"TCP\"";
  const json want_status = {
      {"metadata", json::object()},
      {"status", "Failure"},
      {"message", "ASMEgressTrafficPolicy.istio.alibabacloud.com \"egress-by-egressgateway-a\" "
                  "is invalid: spec.egressRules[0].to[1].port.protocol: " +
                      body},
      {"reason", "Invalid"},
      {"details",
       {{"name", "egress-by-egressgateway-a"},
        {"group", kGroup},
        {"kind", kKind},
        {"causes", json::array({{{"reason", "FieldValueNotSupported"},
                                 {"message", body},
                                 {"field", "spec.egressRules[0].to[1].port.protocol"}}})}}},
      {"code", 422}};
  EXPECT_EQ(resp.at("status"), want_status) << resp.at("status").dump(2);
  EXPECT_EQ(out.summary.reason, "Invalid");
  EXPECT_EQ(out.summary.status_code, 422);
  EXPECT_FALSE(out.summary.allowed);
}

TEST(AnswerReview, DenialListsEveryCause) {
  const json review = review_of(load_json(kManyErrors));
  const json resp = response_of(answer(review, kValidate), review, kValidate);
  EXPECT_EQ(resp.at("allowed"), false);
  const json& status = resp.at("status");
  EXPECT_EQ(status.at("code"), 422);
  EXPECT_EQ(status.at("reason"), "Invalid");
  const std::string message = status.at("message");
  const std::string prefix =
      "ASMEgressTrafficPolicy.istio.alibabacloud.com \"egress-by-egressgateway-a\" is invalid: [";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
  EXPECT_EQ(message.back(), ']') << message;
  const json& causes = status.at("details").at("causes");
  ASSERT_EQ(causes.size(), 4U) << causes.dump(2);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& c : causes) {
    ASSERT_EQ(c.size(), 3U) << c.dump();
    got.emplace_back(c.at("reason"), c.at("field"));
    EXPECT_THAT(message, HasSubstr(c.at("field").get<std::string>() + ": " +
                                   c.at("message").get<std::string>()));
  }
  EXPECT_THAT(got, ::testing::UnorderedElementsAre(
                       std::pair<std::string, std::string>{"FieldValueInvalid", "metadata.namespace"},
                       std::pair<std::string, std::string>{
                           "FieldValueNotSupported", "spec.egressRules[0].to[0].port.protocol"},
                       std::pair<std::string, std::string>{"FieldValueRequired",
                                                           "spec.egressRules[0].to[1].hosts"},
                       std::pair<std::string, std::string>{
                           "FieldValueInvalid", "spec.egressRules[0].to[2].byEgressGateway.port"}));
}

TEST(AnswerReview, MutateNeverDeniesForFieldErrors) {
  for (const json& object :
       {load_json(kManyErrors), with_ftp_protocol(),
        edited(load_json(kSeedAutoPorts), {op_add("/metadata/namespace", "default")})}) {
    const json review = review_of(object);
    const json resp = response_of(answer(review, kMutate), review, kMutate);
    EXPECT_EQ(resp.at("allowed"), true) << resp.dump();
    EXPECT_FALSE(resp.contains("warnings")) << resp.dump();
    if (resp.contains("patch")) {
      EXPECT_NO_THROW(apply_patch(object, decoded_patch(resp)));
    }
  }
}

TEST(AnswerReview, MutateDeniesWhenTheRangeIsExhausted) {
  const Settings s = settings_with_reserved(10001, 20000);
  const json review = fixture_review();
  const ReviewOutcome out = answer(review, kMutate, s);
  const json resp = response_of(out, review, kMutate);
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_FALSE(resp.contains("patch"));
  EXPECT_EQ(resp.at("status").at("code"), 422);
  EXPECT_EQ(resp.at("status").at("reason"), "Invalid");
  bool names_first_https = false;
  for (const auto& c : resp.at("status").at("details").at("causes")) {
    EXPECT_EQ(c.at("reason"), "FieldValueForbidden") << c.dump();
    if (c.at("field") == "spec.egressRules[0].to[1].byEgressGateway.port") names_first_https = true;
  }
  EXPECT_TRUE(names_first_https) << resp.dump(2);
  EXPECT_EQ(out.summary.reason, "PortsExhausted");
  EXPECT_EQ(out.summary.status_code, 422);
}

TEST(AnswerReview, OtherKindsAreAllowedUntouched) {
  const json config_map = {{"apiVersion", "v1"},
                           {"kind", "ConfigMap"},
                           {"metadata", {{"name", "x"}, {"namespace", "default"}}}};
  std::vector<json> reviews;
  {
    ReviewSpec spec;
    spec.group = "";
    spec.kind = "ConfigMap";
    spec.object = config_map;
    reviews.push_back(make_review(spec));
  }
  {
    // Our kind's name in another group; the object would otherwise be allocated.
    ReviewSpec spec;
    spec.group = "example.com";
    spec.object = load_json(kSeedAutoPorts);
    reviews.push_back(make_review(spec));
  }
  {
    ReviewSpec spec;
    spec.kind = "ASMEgressTrafficPolicyList";
    spec.object = load_json(kSeedAutoPorts);
    reviews.push_back(make_review(spec));
  }
  for (const auto& review : reviews) {
    for (const WebhookKind w : {kMutate, kValidate}) {
      const ReviewOutcome out = answer(review, w);
      const json resp = response_of(out, review, w);
      EXPECT_EQ(resp.at("allowed"), true) << resp.dump();
      EXPECT_FALSE(resp.contains("patch")) << resp.dump();
      EXPECT_FALSE(resp.contains("status") && resp.at("status").contains("code") &&
                   resp.at("status").at("code") != 200)
          << resp.dump();
      EXPECT_EQ(out.summary.reason, "Ignored");
    }
  }
}

TEST(AnswerReview, DeleteAndConnectAreAllowedUntouched) {
  for (const std::string op : {"DELETE", "CONNECT"}) {
    ReviewSpec spec;
    spec.operation = op;
    spec.old_object = with_ftp_protocol();  // invalid, and it doesn't matter
    json review = make_review(spec);
    review["request"]["object"] = nullptr;
    review["request"]["name"] = "egress-by-egressgateway-a";
    for (const WebhookKind w : {kMutate, kValidate}) {
      const ReviewOutcome out = answer(review, w);
      const json resp = response_of(out, review, w);
      EXPECT_EQ(resp.at("allowed"), true) << op << resp.dump();
      EXPECT_FALSE(resp.contains("patch")) << op;
      EXPECT_EQ(out.summary.operation, op);
      EXPECT_EQ(out.summary.reason, "Ignored") << op;
    }
  }
}

TEST(AnswerReview, DryRunGivesTheSameAnswer) {
  const Settings exhausted = settings_with_reserved(10001, 20000);
  for (const json& object :
       {load_json(kSeedAutoPorts), with_ftp_protocol(), load_json(kExplicitPorts)}) {
    ReviewSpec spec;
    spec.object = object;
    const json wet = make_review(spec);
    spec.dry_run = true;
    const json dry = make_review(spec);
    for (const WebhookKind w : {kMutate, kValidate}) {
      for (const Settings* s : {static_cast<const Settings*>(nullptr), &exhausted}) {
        const Settings settings = s ? *s : Settings{};
        const ReviewOutcome a = answer(wet, w, settings);
        const ReviewOutcome b = answer(dry, w, settings);
        EXPECT_EQ(a.well_formed, b.well_formed);
        EXPECT_EQ(a.body, b.body);
        EXPECT_FALSE(a.summary.dry_run);
        EXPECT_TRUE(b.summary.dry_run);
      }
    }
  }
}

TEST(AnswerReview, UpdateAllocatesOnlyTheNewEntry) {
  // oldObject as stored after the CREATE was mutated.
  const json fixture = fixture_review();
  const json created = fixture["request"]["object"];
  const json first = response_of(answer(fixture, kMutate), fixture, kMutate);
  const json stored = apply_patch(created, decoded_patch(first));

  json next = stored;
  next["spec"]["egressRules"][0]["to"].push_back(
      make_entry("tcp-svc3", "TCP", {"2.2.2.2"}, 22));
  const json review = review_of(next, "UPDATE", stored);
  const json resp = response_of(answer(review, kMutate), review, kMutate);
  EXPECT_EQ(resp.at("allowed"), true);
  ASSERT_TRUE(resp.contains("patch")) << resp.dump();
  EXPECT_EQ(decoded_patch(resp),
            json::array({op_add("/spec/egressRules/0/to/5/byEgressGateway", json{{"port", 10004}})}));

  const json patched = apply_patch(next, decoded_patch(resp));
  const json validated = response_of(answer(review_of(patched, "UPDATE", stored), kValidate),
                                     review_of(patched, "UPDATE", stored), kValidate);
  EXPECT_EQ(validated.at("allowed"), true) << validated.dump();
}

TEST(AnswerReview, TypeErrorInAGatewaySurvivesMutation) {
  // The mutating webhook runs before validation: whatever it does to a badly
  // typed byEgressGateway, the validating webhook must still refuse the object.
  json object = load_json(kSeedAutoPorts);
  object["spec"]["egressRules"][0]["to"][1]["byEgressGateway"] = "10001";
  const json review = review_of(object);
  const json mutated = response_of(answer(review, kMutate), review, kMutate);
  const json after = mutated.contains("patch") ? apply_patch(object, decoded_patch(mutated)) : object;
  const json second = review_of(after);
  const json validated = response_of(answer(second, kValidate), second, kValidate);
  EXPECT_EQ(validated.at("allowed"), false) << "a typo in byEgressGateway was silently replaced: "
                                             << after["spec"]["egressRules"][0]["to"][1].dump();
}

TEST(AnswerReview, GenerateNameOnCreate) {
  json object = load_json(kSeedAutoPorts);
  object["metadata"].erase("name");
  object["metadata"]["generateName"] = "egress-by-egressgateway-a-";
  const json review = review_of(object);
  ASSERT_EQ(review["request"]["name"], "");

  const json mutated = response_of(answer(review, kMutate), review, kMutate);
  EXPECT_EQ(mutated.at("allowed"), true);
  ASSERT_TRUE(mutated.contains("patch"));
  EXPECT_EQ(gateway_port(apply_patch(object, decoded_patch(mutated)), 0, 4), 10003);

  const ReviewOutcome out = answer(review, kValidate);
  const json validated = response_of(out, review, kValidate);
  EXPECT_EQ(validated.at("allowed"), false);
  const json& causes = validated.at("status").at("details").at("causes");
  ASSERT_EQ(causes.size(), 1U) << causes.dump();
  EXPECT_EQ(causes[0].at("field"), "metadata.generateName");
  EXPECT_EQ(causes[0].at("reason"), "FieldValueForbidden");
  EXPECT_THAT(causes[0].at("message").get<std::string>(), HasSubstr("egress-by-egressgateway-a"));
  EXPECT_THAT(out.summary.name, HasSubstr("egress-by-egressgateway-a"));
}

TEST(AnswerReview, UidEchoedVerbatim) {
  ReviewSpec spec;
  spec.uid = "uid with \"quotes\", \\ and ü";
  spec.object = load_json(kSeedAutoPorts);
  const json review = make_review(spec);
  for (const WebhookKind w : {kMutate, kValidate}) {
    (void)response_of(answer(review, w), review, w);
  }
}

TEST(AnswerReview, UidOfTheLongestLengthIsEchoed) {
  ReviewSpec spec;
  spec.uid = std::string(kMaxUidLength, 'u');
  spec.object = load_json(kSeedAutoPorts);
  const json review = make_review(spec);
  for (const WebhookKind w : {kMutate, kValidate}) {
    (void)response_of(answer(review, w), review, w);
  }
}

TEST(AnswerReview, NamespaceSettingApplies) {
  Settings s;
  s.policy_namespace = "mesh-egress";
  const json review = review_of(load_json(kExplicitPorts));
  const json resp = response_of(answer(review, kValidate, s), review, kValidate);
  EXPECT_EQ(resp.at("allowed"), false);
  EXPECT_EQ(resp.at("status").at("details").at("causes")[0].at("field"), "metadata.namespace");
}

// --- Validation actions ------------------------------------------------------

Settings with_actions(bool deny, bool warn, bool audit) {
  Settings s;
  s.validation_actions = {deny, warn, audit};
  return s;
}

TEST(AnswerReview, WarnAdmitsWithEveryErrorAsAWarning) {
  const json review = review_of(load_json(kManyErrors));
  const ReviewOutcome denied = answer(review, kValidate);
  const json causes = response_of(denied, review, kValidate).at("status").at("details").at("causes");
  const ReviewOutcome out = answer(review, kValidate, with_actions(false, true, false));
  const json resp = response_of(out, review, kValidate);
  EXPECT_EQ(resp.at("allowed"), true);
  EXPECT_FALSE(resp.contains("status")) << resp.dump();
  EXPECT_FALSE(resp.contains("auditAnnotations"));
  ASSERT_TRUE(resp.contains("warnings")) << resp.dump();
  // Every cause of the denial, field path first, in the same order.
  std::vector<std::string> expected;
  for (const auto& c : causes) {
    expected.push_back(c.at("field").get<std::string>() + ": " + c.at("message").get<std::string>());
  }
  std::vector<std::string> got;
  for (const auto& w : resp.at("warnings")) {
    const std::string text = w;
    if (text.rfind("spec.", 0) == 0 || text.rfind("metadata.", 0) == 0) got.push_back(text);
  }
  ASSERT_EQ(got.size(), expected.size()) << resp.dump(2);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::string& want = expected[i];
    EXPECT_EQ(got[i], want.size() <= 120 ? want : want.substr(0, 117) + "...");
  }
  EXPECT_TRUE(out.summary.allowed);
  EXPECT_EQ(out.summary.reason, "Invalid");
  EXPECT_EQ(out.summary.status_code, 0);
  EXPECT_TRUE(out.summary.actions.warn);
  EXPECT_EQ(out.summary.errors, causes.size());
}

TEST(AnswerReview, AuditAdmitsWithTheErrorsInAuditAnnotations) {
  const json review = review_of(with_ftp_protocol());
  const ReviewOutcome out = answer(review, kValidate, with_actions(false, false, true));
  const json resp = response_of(out, review, kValidate);
  EXPECT_EQ(resp.at("allowed"), true);
  EXPECT_FALSE(resp.contains("status"));
  EXPECT_FALSE(resp.contains("warnings")) << resp.dump();
  ASSERT_TRUE(resp.contains("auditAnnotations")) << resp.dump();
  const json& annotations = resp.at("auditAnnotations");
  ASSERT_EQ(annotations.size(), 1U);
  ASSERT_TRUE(annotations.at("validation-errors").is_string()) << "a map of string to string";
  const json errors = json::parse(annotations.at("validation-errors").get<std::string>());
  EXPECT_EQ(errors, json::array({{{"field", "spec.egressRules[0].to[1].port.protocol"},
                                  {"type", "FieldValueNotSupported"},
                                  {"message", "Unsupported value: \"FTP\": supported values: "
                                              "\"HTTP\", \"HTTPS\", \"TCP\""}}}));
  EXPECT_EQ(out.summary.audit_errors, annotations.at("validation-errors"));
  EXPECT_TRUE(out.summary.actions.audit);
  EXPECT_FALSE(out.summary.actions.deny);
}

TEST(AnswerReview, ActionsCombine) {
  const json review = review_of(with_ftp_protocol());
  struct Case {
    Settings settings;
    bool allowed;
    bool warnings;
    bool annotations;
  };
  for (const Case& c : {Case{with_actions(false, true, true), true, true, true},
                        Case{with_actions(true, false, true), false, false, true},
                        Case{with_actions(true, false, false), false, false, false}}) {
    const json resp = response_of(answer(review, kValidate, c.settings), review, kValidate);
    const std::string actions = validation_actions_text(c.settings.validation_actions);
    EXPECT_EQ(resp.at("allowed"), c.allowed) << actions;
    EXPECT_EQ(resp.contains("status"), !c.allowed) << actions;
    EXPECT_EQ(resp.contains("warnings"), c.warnings) << actions;
    EXPECT_EQ(resp.contains("auditAnnotations"), c.annotations) << actions;
  }
}

TEST(AnswerReview, WarnWarningsAreCapped) {
  json object = load_json(kExplicitPorts);
  auto& to = object["spec"]["egressRules"][0]["to"];
  for (int i = 0; i < 60; ++i) {
    to.push_back(make_entry("Bad_" + std::to_string(i), "HTTP", {"h" + std::to_string(i) + ".com"},
                            80, json{{"port", 10000}}));
  }
  const json review = review_of(object);
  const json resp = response_of(answer(review, kValidate, with_actions(false, true, false)), review,
                                kValidate);
  EXPECT_EQ(resp.at("allowed"), true);
  const json& warnings = resp.at("warnings");
  EXPECT_EQ(warnings.size(), 30U) << warnings.dump(2);
  EXPECT_EQ(warnings.back(), "and 31 more errors");
}

// Under Warn the errors are what must reach kubectl: the rules' own
// warnings give way to them under the cap, and are counted.
TEST(AnswerReview, WarnShowsTheErrorsBeforeTheRulesWarningsFillTheCap) {
  json object = load_json(kExplicitPorts);
  auto& to = object["spec"]["egressRules"][0]["to"];
  for (int i = 0; i < 40; ++i) {
    to.push_back(make_entry("tcp-" + std::to_string(i), "TCP",
                            {"t" + std::to_string(i) + ".example.com"}, 5000 + i,
                            json{{"port", 20000 + i}}));
  }
  to.push_back(make_entry("bad", "FTP", {"bad.example.com"}, 21, json{{"port", 10021}}));
  const json review = review_of(object);
  const json resp = response_of(answer(review, kValidate, with_actions(false, true, false)), review,
                                kValidate);
  EXPECT_EQ(resp.at("allowed"), true);
  const json& warnings = resp.at("warnings");
  ASSERT_LE(warnings.size(), 31U) << warnings.dump(2);
  bool error_shown = false;
  for (const json& w : warnings) {
    if (w.get<std::string>().find("port.protocol") != std::string::npos) error_shown = true;
  }
  EXPECT_TRUE(error_shown) << warnings.dump(2);
  EXPECT_NE(warnings.back().get<std::string>().find("more warning"), std::string::npos)
      << warnings.dump(2);
}

// A key longer than any the engine reads arrives in parts; its last part
// alone ("object") must not make it request.object. The whole-parse answer
// for a review with no object at all is the one to give.
TEST(AnswerReview, ALongKeyEndingInObjectIsNotTheObject) {
  json review = review_of(load_json(kExplicitPorts));
  json without = review;
  without["request"].erase("object");
  std::string text = review.dump();
  const std::string key = "\"object\":";
  const auto at = text.find(key);
  ASSERT_NE(at, std::string::npos);
  // An escape makes the parser hand the key over in parts of 4096 bytes.
  text.replace(at, key.size(), "\"\\u0041" + std::string(4095, 'x') + "object\":");
  for (const WebhookKind webhook : {kValidate, kMutate}) {
    EXPECT_EQ(answer_review(text, webhook, Settings{}).body, answer(without, webhook).body);
  }
}

TEST(AnswerReview, ActionsChangeNothingForAValidObject) {
  for (const json& object : {load_json(kExplicitPorts), load_json(kSeedAutoPorts)}) {
    const json review = review_of(object);
    const std::string denying = answer(review, kValidate).body;
    for (const Settings& s : {with_actions(false, true, false), with_actions(false, false, true),
                              with_actions(false, true, true)}) {
      EXPECT_EQ(answer(review, kValidate, s).body, denying);
    }
  }
}

TEST(AnswerReview, MutationRunsTheSameInEveryMode) {
  for (const json& object : {load_json(kSeedAutoPorts), with_ftp_protocol(), load_json(kManyErrors)}) {
    const json review = review_of(object);
    const std::string denying = answer(review, kMutate).body;
    for (const Settings& s : {with_actions(false, true, false), with_actions(false, false, true),
                              with_actions(false, true, true), with_actions(true, false, true)}) {
      EXPECT_EQ(answer(review, kMutate, s).body, denying);
    }
  }
}

// --- Malformed reviews -------------------------------------------------------

struct Malformed {
  std::string name;
  std::string body;
  std::string mentions;  // the offending field, or "" when any message will do
};

std::string edit_review(const std::function<void(json&)>& f) {
  json r = load_json(kReviewCreateAutoPorts);
  f(r);
  return r.dump();
}

std::vector<Malformed> malformed_cases() {
  return {
      {"empty", "", ""},
      {"not_json", "{\"apiVersion\":", ""},
      {"trailing_garbage", load_json(kReviewCreateAutoPorts).dump() + " x", ""},
      {"array", "[]", ""},
      {"number", "42", ""},
      {"api_version_v2",
       edit_review([](json& r) { r["apiVersion"] = "admission.k8s.io/v2"; }), "apiVersion"},
      {"api_version_missing", edit_review([](json& r) { r.erase("apiVersion"); }), "apiVersion"},
      {"kind_wrong", edit_review([](json& r) { r["kind"] = "AdmissionRequest"; }), "kind"},
      {"kind_missing", edit_review([](json& r) { r.erase("kind"); }), "kind"},
      {"request_missing", edit_review([](json& r) { r.erase("request"); }), "request"},
      {"request_null", edit_review([](json& r) { r["request"] = nullptr; }), "request"},
      {"request_string", edit_review([](json& r) { r["request"] = "x"; }), "request"},
      {"uid_missing", edit_review([](json& r) { r["request"].erase("uid"); }), "uid"},
      {"uid_empty", edit_review([](json& r) { r["request"]["uid"] = ""; }), "uid"},
      {"uid_number", edit_review([](json& r) { r["request"]["uid"] = 5; }), "uid"},
      {"uid_array", edit_review([](json& r) { r["request"]["uid"] = json::array({"u"}); }), "uid"},
      {"uid_129_characters",
       edit_review([](json& r) { r["request"]["uid"] = std::string(kMaxUidLength + 1, 'u'); }),
       "at most 128 characters"},
      {"uid_of_a_megabyte",
       edit_review([](json& r) { r["request"]["uid"] = std::string(1 << 20, 'u'); }), "uid"},
      {"request_kind_array",
       edit_review([](json& r) { r["request"]["kind"] = json::array({0, 0, 0}); }), "request.kind"},
      {"operation_patch", edit_review([](json& r) { r["request"]["operation"] = "PATCH"; }),
       "operation"},
      {"operation_missing", edit_review([](json& r) { r["request"].erase("operation"); }),
       "operation"},
      {"object_missing_on_create", edit_review([](json& r) { r["request"].erase("object"); }),
       "object"},
      {"object_null_on_create", edit_review([](json& r) { r["request"]["object"] = nullptr; }),
       "object"},
      {"object_string_on_update",
       edit_review([](json& r) {
         r["request"]["operation"] = "UPDATE";
         r["request"]["oldObject"] = r["request"]["object"];
         r["request"]["object"] = "policy";
       }),
       "object"},
  };
}

class MalformedReviews : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedReviews, SayWhatIsWrong) {
  const Malformed& c = GetParam();
  for (const WebhookKind w : {kMutate, kValidate}) {
    const ReviewOutcome out = answer_review(c.body, w, Settings{});
    EXPECT_FALSE(out.well_formed) << out.body;
    EXPECT_FALSE(out.body.empty());
    if (!c.mentions.empty()) {
      EXPECT_THAT(out.body, HasSubstr(c.mentions));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AnswerReview, MalformedReviews, ::testing::ValuesIn(malformed_cases()),
    [](const ::testing::TestParamInfo<Malformed>& param) { return param.param.name; });

// Hostile bodies: nothing may crash; the answer is a message or a valid review.
void expect_handled(const std::string& body) {
  for (const WebhookKind w : {kMutate, kValidate}) {
    const ReviewOutcome out = answer_review(body, w, Settings{});
    EXPECT_FALSE(out.body.empty());
    if (out.well_formed) {
      EXPECT_TRUE(json::accept(out.body)) << "answer is not valid UTF-8 JSON";
    }
  }
}

TEST(AnswerReview, DeeplyNestedBodies) {
  const std::string arrays(100000, '[');
  expect_handled(arrays);
  EXPECT_FALSE(answer_review(arrays, kMutate, Settings{}).well_formed);

  std::string objects;
  for (int i = 0; i < 50000; ++i) objects += "{\"a\":";
  expect_handled(objects);
  EXPECT_FALSE(answer_review(objects, kValidate, Settings{}).well_formed);

  // Deep nesting inside the object itself, closed properly.
  json review = fixture_review();
  std::string deep = "1";
  for (int i = 0; i < 20000; ++i) deep = "[" + deep + "]";
  std::string text = review.dump();
  const std::string marker = "\"dryRun\":false";
  text.replace(text.find(marker), marker.size(), "\"dryRun\":false,\"extra\":" + deep);
  expect_handled(text);
}

TEST(AnswerReview, InvalidUtf8) {
  const std::string good = load_json(kReviewCreateAutoPorts).dump();
  for (const std::string& bad : {std::string("\xff\xfe"), std::string("\xc3\x28"),
                                 std::string("\xed\xa0\x80"), std::string("a\0b", 3)}) {
    // In the uid, echoed back.
    std::string in_uid = good;
    const std::string uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
    in_uid.replace(in_uid.find(uid), uid.size(), bad);
    expect_handled(in_uid);
    // In a host, which ends up in messages.
    std::string in_host = good;
    const std::string host = "test-tcp.com";
    in_host.replace(in_host.find(host), host.size(), bad);
    expect_handled(in_host);
  }
}

TEST(AnswerReview, OddNumbersDoNotCrash) {
  for (const std::string& number :
       {std::string("1e999"), std::string("-0"), std::string("18446744073709551616"),
        std::string("-9223372036854775809"), std::string("1e-400"), std::string("4.4e2")}) {
    std::string text = load_json(kReviewCreateAutoPorts).dump();
    const std::string marker = "\"number\":44";
    text.replace(text.find(marker), marker.size(), "\"number\":" + number);
    expect_handled(text);
    const ReviewOutcome out = answer_review(text, kValidate, Settings{});
    if (out.well_formed) {
      // Not an integer in 1..65535 (a float is never one): the policy is refused.
      EXPECT_EQ(json::parse(out.body)["response"]["allowed"], false) << number;
    }
  }
}

}  // namespace
}  // namespace asmegress::policy::test
