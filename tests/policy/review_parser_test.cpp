// parse_review against Boost.JSON's whole-DOM parse with the unread members
// erased afterwards (review_reference.h): the same value, or the same error
// at the same byte, for the fixtures, for hand-made edge cases, for every
// prefix of the seed's review and for thousands of one-byte edits of it.

#include "policy/review_parser.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/policy/review_reference.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

namespace bj = boost::json;

constexpr std::size_t kDepth = 64;
// An UPDATE as kubectl apply sends it: objects with managedFields and the
// last-applied annotation, the stored object with its allocated ports.
constexpr const char* kReviewUpdateManagedFields = "review-update-managed-fields.json";

// Whether parse_review and the reference agree on `text`; the first
// difference is reported as a test failure.
bool agrees(std::string_view text, std::size_t max_depth = kDepth,
            OldObject old_object = OldObject::Build) {
  const ParsedReview got = parse_review(text, {}, max_depth, old_object);
  const ReferenceParse want =
      reference_parse_review(text, max_depth, old_object == OldObject::Build);
  EXPECT_EQ(got.error, want.error) << text;
  EXPECT_EQ(got.consumed, want.consumed) << text;
  // As text too: the members kept keep their order.
  const bool same_value =
      want.error || (got.value == want.value && bj::serialize(got.value) == bj::serialize(want.value));
  EXPECT_TRUE(same_value) << text << "\n got: " << got.value << "\nwant: " << want.value;
  return got.error == want.error && got.consumed == want.consumed && same_value;
}

std::string compact(std::string_view text) { return bj::serialize(bj::parse(text)); }

std::string review_around(const std::string& object) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)"
         R"("uid":"u-1","kind":{"group":"istio.alibabacloud.com","version":"v1beta1","kind":"ASMEgressTrafficPolicy"},)"
         R"("resource":{"group":"istio.alibabacloud.com","version":"v1beta1","resource":"asmegresstrafficpolicies"},)"
         R"("operation":"UPDATE","userInfo":{"username":"admin","groups":["system:masters"],"extra":{"k":["v",1,2.5,null,true]}},)"
         R"("object":)" + object + R"(,"oldObject":)" + object +
         R"(,"dryRun":false,"options":{"kind":"UpdateOptions"}}})";
}

TEST(ReviewParser, KeepsOnlyWhatTheEngineReadsOfTheSeedReview) {
  const std::string text = read_testdata(kReviewCreateAutoPorts);
  const ParsedReview got = parse_review(text, {}, kDepth);
  ASSERT_FALSE(got.error) << got.error.message();
  const bj::object& review = got.value.as_object();
  EXPECT_EQ(review.size(), 3U) << got.value;
  const bj::object& request = review.at("request").as_object();
  for (const std::string_view dropped : {"userInfo", "resource", "requestKind", "options"}) {
    EXPECT_FALSE(request.contains(dropped)) << dropped;
  }
  EXPECT_EQ(request.at("object"), bj::parse(text).at("request").at("object"));
  EXPECT_TRUE(agrees(text));
  EXPECT_TRUE(agrees(compact(text)));
}

TEST(ReviewParser, DropsManagedFieldsFromBothObjects) {
  const std::string text = read_testdata(kReviewUpdateManagedFields);
  const bj::value whole = bj::parse(text);
  const ParsedReview got = parse_review(text, {}, kDepth);
  ASSERT_FALSE(got.error) << got.error.message();
  for (const std::string_view key : {"object", "oldObject"}) {
    SCOPED_TRACE(key);
    const bj::object& metadata = got.value.at("request").at(key).at("metadata").as_object();
    const bj::object& whole_metadata = whole.at("request").at(key).at("metadata").as_object();
    ASSERT_TRUE(whole_metadata.contains("managedFields")) << "the fixture lost its managedFields";
    EXPECT_FALSE(metadata.contains("managedFields"));
    EXPECT_EQ(metadata.size(), whole_metadata.size() - 1);
    EXPECT_EQ(metadata.at("annotations"), whole_metadata.at("annotations"));
    EXPECT_EQ(got.value.at("request").at(key).at("spec"), whole.at("request").at(key).at("spec"));
  }
  EXPECT_TRUE(agrees(text));
  EXPECT_TRUE(agrees(compact(text)));
}

// What is dropped does not change a decision: the answers carry the patch,
// errors and warnings the engine gives for the objects as parsed whole.
TEST(ReviewParser, DecisionsAreThoseOnTheWholeObjects) {
  for (const char* fixture : {kReviewCreateAutoPorts, kReviewUpdateManagedFields}) {
    SCOPED_TRACE(fixture);
    const std::string text = read_testdata(fixture);
    const bj::value whole = bj::parse(text);
    const bj::value& object = whole.at("request").at("object");
    const bj::value* old_object = whole.at("request").at("oldObject").is_null()
                                      ? nullptr
                                      : &whole.at("request").at("oldObject");

    const ReviewOutcome mutated = answer_review(text, WebhookKind::Mutating, {});
    ASSERT_TRUE(mutated.well_formed) << mutated.body;
    const MutationResult expected = mutate_policy(object, old_object, {});
    ASSERT_TRUE(expected.errors.empty());
    ASSERT_FALSE(expected.patch_json.empty());
    const bj::value answer = bj::parse(mutated.body);
    EXPECT_EQ(base64_decode(answer.at("response").at("patch").as_string()), expected.patch_json);

    const Operation operation = old_object == nullptr ? Operation::Create : Operation::Update;
    const ReviewOutcome validated = answer_review(text, WebhookKind::Validating, {});
    ASSERT_TRUE(validated.well_formed) << validated.body;
    const ValidationResult expected_validation = validate_policy(object, old_object, operation, {});
    EXPECT_EQ(validated.summary.allowed, expected_validation.errors.empty());
    EXPECT_EQ(validated.summary.warnings, expected_validation.warnings.size());
  }
}

TEST(ReviewParser, SkipsTheOldObjectWhenAsked) {
  const std::string text = read_testdata(kReviewUpdateManagedFields);
  const ParsedReview built = parse_review(text, {}, kDepth, OldObject::Build);
  const ParsedReview skipped = parse_review(text, {}, kDepth, OldObject::Skip);
  ASSERT_FALSE(built.error);
  ASSERT_FALSE(skipped.error);
  EXPECT_TRUE(built.value.at("request").as_object().contains("oldObject"));
  EXPECT_FALSE(skipped.value.at("request").as_object().contains("oldObject"));
  EXPECT_EQ(skipped.value.at("request").at("object"), built.value.at("request").at("object"));
  EXPECT_TRUE(agrees(text, kDepth, OldObject::Skip));
  EXPECT_TRUE(agrees(compact(text), kDepth, OldObject::Skip));
}

TEST(ReviewParser, ValueLivesInTheStorageGiven) {
  const std::string text = compact(read_testdata(kReviewCreateAutoPorts));
  bj::monotonic_resource arena;
  const ParsedReview got = parse_review(text, &arena, kDepth);
  ASSERT_FALSE(got.error);
  EXPECT_EQ(got.value.storage().get(), &arena);
  EXPECT_EQ(got.value.at("request").at("object").storage().get(), &arena);
}

TEST(ReviewParser, AgreesOnEveryPolicyFixtureInsideAReview) {
  for (const char* fixture : {kSeedAutoPorts, kSeedHttp, kSeedHttpsUpgrade, kExplicitPorts, kManyErrors}) {
    SCOPED_TRACE(fixture);
    const std::string object = compact(read_testdata(fixture));
    EXPECT_TRUE(agrees(review_around(object)));
  }
}

TEST(ReviewParser, AgreesOnEdgeCases) {
  const std::string long_escaped(6000, 'a');
  std::string escaped_text;
  for (int i = 0; i < 3000; ++i) escaped_text += "\\n\\u00e9";
  const std::vector<std::string> cases = {
      "{}",
      R"({"request":{}})",
      R"({"request":null,"kind":"AdmissionReview"})",
      R"({"request":"text","userInfo":1})",
      R"({"request":[{"userInfo":1,"uid":"x"}]})",
      R"([{"request":{"userInfo":1}}])",
      R"("a string")",
      "12",
      "null",
      // Keys written with escapes are the same keys.
      R"({"api\u0056ersion":"admission.k8s.io/v1","\u006bind":"AdmissionReview","request":{"\u0075id":"x","user\u0049nfo":{"a":1}}})",
      // Near misses of kept keys, and kept keys at the other level.
      R"({"requests":{"userInfo":1},"request":{"uidx":1,"objects":2,"object2":3,"apiVersion":"v","request":{"userInfo":1},"uid":"u"},"uid":"top"})",
      // Longer than any kept key, at both levels.
      R"({"apiVersionXXXXXXXXXXXXXXXXXXXXX":1,"request":{"operationoperationoperation":{"a":[1,2]},"name":"n"}})",
      // Only the review and its request are filtered: the object is whole.
      R"({"request":{"object":{"request":{"userInfo":{"a":1}},"userInfo":[1,2]},"oldObject":{"options":{}}}})",
      // Every kind of value dropped, followed by kept members.
      R"({"response":{"a":[1,-2,3.5,18446744073709551615,-9223372036854775808,1e400,true,false,null,"s\u00e9\n",[],{},[[{"x":[{}]}]]]},"kind":"AdmissionReview","request":{"userInfo":[{"a":{"b":[null]}}],"dryRun":true,"options":"x","name":"n"}})",
      // Duplicate keys: the last one wins, as in the whole DOM.
      R"({"request":{"uid":"a","userInfo":{}},"request":{"name":"b","options":1}})",
      R"({"request":{"uid":"a","uid":"b","userInfo":1,"uid":"c"}})",
      R"({"kind":"A","kind":"B","junk":1,"kind":"C"})",
      // Strings and keys long enough to arrive in parts, kept and dropped.
      R"({"request":{"userInfo":{")" + escaped_text + R"(":")" + escaped_text + R"("},"object":{")" +
          escaped_text + R"(":")" + escaped_text + R"("},"name":")" + long_escaped + R"("}})",
      R"({")" + escaped_text + R"(":1,"request":{")" + escaped_text + R"(":{"a":")" + escaped_text +
          R"("},"uid":"u"}})",
      R"({"response":")" + escaped_text + R"(","kind":"K","request":{"userInfo":")" + escaped_text +
          R"(","uid":"u"}})",
      // managedFields is dropped from the metadata of object and oldObject
      // only, however its key is written.
      R"({"request":{"object":{"metadata":{"managedFields":[{"manager":"m","fieldsV1":{"f:spec":{}}}],"name":"n","managed\u0046ields":2},"spec":{"managedFields":1}},"oldObject":{"metadata":{"annotations":{"managedFields":"x"},"managedFields":null,"labels":{"a":"b"}},"managedFields":1}}})",
      R"({"request":{"object":{"meta\u0064ata":{"managedFields":1,"uid":"u"}},"oldObject":{"metadata":"text"}}})",
      R"({"request":{"object":[{"metadata":{"managedFields":1}}],"oldObject":{"spec":{"metadata":{"managedFields":1}}}}})",
      R"({"request":{"userInfo":{"metadata":{"managedFields":1}},"object":{"metadata":{"managedFields":{"metadata":{"managedFields":1}}}}},"metadata":{"managedFields":1}})",
      R"({"request":{"object":{")" + escaped_text + R"(":1,"metadata":{")" + escaped_text +
          R"(":{"x":1},"managedFields":[],"name":"n"}}}})",
      // Not JSON, or not one JSON text.
      R"({"request":{"userInfo":{"a":1}}} {})",
      R"({"request":{"userInfo":{"a":1}}}x)",
      R"({"request":{"userInfo":{"a":1},}})",
      R"({"request":{"userInfo":/* c */{"a":1}}})",
      R"({"request":{"userInfo":{"a":01}}})",
      R"({"request":{"userInfo":{"a":"\x"}}})",
      "{\"request\":{\"userInfo\":\"\xff\"}}",
      R"({"request":{"userInfo":{"a":1})",
      "",
      "   ",
  };
  for (const std::string& text : cases) {
    SCOPED_TRACE(text.substr(0, 200));
    EXPECT_TRUE(agrees(text));
    EXPECT_TRUE(agrees(text, kDepth, OldObject::Skip));
  }
}

TEST(ReviewParser, DepthLimitHoldsInsideDroppedMembers) {
  const std::string deep = R"({"request":{"userInfo":[[[[[[[[1]]]]]]]],"uid":"u"}})";
  EXPECT_TRUE(agrees(deep, 4));
  EXPECT_TRUE(parse_review(deep, {}, 4).error) << "the depth limit was not applied";
  EXPECT_TRUE(agrees(deep, 10));
  EXPECT_FALSE(parse_review(deep, {}, 10).error);
}

TEST(ReviewParser, AgreesOnEveryPrefixOfTheSeedReview) {
  const std::string text = compact(read_testdata(kReviewCreateAutoPorts));
  for (std::size_t n = 0; n <= text.size(); ++n) {
    const std::string_view prefix = std::string_view(text).substr(0, n);
    if (!agrees(prefix) || !agrees(prefix, kDepth, OldObject::Skip)) {
      ADD_FAILURE() << "first disagreement at prefix length " << n;
      return;
    }
  }
}

// Replaces, deletes or doubles one byte at a time, with bytes that change
// the JSON's structure: about four thousand malformed or reshaped reviews.
TEST(ReviewParser, AgreesOnOneByteEditsOfTheSeedReview) {
  const std::vector<std::string> edits = one_byte_edits(compact(read_testdata(kReviewCreateAutoPorts)));
  EXPECT_GT(edits.size(), 3000U);
  for (std::size_t i = 0; i < edits.size(); ++i) {
    if (!agrees(edits[i]) || !agrees(edits[i], kDepth, OldObject::Skip)) {
      ADD_FAILURE() << "first disagreement at edit " << i;
      return;
    }
  }
}

}  // namespace
}  // namespace asmegress::policy::test
