// PolicyStream against decode_policy on the whole DOM: whenever the stream
// decodes an object, decode_policy finds no error in it and gives the same
// Policy, field for field (policy_text.h); the rest of the review is the value
// parse_review builds without streaming, minus the streamed members. The
// stream must also be taken for the policies the API server really sends.

#include "policy/policy_stream.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "policy/decode.h"
#include "policy/review_parser.h"
#include "tests/policy/policy_text.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

namespace bj = boost::json;
using asmegress::policy::testing::policy_text;

constexpr std::size_t kDepth = 64;

struct Outcome {
  bool agrees = true;
  bool object_streamed = false;
  bool old_object_streamed = false;
};

bool streamed(const std::optional<PolicyStream>& s) {
  return s && s->done() && !s->failed();
}

// Checks one streamed member against decode_policy on the DOM's.
bool member_agrees(const std::optional<PolicyStream>& stream, const bj::value& whole,
                   std::string_view key, std::string_view text) {
  if (!streamed(stream)) return true;
  const bj::value* member = nullptr;
  if (const bj::object* review = whole.if_object()) {
    if (const bj::value* request = review->if_contains("request")) {
      if (const bj::object* r = request->if_object()) member = r->if_contains(key);
    }
  }
  if (member == nullptr) {
    ADD_FAILURE() << key << " streamed but not in the DOM: " << text;
    return false;
  }
  if (stream->absent()) {
    EXPECT_TRUE(member->is_null()) << key << " absent from the stream: " << text;
    return member->is_null();
  }
  const DecodedPolicy decoded = decode_policy(*member);
  EXPECT_TRUE(decoded.errors.empty())
      << key << " streamed, but decode_policy finds " << decoded.errors.front().message() << "\n"
      << text;
  const std::string got = policy_text(const_cast<PolicyStream&>(*stream).policy());
  const std::string want = policy_text(decoded.policy);
  EXPECT_EQ(got, want) << key << ": " << text;
  return decoded.errors.empty() && got == want;
}

Outcome check(std::string_view text, OldObject old_mode = OldObject::Build) {
  Outcome out;
  const ParsedReview got = parse_review(text, {}, kDepth, old_mode, Objects::Stream);
  const ParsedReview built = parse_review(text, {}, kDepth, old_mode, Objects::Build);
  EXPECT_EQ(got.error, built.error) << text;
  EXPECT_EQ(got.consumed, built.consumed) << text;
  if (got.error != built.error || got.consumed != built.consumed) out.agrees = false;
  if (got.error) return out;

  // The review without the streamed members.
  bj::value rest = built.value;
  if (bj::object* review = rest.if_object()) {
    if (bj::value* request = review->if_contains("request")) {
      if (bj::object* r = request->if_object()) {
        r->erase("object");
        r->erase("oldObject");
      }
    }
  }
  EXPECT_EQ(bj::serialize(got.value), bj::serialize(rest)) << text;
  if (bj::serialize(got.value) != bj::serialize(rest)) out.agrees = false;
  if (old_mode == OldObject::Skip) {
    EXPECT_FALSE(got.old_object.has_value()) << text;
  }

  bj::parse_options options;
  options.max_depth = kDepth;
  const bj::value whole = bj::parse(text, {}, options);
  out.agrees = member_agrees(got.object, whole, "object", text) && out.agrees;
  out.agrees = member_agrees(got.old_object, whole, "oldObject", text) && out.agrees;
  out.object_streamed = streamed(got.object) && !got.object->absent();
  out.old_object_streamed = streamed(got.old_object) && !got.old_object->absent();
  return out;
}

std::string compact(std::string_view text) { return bj::serialize(bj::parse(text)); }

std::string review_around(const std::string& object, const std::string& old_object = "null") {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)"
         R"("uid":"u-1","kind":{"group":"istio.alibabacloud.com","version":"v1beta1","kind":"ASMEgressTrafficPolicy"},)"
         R"("operation":"UPDATE","object":)" + object + R"(,"oldObject":)" + old_object +
         R"(,"dryRun":false}})";
}

TEST(PolicyStream, DecodesTheReviewsTheApiServerSends) {
  for (const char* fixture : {kReviewCreateAutoPorts, "review-update-managed-fields.json"}) {
    SCOPED_TRACE(fixture);
    const std::string text = read_testdata(fixture);
    for (const std::string& form : {text, compact(text)}) {
      const Outcome o = check(form);
      EXPECT_TRUE(o.agrees);
      EXPECT_TRUE(o.object_streamed) << "the stream gave up on a valid policy";
      EXPECT_TRUE(check(form, OldObject::Skip).agrees);
    }
  }
  const Outcome update = check(compact(read_testdata("review-update-managed-fields.json")));
  EXPECT_TRUE(update.old_object_streamed);
}

TEST(PolicyStream, DecodesEveryValidPolicyFixture) {
  for (const char* fixture : {kSeedAutoPorts, kSeedHttp, kSeedHttpsUpgrade, kExplicitPorts}) {
    SCOPED_TRACE(fixture);
    const std::string object = compact(read_testdata(fixture));
    const Outcome o = check(review_around(object, object));
    EXPECT_TRUE(o.agrees);
    EXPECT_TRUE(o.object_streamed);
    EXPECT_TRUE(o.old_object_streamed);
  }
  // Type errors are decode_policy's to report.
  const Outcome errors = check(review_around(compact(read_testdata(kManyErrors))));
  EXPECT_TRUE(errors.agrees);
}

TEST(PolicyStream, AgreesOnEdgeCases) {
  struct Case {
    std::string object;
    bool streams;
  };
  const std::string dest = R"({"name":"d","hosts":["a.example.com"],"port":{"name":"p","number":443,"protocol":"HTTPS"})";
  auto policy = [](const std::string& to, const std::string& metadata = R"({"name":"egress-by-egressgateway-a","namespace":"istio-system"})") {
    return R"({"apiVersion":"istio.alibabacloud.com/v1beta1","kind":"ASMEgressTrafficPolicy","metadata":)" +
           metadata +
           R"(,"spec":{"byEgressGateway":{"name":"egressgateway-a"},"egressRules":[{"name":"r","from":[{"namespace":"default","workloadSelector":{"app":"sleep"}}],"to":[)" +
           to + "]}]}}";
  };
  const std::vector<Case> cases = {
      // The forms of a blank gateway port, and of metadata and annotations,
      // that the patch tells apart.
      {policy(dest + "}"), true},
      {policy(dest + R"(,"byEgressGateway":null})"), true},
      {policy(dest + R"(,"byEgressGateway":{}})"), true},
      {policy(dest + R"(,"byEgressGateway":{"port":null}})"), true},
      {policy(dest + R"(,"byEgressGateway":{"port":0}})"), true},
      {policy(dest + R"(,"byEgressGateway":{"port":10001}})"), true},
      {policy(dest + "}", "null"), true},
      {policy(dest + "}", R"({"name":"n","annotations":null})"), true},
      {policy(dest + "}", R"({"name":"n","annotations":{"asm-egress-webhook/port-allocation":"auto"}})"), true},
      {policy(dest + "}", R"({"name":"n","annotations":{"asm-egress-webhook/port-allocation":"manual","b":{"c":[1]}}})"), true},
      {policy(dest + "}", R"({"name":"n","annotations":{"asm-egress-webhook/port-allocation":null}})"), true},
      {policy(dest + "}", R"({"name":"n","annotations":{"asm-egress-webhook/port-allocation":{"x":1}}})"), true},
      // A key written with escapes reaches the stream in parts: the DOM
      // decides.
      {policy(dest + "}", R"({"name":"n","annotations":{"asm-egress-webhook\/port-allocation":"auto"}})"), false},
      {policy(dest + "}", R"({"name":"n","annotations":{"asm-egress-webhook/port-allocation":"auto","asm-egress-webhook/port-allocation":"x"}})"), false},
      {R"({"spec":{"egressRules":[]},"metadata":{"name":"n"}})", true},
      {R"({"spec":null,"metadata":{"generateName":"g-"},"kind":null,"apiVersion":null})", true},
      {"{}", true},
      // Unknown members of every shape are skipped.
      {R"({"status":{"a":[1,2.5,-3,18446744073709551615,1e400,true,null,"x\n",{"b":[]}]},"spec":{"x":[[{}]],"egressRules":[{"y":{"z":1},"to":[{"q":[1],"name":"d","port":{"w":2.5,"number":80}}]}]}})", true},
      // Escaped keys and escaped strings that would be kept go to
      // decode_policy; escapes in what is skipped do not.
      {R"({"metadata":{"n\u0061me":"n"},"spec":{"egressRules":[{"n\u0061me":"r"}]}})", false},
      {R"({"metadata":{"name":"n\u0061"}})", false},
      {R"({"metadata":{"name":"n","x":"\u0061\n"}})", true},
      // Duplicate keys read: decode_policy keeps the last.
      {R"({"metadata":{"name":"a","name":"b"}})", false},
      {R"({"spec":{"egressRules":[{"name":"a","x":1,"name":"b"}]}})", false},
      {R"({"spec":{"egressRules":[{"from":[{"workloadSelector":{"a":"1","a":"2"}}]}]}})", false},
      {R"({"metadata":{"x":1,"x":2}})", true},
      // Type errors.
      {R"({"apiVersion":1})", false},
      {R"({"metadata":[]})", false},
      {R"({"metadata":"m"})", false},
      {R"({"spec":{"egressRules":{}}})", false},
      {R"({"spec":{"egressRules":[null]}})", false},
      {R"({"spec":{"egressRules":[[]]}})", false},
      {R"({"spec":{"egressRules":[{"to":[{"hosts":["a",1]}]}]}})", false},
      {R"({"spec":{"egressRules":[{"to":[{"hosts":[null]}]}]}})", false},
      {R"({"spec":{"egressRules":[{"to":[{"port":{"number":443.0}}]}]}})", false},
      {R"({"spec":{"egressRules":[{"to":[{"port":{"number":"443"}}]}]}})", false},
      {R"({"spec":{"egressRules":[{"to":[{"port":{"number":9223372036854775808}}]}]}})", false},
      {R"({"spec":{"egressRules":[{"to":[{"port":{"number":9223372036854775807}}]}]}})", true},
      {R"({"spec":{"egressRules":[{"to":[{"port":{"number":-1}}]}]}})", true},
      {R"({"spec":{"egressRules":[{"to":[{"httpsUpgrade":{"enabled":"yes"}}]}]}})", false},
      {R"({"spec":{"egressRules":[{"to":[{"httpsUpgrade":{"enabled":false,"port":443}}]}]}})", true},
      {R"({"spec":{"egressRules":[{"from":[{"workloadSelector":{"a":null}}]}]}})", false},
      {R"({"spec":{"egressRules":[{"from":[{"workloadSelector":{"a":1}}]}]}})", false},
      {R"({"spec":{"egressRules":[{"from":null,"to":null}],"byEgressGateway":null}})", true},
      {R"({"spec":{"byEgressGateway":{"name":"g","port":"p"}}})", false},
      // A deletionTimestamp of any type but null marks a deleting object;
      // twice, the DOM decides.
      {R"({"metadata":{"name":"n","deletionTimestamp":"2024-05-01T10:00:00Z"}})", true},
      {R"({"metadata":{"name":"n","deletionTimestamp":null}})", true},
      {R"({"metadata":{"deletionTimestamp":{"s":[1]},"name":"n"}})", true},
      {R"({"metadata":{"deletionTimestamp":[1]}})", true},
      {R"({"metadata":{"deletionTimestamp":17}})", true},
      {R"({"metadata":{"deletionTimestamp":-1.5}})", true},
      {R"({"metadata":{"deletionTimestamp":false}})", true},
      {R"({"metadata":{"deletionTimestamp":18446744073709551615}})", true},
      {R"({"metadata":{"deletionTimestamp":"2024\u002d05"}})", true},
      {R"({"metadata":{"deletionTimestamp":"a","deletionTimestamp":null}})", false},
      // An escaped spec key is not where the text can say where spec is.
      {R"({"sp\u0065c":{"egressRules":[]}})", false},
      {R"([])", false},
      {R"("text")", false},
      {"12", false},
      {"null", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.object);
    const Outcome o = check(review_around(c.object));
    EXPECT_TRUE(o.agrees);
    EXPECT_EQ(o.object_streamed, c.streams);
  }
}

TEST(PolicyStream, AMemberTwiceGoesToTheDom) {
  const std::string object = compact(read_testdata(kSeedAutoPorts));
  const std::string text =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"metadata":{"name":"first"}},"object":)" +
      object + "}}";
  const Outcome o = check(text);
  EXPECT_TRUE(o.agrees);
  EXPECT_FALSE(o.object_streamed);
}

TEST(PolicyStream, HoldsTheItemBudget) {
  std::string to;
  for (std::size_t i = 0; i < kMaxDecodedItems; ++i) to += i == 0 ? "{}" : ",{}";
  const Outcome at = check(review_around(R"({"spec":{"egressRules":[{"to":[)" + to.substr(3) + "]}]}}"));
  EXPECT_TRUE(at.agrees);
  EXPECT_TRUE(at.object_streamed);  // one rule and kMaxDecodedItems - 1 destinations
  const Outcome over = check(review_around(R"({"spec":{"egressRules":[{"to":[)" + to + "]}]}}"));
  EXPECT_TRUE(over.agrees);
  EXPECT_FALSE(over.object_streamed);
}

// About four thousand reshaped reviews: where the stream decodes, it agrees.
TEST(PolicyStream, AgreesOnOneByteEditsOfTheSeedReview) {
  const std::vector<std::string> edits = one_byte_edits(compact(read_testdata(kReviewCreateAutoPorts)));
  EXPECT_GT(edits.size(), 3000U);
  std::size_t streamed_count = 0;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const Outcome o = check(edits[i]);
    if (!o.agrees || !check(edits[i], OldObject::Skip).agrees) {
      ADD_FAILURE() << "first disagreement at edit " << i;
      return;
    }
    if (o.object_streamed) ++streamed_count;
  }
  // Many edits leave a valid policy (a changed name or host): those stream.
  EXPECT_GT(streamed_count, 500U);
}

}  // namespace
}  // namespace asmegress::policy::test
