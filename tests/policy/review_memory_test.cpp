// The memory cap of one review (Settings::max_review_memory): past it the
// answer says the review is too large, naming the limit; at it, the answer is
// the one an unlimited engine gives. Peak heap use per hostile shape is
// measured in allocation_count_test.cpp, which owns operator new.

#include <cstddef>
#include <iostream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/admission.h"
#include "tests/policy/review_shapes.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

using ::testing::HasSubstr;

ReviewOutcome answer_with_cap(const std::string& body, WebhookKind webhook, std::size_t cap) {
  Settings settings;
  settings.max_review_memory = cap;
  return answer_review(body, webhook, settings);
}

// The smallest cap at which the review is answered rather than refused.
std::size_t smallest_cap(const std::string& body, WebhookKind webhook) {
  std::size_t low = 0;  // refused at or below, unless 0 answers
  std::size_t high = kDefaultMaxReviewMemory;
  if (!answer_with_cap(body, webhook, 0).too_large) return 0;
  EXPECT_FALSE(answer_with_cap(body, webhook, high).too_large) << "not answered at the default";
  while (high - low > 1) {
    const std::size_t mid = low + (high - low) / 2;
    if (answer_with_cap(body, webhook, mid).too_large) {
      low = mid;
    } else {
      high = mid;
    }
  }
  return high;
}

struct Review {
  std::string name;
  std::string body;
};

std::vector<Review> reviews() {
  const std::size_t n = 100;
  return {
      {"create_decoded_as_read", shapes::review("CREATE", shapes::stored_policy(n, false))},
      {"create_with_a_type_error", shapes::review("CREATE", shapes::stored_policy(n, true))},
      {"update_decoded_as_read",
       shapes::review("UPDATE", shapes::stored_policy(n, false), shapes::stored_policy(n, false))},
      {"update_with_a_type_error",
       shapes::review("UPDATE", shapes::stored_policy(n, true), shapes::stored_policy(n, false))},
      {"shared_ports", shapes::shared_ports(20)},
      {"auto_allocation", shapes::auto_allocation(500)},
  };
}

TEST(ReviewMemory, PastTheCapTheReviewIsTooLargeAndTheAnswerNamesTheLimit) {
  const std::string body = shapes::review("CREATE", shapes::stored_policy(2000, true));
  for (const WebhookKind webhook : {WebhookKind::Mutating, WebhookKind::Validating}) {
    const ReviewOutcome out = answer_with_cap(body, webhook, 65536);
    EXPECT_TRUE(out.too_large);
    EXPECT_FALSE(out.well_formed);
    EXPECT_THAT(out.body, HasSubstr("65536 bytes"));
    EXPECT_THAT(out.body, HasSubstr("--max-review-memory"));
    // Under the default cap the same review is answered.
    const ReviewOutcome answered = answer_review(body, webhook, Settings{});
    EXPECT_FALSE(answered.too_large);
    EXPECT_TRUE(answered.well_formed) << answered.body;
  }
}

// One byte past: the smallest cap that answers a review answers it exactly
// as the default does; one byte less refuses it.
TEST(ReviewMemory, TheSmallestCapThatAnswersGivesTheSameAnswer) {
  for (const Review& r : reviews()) {
    for (const WebhookKind webhook : {WebhookKind::Mutating, WebhookKind::Validating}) {
      SCOPED_TRACE(r.name + (webhook == WebhookKind::Mutating ? " /mutate" : " /validate"));
      ASSERT_TRUE(answer_review(r.body, webhook, Settings{}).well_formed);
      const std::size_t cap = smallest_cap(r.body, webhook);
      ASSERT_GT(cap, 0U) << "the review never left the stack buffer: too small a test";
      const ReviewOutcome at = answer_with_cap(r.body, webhook, cap);
      const ReviewOutcome below = answer_with_cap(r.body, webhook, cap - 1);
      EXPECT_FALSE(at.too_large);
      EXPECT_TRUE(below.too_large);
      EXPECT_EQ(at.body, answer_review(r.body, webhook, Settings{}).body);
      // More room never refuses it.
      for (const std::size_t more : {std::size_t{1}, std::size_t{4096}, std::size_t{1} << 20}) {
        EXPECT_FALSE(answer_with_cap(r.body, webhook, cap + more).too_large) << more;
      }
      std::cout << "[ measured ] " << r.name
                << (webhook == WebhookKind::Mutating ? " /mutate" : " /validate") << ": "
                << r.body.size() << " bytes, smallest cap " << cap << "\n";
    }
  }
}

// A review is first decoded as it is read; a type error sends it to a second
// parse that builds the object. The first parse's memory is given back before
// the second, so a type error in the last entry (the first parse decoded all
// the rest) needs no more memory than one in the first entry.
TEST(ReviewMemory, AReviewThatFallsBackIsNotHeldTwice) {
  const std::size_t n = 500;
  std::string last = shapes::stored_policy(n, false);
  std::string first = last;
  const auto type_error = [](std::string& object, std::size_t at, std::size_t size) {
    object.replace(at, size, R"("number":"80")");
  };
  type_error(first, first.find(R"("number":80,)"), 11);  // the first entry is HTTP
  type_error(last, last.rfind(R"("number":443,)"), 12);  // the last is HTTPS
  ASSERT_NE(first, last);
  for (const WebhookKind webhook : {WebhookKind::Mutating, WebhookKind::Validating}) {
    ASSERT_TRUE(answer_review(shapes::review("CREATE", first), webhook, Settings{}).well_formed);
    ASSERT_TRUE(answer_review(shapes::review("CREATE", last), webhook, Settings{}).well_formed);
    const std::size_t when_first = smallest_cap(shapes::review("CREATE", first), webhook);
    const std::size_t when_last = smallest_cap(shapes::review("CREATE", last), webhook);
    EXPECT_LE(when_last, when_first + when_first / 20)
        << "first " << when_first << ", last " << when_last;
  }
}

// An UPDATE whose new object has a type error: only that object is built
// for decode_policy; the stored one is decoded as it is read, again.
TEST(ReviewMemory, OnlyTheObjectThatDoesNotDecodeAsReadIsBuilt) {
  const std::size_t n = 500;
  const std::string good = shapes::stored_policy(n, false);
  const std::string bad = shapes::stored_policy(n, true);
  const std::string one_bad = shapes::review("UPDATE", bad, good);
  const std::string both_bad = shapes::review("UPDATE", bad, bad);
  const std::size_t one = smallest_cap(one_bad, WebhookKind::Mutating);
  const std::size_t both = smallest_cap(both_bad, WebhookKind::Mutating);
  EXPECT_LT(one, both - both / 5) << "one " << one << ", both " << both;
  // And the answer is the one mutate_policy gives on the whole objects.
  const boost::json::value review = boost::json::parse(one_bad);
  const ReviewOutcome out = answer_review(one_bad, WebhookKind::Mutating, {});
  ASSERT_TRUE(out.well_formed) << out.body.substr(0, 300);
  const MutationResult want =
      mutate_policy(review.at("request").at("object"), &review.at("request").at("oldObject"), {});
  EXPECT_EQ(out.summary.allowed, want.errors.empty());
  EXPECT_EQ(out.summary.ports_allocated, want.ports_allocated);
}

// Names of megabytes: not copied whole into the summary and the answer (a
// denial names the object twice), but cut past the 253 characters a
// Kubernetes name may have, on a character's boundary.
TEST(ReviewMemory, LongNamesAreCutWhereTheyAreRepeated) {
  const std::string name = std::string(252, 'a') + "\u00e9" + std::string(1 << 20, 'b');
  std::string object = shapes::stored_policy(3, false);
  object.replace(object.find("egress-by-egressgateway-a"), 25, name);
  std::string body = shapes::review("CREATE", object);
  body.replace(body.find(R"("name":"egress-by-egressgateway-a")"), 34, R"("name":"")");
  body.replace(body.find(R"("namespace":"istio-egress")"), 26, R"("namespace":")" + name + '"');
  const ReviewOutcome out = answer_review(body, WebhookKind::Validating, {});
  ASSERT_TRUE(out.well_formed) << out.body.substr(0, 300);
  EXPECT_FALSE(out.summary.allowed);
  EXPECT_EQ(out.summary.name, std::string(252, 'a') + "...");
  EXPECT_EQ(out.summary.namespace_name, std::string(252, 'a') + "...");
  EXPECT_LT(out.body.size(), 16U * 1024);
  boost::json::error_code ec;
  const boost::json::value answer = boost::json::parse(out.body, ec);
  ASSERT_FALSE(ec) << "the cut left a broken character";
  EXPECT_EQ(answer.at("response").at("status").at("details").at("name").as_string(), out.summary.name);
}

// The largest body the server takes, in shapes meant to make the engine
// build or keep what it does not need: each answered in the right words, or
// refused as too large, never more.
TEST(ReviewMemory, HostileShapesOfTheLargestBodyAreAnsweredOrRefused) {
  struct Case {
    std::string name;
    std::string body;
    std::string mutate;    // "allowed", "413", or the start of a 400 message
    std::string validate;  // the same, or a text the denial holds
  };
  const std::vector<Case> cases = {
      {"3.6M zeros in request.kind", shapes::kind_zeros(shapes::kMaxBody),
       "request.kind: required; must be an object", "request.kind: required; must be an object"},
      {"2M empty hosts", shapes::empty_hosts(shapes::kMaxBody), "allowed",
       R"(spec.egressRules[0].to[0].hosts: Too many: 2446)"},
      {"2M {} destinations", shapes::empty_destinations(shapes::kMaxBody), "allowed",
       "the policy may hold at most 20000 rules, sources and destinations in all"},
      {"500k labels", shapes::many_labels(shapes::kMaxBody), "413", "413"},
      {"a huge unknown array and a type error", shapes::unknown_array(shapes::kMaxBody), "allowed",
       // One error, not in brackets: nothing of the array is read.
       "is invalid: spec.egressRules[0].to[0].port.number: Invalid value: "},
      {"deep nesting", shapes::deep_nesting(shapes::kMaxBody), "allowed", "more errors not shown"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_LE(c.body.size(), shapes::kMaxBody);
    ASSERT_GT(c.body.size(), shapes::kMaxBody - 2000);
    for (const WebhookKind webhook : {WebhookKind::Mutating, WebhookKind::Validating}) {
      const std::string& want = webhook == WebhookKind::Mutating ? c.mutate : c.validate;
      const ReviewOutcome out = answer_review(c.body, webhook, {});
      if (want == "413") {
        EXPECT_TRUE(out.too_large) << out.body.substr(0, 300);
      } else if (want == "allowed") {
        EXPECT_TRUE(out.well_formed && out.summary.allowed) << out.body.substr(0, 300);
      } else if (out.well_formed) {
        EXPECT_FALSE(out.summary.allowed);
        EXPECT_THAT(out.body, HasSubstr(want)) << out.body.substr(0, 2000);
        EXPECT_LT(out.body.size(), 64U * 1024);
      } else {
        EXPECT_FALSE(out.too_large);
        EXPECT_THAT(out.body, ::testing::StartsWith(want));
      }
    }
  }
}

}  // namespace
}  // namespace asmegress::policy::test
