// The mutating webhook judges what an UPDATE changed (policy/spec_change.h,
// policy/README.md "Mutation"): an update that leaves spec as it was, and any
// request for an object being deleted, get no patch. Each row is answered by
// /mutate on the review as the API server sends it, on the same review with
// its objects built as values, and by mutate_policy; all must agree.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

// Stored with every port blank: Service Mesh assigned them in status, or the
// policy predates the webhook.
json blank_ports() { return load_json(kSeedAutoPorts); }

json labelled(json object) {
  object["metadata"]["labels"] = {{"team", "payments"}};
  return object;
}

json deleting(json object) {
  object["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z";
  return object;
}

struct MutationCase {
  std::string name;
  std::optional<json> old_object;  // nullopt: CREATE
  json object;
  bool patched;
  Settings settings = {};
};

std::vector<MutationCase> mutation_cases() {
  json added = blank_ports();
  added["spec"]["egressRules"][0]["to"].push_back(make_entry("tcp-svc3", "TCP", {"2.2.2.2"}, 22));

  json finalized = deleting(blank_ports());
  finalized["metadata"]["finalizers"] = json::array({"example.com/cleanup"});
  json released = deleting(blank_ports());
  released["metadata"]["finalizers"] = json::array();

  json not_deleting = blank_ports();
  not_deleting["metadata"]["deletionTimestamp"] = nullptr;

  // Any value but null says the object is being deleted.
  json odd_timestamp = blank_ports();
  odd_timestamp["metadata"]["deletionTimestamp"] = {{"seconds", 1714557600}};
  json number_timestamp = blank_ports();
  number_timestamp["metadata"]["deletionTimestamp"] = 1714557600;
  json escaped_timestamp = blank_ports();
  escaped_timestamp["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z\n";

  const Settings exhausted = settings_with_reserved(10001, 20000);
  return {
      {"LabelOnAStoredObjectWithBlankPorts", blank_ports(), labelled(blank_ports()), false},
      {"AnnotationOnly", blank_ports(),
       edited(blank_ports(), {op_add("/metadata/annotations", json{{"note", "x"}})}), false},
      {"FinalizerRemovedWhileDeleting", finalized, released, false},
      {"SpecEditedWhileDeleting", deleting(blank_ports()), deleting(added), false},
      {"CreateOfAnObjectBeingDeleted", std::nullopt, deleting(blank_ports()), false},
      {"DeletionTimestampNullIsNotDeleting", std::nullopt, not_deleting, true},
      {"DeletionTimestampAnObject", std::nullopt, odd_timestamp, false},
      {"DeletionTimestampANumber", std::nullopt, number_timestamp, false},
      {"DeletionTimestampEscaped", std::nullopt, escaped_timestamp, false},
      {"SpecEdited", blank_ports(), added, true},
      {"Create", std::nullopt, blank_ports(), true},
      // An unchanged spec is not the moment to find the range exhausted.
      {"UnchangedSpecWithNoPortLeftIsNotDenied", blank_ports(), labelled(blank_ports()), false,
       exhausted},
  };
}

struct Answer {
  bool allowed = true;
  bool patched = false;
  std::string patch;
};

Answer answer_of(const std::string& text, const Settings& settings) {
  const json response =
      parse_answer(answer_review(text, WebhookKind::Mutating, settings)).at("response");
  Answer a;
  a.allowed = response.at("allowed");
  a.patched = response.contains("patch");
  if (a.patched) a.patch = base64_decode(response.at("patch").get<std::string>());
  return a;
}

std::string review_text(const MutationCase& c) {
  ReviewSpec spec;
  spec.operation = c.old_object ? "UPDATE" : "CREATE";
  spec.object = c.object;
  spec.old_object = c.old_object;
  return make_review(spec).dump();
}

// The same review with a string of both objects escaped: neither is decoded
// as it is read, both are built.
std::string escaped(std::string text) {
  const std::string plain = "\"egressgateway-a\"";
  for (auto at = text.find(plain); at != std::string::npos; at = text.find(plain, at)) {
    text.replace(at, plain.size(), "\"egressgateway\\u002da\"");
  }
  return text;
}

void PrintTo(const MutationCase& c, std::ostream* os) { *os << c.name; }

class MutationOfUpdates : public ::testing::TestWithParam<MutationCase> {};

TEST_P(MutationOfUpdates, PatchOnlyWhatChanged) {
  const MutationCase& c = GetParam();
  const std::string text = review_text(c);
  const Answer streamed = answer_of(text, c.settings);
  EXPECT_TRUE(streamed.allowed);
  EXPECT_EQ(streamed.patched, c.patched) << streamed.patch;
  const Answer built = answer_of(escaped(text), c.settings);
  EXPECT_EQ(built.allowed, streamed.allowed);
  EXPECT_EQ(built.patched, streamed.patched) << built.patch;

  const boost::json::value object = to_boost(c.object);
  boost::json::value old;
  if (c.old_object) old = to_boost(*c.old_object);
  const MutationResult m = mutate_policy(object, c.old_object ? &old : nullptr, c.settings);
  EXPECT_TRUE(m.errors.empty()) << describe(m.errors);
  EXPECT_EQ(!m.patch_json.empty(), c.patched) << m.patch_json;
  EXPECT_EQ(m.patch_json, streamed.patch);
  if (!c.patched) {
    EXPECT_EQ(m.object, object);
    EXPECT_TRUE(m.allocated.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Mutation, MutationOfUpdates, ::testing::ValuesIn(mutation_cases()),
                         [](const ::testing::TestParamInfo<MutationCase>& p) { return p.param.name; });

// The spec of the two objects as text that differs where the values do not:
// members in another order, other spacing, an escape in a string nobody reads.
TEST(MutationOfUpdates, SpecTextThatDiffersWithoutTheValueDifferingIsUnchanged) {
  const json stored = blank_ports();
  const std::string spec = stored.at("spec").dump();
  json spec_value = stored.at("spec");
  std::string reordered = "{\"egressRules\":" + spec_value.at("egressRules").dump() +
                          ",  \"byEgressGateway\" : " + spec_value.at("byEgressGateway").dump() +
                          ",\"comment\":\"\\u0061\"}";
  std::string with_comment = spec;
  with_comment.insert(with_comment.size() - 1, ",\"comment\":\"a\"");
  ReviewSpec r;
  r.operation = "UPDATE";
  r.object = labelled(stored);
  r.old_object = stored;
  std::string text = make_review(r).dump();
  // object's spec first, oldObject's second, as the API server orders them.
  const auto first = text.find(spec);
  ASSERT_NE(first, std::string::npos);
  const auto second = text.find(spec, first + spec.size());
  ASSERT_NE(second, std::string::npos);
  text.replace(second, spec.size(), with_comment);
  text.replace(first, spec.size(), reordered);
  EXPECT_FALSE(answer_of(text, {}).patched) << "the same spec was taken for a changed one";

  // The same texts where one value differs are a changed spec.
  std::string changed = text;
  changed.replace(changed.find("\"\\u0061\""), 8, "\"\\u0062\"");
  EXPECT_TRUE(answer_of(changed, {}).patched);
}

// Labels are kept in the order they are written; the same labels in
// another order are the same spec.
TEST(MutationOfUpdates, LabelsInAnotherOrderAreTheSameSpec) {
  ReviewSpec r;
  r.operation = "UPDATE";
  r.object = labelled(blank_ports());
  r.old_object = blank_ports();
  std::string text = make_review(r).dump();
  const std::string selector = "\"workloadSelector\":{\"app\":\"sleep\"}";
  const auto first = text.find(selector);
  ASSERT_NE(first, std::string::npos);
  const auto second = text.find(selector, first + 1);
  ASSERT_NE(second, std::string::npos);
  text.replace(second, selector.size(), "\"workloadSelector\":{\"app\":\"sleep\",\"version\":\"v1\"}");
  text.replace(first, selector.size(), "\"workloadSelector\":{\"version\":\"v1\",\"app\":\"sleep\"}");
  EXPECT_FALSE(answer_of(text, {}).patched);

  std::string other = text;
  other.replace(other.find("\"v1\""), 4, "\"v2\"");
  EXPECT_TRUE(answer_of(other, {}).patched);
}

TEST(MutationOfUpdates, AnEscapedSpecKeyIsStillComparedAsAValue) {
  ReviewSpec r;
  r.operation = "UPDATE";
  r.object = labelled(blank_ports());
  r.old_object = blank_ports();
  std::string text = make_review(r).dump();
  const std::string key = "\"spec\":";
  text.replace(text.find(key), key.size(), "\"sp\\u0065c\":");
  EXPECT_FALSE(answer_of(text, {}).patched);
}

}  // namespace
}  // namespace asmegress::policy::test
