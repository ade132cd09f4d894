// parse_review against Boost.JSON's whole-DOM parse cut down to what the
// engine reads afterwards (review_reference.h): the same value, or the same
// error at the same byte, for the fixtures, for hand-made edge cases, for
// every prefix of the seed's review and for thousands of one-byte edits of
// it. And the cut itself against the engine: read_admission_request and
// decode_policy read the same of the cut review as of the whole one.

#include "policy/review_parser.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/policy/policy_text.h"
#include "tests/policy/review_reference.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

namespace bj = boost::json;

constexpr std::size_t kDepth = 64;
// An UPDATE as kubectl apply sends it: objects with managedFields and the
// last-applied annotation, the stored object with its allocated ports.
constexpr const char* kReviewUpdateManagedFields = "review-update-managed-fields.json";

// Whether the engine reads the same of the cut review as of the whole one:
// the request, and every field of both objects.
bool cut_reads_alike(std::string_view text, std::size_t max_depth = kDepth) {
  bj::parse_options options;
  options.max_depth = max_depth;
  bj::error_code ec;
  const bj::value whole = bj::parse(text, ec, {}, options);
  if (ec) return true;
  const bj::value cut = cut_review(whole);
  std::string difference;
  bool alike = reads_alike(whole, cut, &difference);
  if (alike) {
    AdmissionRequest a;
    AdmissionRequest b;
    if (!read_admission_request(whole, a) && !read_admission_request(cut, b)) {
      for (const auto& [x, y] :
           {std::pair{a.object, b.object}, std::pair{a.old_object, b.old_object}}) {
        if (x == nullptr) continue;
        const std::string px = testing::policy_text(decode_policy(*x).policy);
        const std::string py = testing::policy_text(decode_policy(*y).policy);
        if (px != py) {
          alike = false;
          difference = "decode_policy:\n" + px + "!=\n" + py;
        }
      }
    }
  }
  EXPECT_TRUE(alike) << difference << "\n" << text.substr(0, 2000);
  return alike;
}

// Whether parse_review and the reference agree on `text`; the first
// difference is reported as a test failure.
bool agrees(std::string_view text, std::size_t max_depth = kDepth,
            OldObject old_object = OldObject::Build) {
  const ParsedReview got = parse_review(text, {}, max_depth, old_object);
  const ReferenceParse want =
      reference_parse_review(text, max_depth, old_object == OldObject::Build);
  EXPECT_EQ(got.error, want.error) << text.substr(0, 2000);
  EXPECT_EQ(got.consumed, want.consumed) << text.substr(0, 2000);
  // As text too: the members kept keep their order.
  const bool same_value =
      want.error || (got.value == want.value && bj::serialize(got.value) == bj::serialize(want.value));
  EXPECT_TRUE(same_value) << text.substr(0, 2000) << "\n got: " << bj::serialize(got.value).substr(0, 2000)
                          << "\nwant: " << bj::serialize(want.value).substr(0, 2000);
  const bool alike = old_object == OldObject::Skip || cut_reads_alike(text, max_depth);
  return got.error == want.error && got.consumed == want.consumed && same_value && alike;
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
  // Of request.kind, what says whether the review is for us.
  EXPECT_EQ(bj::serialize(request.at("kind")),
            R"({"group":"istio.alibabacloud.com","kind":"ASMEgressTrafficPolicy"})");
  // The seed's object holds nothing but what decoding reads.
  EXPECT_EQ(request.at("object"), bj::parse(text).at("request").at("object"));
  EXPECT_TRUE(agrees(text));
  EXPECT_TRUE(agrees(compact(text)));
}

TEST(ReviewParser, KeepsOfBothObjectsOnlyWhatDecodingReads) {
  const std::string text = read_testdata(kReviewUpdateManagedFields);
  const bj::value whole = bj::parse(text);
  const ParsedReview got = parse_review(text, {}, kDepth);
  ASSERT_FALSE(got.error) << got.error.message();
  for (const std::string_view key : {"object", "oldObject"}) {
    SCOPED_TRACE(key);
    const bj::object& metadata = got.value.at("request").at(key).at("metadata").as_object();
    const bj::object& whole_metadata = whole.at("request").at(key).at("metadata").as_object();
    ASSERT_TRUE(whole_metadata.contains("managedFields")) << "the fixture lost its managedFields";
    ASSERT_TRUE(whole_metadata.at("annotations").as_object().contains(
        "kubectl.kubernetes.io/last-applied-configuration"));
    // Server-side field ownership, the uid, versions, timestamps, and the
    // annotations other than the allocator's marker: never read.
    bj::object annotations;
    if (const auto* marker = whole_metadata.at("annotations").as_object().if_contains(kAllocationAnnotation)) {
      annotations[kAllocationAnnotation] = *marker;
    }
    EXPECT_EQ(bj::serialize(metadata),
              R"({"name":"egress-by-egressgateway-a","namespace":"istio-egress","annotations":)" +
                  bj::serialize(annotations) + "}");
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
      // Members read with a container of another kind: built empty, at
      // every level, whatever they hold.
      R"({"request":{"kind":[0,0,[1,{"a":2}]],"uid":{"a":[1]},"operation":["CREATE"],"name":{},"namespace":[[]],"dryRun":{"x":true}}})",
      R"({"request":{"kind":"ASMEgressTrafficPolicy","uid":"u"},"apiVersion":{"v":1},"kind":["AdmissionReview"]})",
      R"({"request":{"kind":{"group":["g"],"kind":{"k":1},"version":"v1","extra":[1]},"uid":"u"}})",
      R"([{"request":{"kind":[1,2,3]}},{"x":[1]}])",
      R"({"request":[{"uid":"u"}],"kind":"AdmissionReview"})",
      R"({"request":{"object":{"apiVersion":[["v"]],"kind":{"x":1},"metadata":[1,2],"spec":{"egressRules":{"a":[1,2]},"byEgressGateway":[{"name":"g"}]}},"oldObject":[{"spec":{}}]}})",
      R"({"request":{"object":{"metadata":{"name":{"a":1},"generateName":[1],"namespace":{},"annotations":["a"]},"spec":"s"}}})",
      R"({"request":{"object":{"spec":{"egressRules":[1,"s",null,[1,2],{"from":{"x":1},"to":"t","name":{"a":1}},{"from":[1,[2],{"namespace":[1],"workloadSelector":[{"a":"b"}]}],"to":[[],"x",{"name":[1],"hosts":{"a":1},"port":[80],"byEgressGateway":[1],"httpsUpgrade":"on"}]}]}}}})",
      R"({"request":{"object":{"spec":{"egressRules":[{"to":[{"hosts":["a",[1],{"b":2},null,3,"c"],"port":{"name":{"n":1},"number":[80],"protocol":{"p":"HTTP"},"extra":1},"byEgressGateway":{"name":["g"],"port":{"p":1},"x":1},"httpsUpgrade":{"enabled":[true],"port":{"n":443},"y":[]}}]}]}}}})",
      // Labels: every key kept, however written; values as scalars.
      R"({"request":{"object":{"spec":{"egressRules":[{"from":[{"workloadSelector":{"a\u0062":{"x":1},"k":[1],"app":"sleep","n":5,"z":null},"namespace":"default","extra":{"a":1}}]}]}}}})",
      R"({"request":{"object":{"spec":{"egressRules":[{"from":[{"workloadSelector":{")" + escaped_text + R"(":")" + escaped_text + R"("}}]}]}}}})",
      // Annotations: only the allocator's marker, however its key is written.
      R"({"request":{"object":{"metadata":{"annotations":{"asm-egress-webhook\/port-allocation":"auto","other":"x","asm-egress-webhook/port-allocation-x":"y"}}}}})",
      R"({"request":{"object":{"metadata":{"annotations":{"asm-egress-webhook/port-allocation":{"a":[1]},"kubectl.kubernetes.io/last-applied-configuration":")" + escaped_text + R"("}}}}})",
      // Keys longer than any kept, in parts, at every filtered level.
      R"({"request":{"object":{"metadata":{"n\u0061me":"n","asm-egress-webhook\/port-allocation-and-more":1,"annotations":{"asm-egress-webhook\/port-allocationX":"auto"}},"spec\u0000":{},"sp\u0065c":{"egressRules":[{"t\u006f":[{"hosts\u0041":[1]}]}]}}}})",
      R"({"request":{"object":{")" + escaped_text + R"(":[1],"spec":{")" + escaped_text + R"(":{"a":1},"egressRules":[{")" + escaped_text + R"(":1,"to":[{")" + escaped_text + R"(":2}]}]}}}})",
      // Duplicate members read, of different kinds: the DOM keeps the last.
      R"({"request":{"kind":[1],"kind":{"group":"g","kind":"k","version":"v"},"uid":"u"}})",
      R"({"request":{"kind":{"group":"g","kind":"k"},"kind":[1,2],"uid":"u"}})",
      R"({"request":{"object":{"spec":{"egressRules":[{"from":[{"namespace":"a"}],"from":{"x":1},"to":[{}],"to":[{},{}]}]},"spec":{"egressRules":[{"to":[{"name":"x"}]}]}}}})",
      // Whether the object is being deleted: kept, of any type.
      R"({"request":{"object":{"metadata":{"deletionTimestamp":"2024-05-01T10:00:00Z","name":"n"}},"oldObject":{"metadata":{"deletionTimestamp":{"t":[1]},"finalizers":["f"]}}}})",
      // Unknown members at every level, of every shape.
      R"({"request":{"object":{"status":{"message":"ok"},"metadata":{"labels":{"a":"b"},"finalizers":["f"],"name":"n"},"spec":{"extra":[[{}]],"byEgressGateway":{"name":"g","other":{}},"egressRules":[{"description":"d","from":[{"ns":1}],"to":[{"comment":"c","port":{"targetPort":1}}]}]}}}})",
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

// decode_policy reads at most kMaxDecodedItems rules, sources and
// destinations, and stops at the first past it: the value keeps those it
// reads and the one it stops at, in every order the lists can come in.
TEST(ReviewParser, CutsListsPastTheItemBudgetAsDecodingReadsThem) {
  auto items = [](std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += i == 0 ? R"({"name":"a"})" : R"(,{"name":"a"})";
    return "[" + out + "]";
  };
  auto review = [](const std::string& rules) {
    return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"group":"istio.alibabacloud.com","kind":"ASMEgressTrafficPolicy"},"object":{"spec":{"egressRules":)" +
           rules + "}}}}";
  };
  const std::size_t b = kMaxDecodedItems;
  const std::vector<std::string> cases = {
      // One rule: destinations that fit, that reach the budget, that pass it.
      review(R"([{"to":)" + items(b - 1) + "}]"),
      review(R"([{"to":)" + items(b) + "}]"),
      review(R"([{"to":)" + items(b + 5) + "}]"),
      // Sources first or last in the text: decoding reads them first.
      review(R"([{"from":)" + items(b / 2) + R"(,"to":)" + items(b / 2 + 3) + "}]"),
      review(R"([{"to":)" + items(b / 2 + 3) + R"(,"from":)" + items(b / 2) + "}]"),
      review(R"([{"to":)" + items(10) + R"(,"from":)" + items(b + 3) + "}]"),
      // The budget ends exactly at a rule's end, or inside the next rule.
      review(R"([{"to":)" + items(b - 1) + R"(},{"to":[{}]},{"to":[{}]}])"),
      review(R"([{"from":)" + items(b - 2) + R"(},{"to":[{},{}],"from":[{}]},{"name":"r"}])"),
      // Rules alone, and rules of every type past the budget.
      review(items(b + 2)),
      review("[" + items(b - 1).substr(1, items(b - 1).size() - 2) + R"(,1,"x",[{"to":[{}]}],{"to":[{}]}])"),
      // Duplicate lists: the last one counts.
      review(R"([{"to":)" + items(b) + R"(,"to":[{}]},{"to":)" + items(10) + "}]"),
      review(R"([{"to":[{}],"to":)" + items(b) + R"(},{"to":)" + items(10) + "}]"),
      review(R"([{"from":)" + items(b) + R"(,"from":{"x":1}},{"to":)" + items(10) + "}]"),
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(agrees(cases[i]));
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
