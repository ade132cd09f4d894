// Ratcheting (policy/ratchet.h, policy/README.md "Ratcheting"): on UPDATE an
// error the old object already had comes back as a warning and does not
// deny; only the errors the update introduces deny. One table row per case
// an operator meets on a cluster that already holds policies; every row is
// answered by /validate on the review as the API server sends it (objects
// decoded as they are read), on the same review with the objects built as
// values, and by validate_policy, and all three must agree.

#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/ratchet.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

const std::string kTo0 = "spec.egressRules[0].to[0]";
const std::string kTo1 = "spec.egressRules[0].to[1]";
constexpr const char* kAlready = "already invalid before this update";

// explicit-ports.json with to[1] on FTP: stored before the webhook was.
json with_ftp() {
  return edited(load_json(kExplicitPorts),
                {op_add("/spec/egressRules/0/to/1/port/protocol", "FTP")});
}

json deleting(json object) {
  object["metadata"]["deletionTimestamp"] = "2024-05-01T10:00:00Z";
  return object;
}

struct RatchetCase {
  std::string name;
  json old_object;
  json object;
  std::vector<Err> denied;     // the causes of the denial; empty: allowed
  std::vector<Err> unchanged;  // come back as warnings
  std::string operation = "UPDATE";
};

std::vector<RatchetCase> ratchet_cases() {
  const Err ftp{ErrorType::NotSupported, kTo1 + ".port.protocol"};
  json finalized = deleting(with_ftp());
  finalized["metadata"]["finalizers"] = json::array({"example.com/cleanup"});
  json released = deleting(with_ftp());
  released["metadata"]["finalizers"] = json::array();

  json labelled = with_ftp();
  labelled["metadata"]["labels"] = {{"team", "payments"}};

  json added = with_ftp();
  added["spec"]["egressRules"][0]["to"].push_back(
      make_entry("new-tcp", "TCP", {"10.0.0.9"}, 6379, json{{"port", 10003}}));

  json inserted = with_ftp();
  auto& to = inserted["spec"]["egressRules"][0]["to"];
  to.insert(to.begin(), make_entry("new-http", "HTTP", {"new.example.com"}, 80,
                                   json{{"port", 10000}}));

  const json typed =
      edited(with_ftp(), {op_replace("/spec/egressRules/0/to/0/port/number", "80")});
  json typed_labelled = typed;
  typed_labelled["metadata"]["labels"] = {{"team", "payments"}};

  json misnamed = load_json(kExplicitPorts);
  misnamed["metadata"]["name"] = "egress-by-other";
  json misnamed_labelled = misnamed;
  misnamed_labelled["metadata"]["labels"] = {{"team", "payments"}};

  return {
      {"FinalizerRemovedFromAnObjectBeingDeleted", finalized, released, {}, {ftp}},
      {"Label", with_ftp(), labelled, {}, {ftp}},
      {"AddedValidEntry", with_ftp(), added, {}, {ftp}},
      {"UnchangedErrorNextToANewOne", with_ftp(),
       edited(with_ftp(), {op_replace("/spec/egressRules/0/to/0/hosts/0", "Bad_Host")}),
       {{ErrorType::Invalid, kTo0 + ".hosts[0]"}}, {ftp}},
      {"SameFieldChangedToAnotherBadValue", with_ftp(),
       edited(with_ftp(), {op_replace("/spec/egressRules/0/to/1/port/protocol", "SMTP")}),
       {ftp}, {}},
      {"ErrorFixed", with_ftp(), load_json(kExplicitPorts), {}, {}},
      {"NewErrorOnAValidObject", load_json(kExplicitPorts), with_ftp(), {ftp}, {}},
      // The case ratcheting cannot tell: an entry inserted before the bad one
      // moves it to another path, so its error counts as new.
      {"EntryInsertedBeforeShiftsThePath", with_ftp(), inserted,
       {{ErrorType::NotSupported, "spec.egressRules[0].to[2].port.protocol"}}, {}},
      // A type error keeps the old object from being decoded as it is read:
      // it is built as a value, and its errors are the same.
      {"TypeErrorUnchanged", typed, typed_labelled, {}, {{ErrorType::Invalid, kTo0 + ".port.number"}, ftp}},
      {"StoredUnderAnotherNameLabelled", misnamed, misnamed_labelled, {},
       {{ErrorType::Invalid, "metadata.name"}}},
      {"CreateIsUnchanged", with_ftp(), with_ftp(), {ftp}, {}, "CREATE"},
  };
}

// The review as the API server sends it, and the same with the objects'
// strings escaped, which keeps them from being decoded as they are read.
std::string review_text(const RatchetCase& c, bool escaped) {
  ReviewSpec spec;
  spec.operation = c.operation;
  spec.object = c.object;
  spec.old_object = c.old_object;
  std::string text = make_review(spec).dump();
  if (escaped) {
    const std::string plain = "\"istio-egress\"";
    for (auto at = text.find(plain); at != std::string::npos; at = text.find(plain, at)) {
      text.replace(at, plain.size(), "\"istio\\u002degress\"");
    }
  }
  return text;
}

std::vector<Err> causes_of(const json& response) {
  std::vector<Err> out;
  if (!response.contains("status")) return out;
  for (const auto& c : response.at("status").at("details").at("causes")) {
    const std::string reason = c.at("reason");
    ErrorType type = ErrorType::Internal;
    for (const ErrorType t : {ErrorType::Required, ErrorType::Invalid, ErrorType::NotSupported,
                              ErrorType::Duplicate, ErrorType::Forbidden, ErrorType::TooLong,
                              ErrorType::TooMany}) {
      if (FieldError{t, "", std::nullopt, ""}.cause_type() == reason) type = t;
    }
    out.push_back({type, c.at("field")});
  }
  return out;
}

// The fields the warnings say were already wrong, in order.
std::vector<std::string> already_wrong(const std::vector<std::string>& warnings) {
  std::vector<std::string> fields;
  for (const auto& w : warnings) {
    const auto at = w.find(std::string(": ") + kAlready);
    if (at != std::string::npos) fields.push_back(w.substr(0, at));
  }
  return fields;
}

std::vector<std::string> fields_of(const std::vector<Err>& errs) {
  std::vector<std::string> out;
  for (const auto& e : errs) out.push_back(e.field);
  return out;
}

void PrintTo(const RatchetCase& c, std::ostream* os) { *os << c.name; }

class Ratcheting : public ::testing::TestWithParam<RatchetCase> {};

TEST_P(Ratcheting, OnlyNewErrorsDeny) {
  const RatchetCase& c = GetParam();
  for (const bool escaped : {false, true}) {
    SCOPED_TRACE(escaped ? "objects built as values" : "objects decoded as read");
    const ReviewOutcome out =
        answer_review(review_text(c, escaped), WebhookKind::Validating, Settings{});
    const json response = parse_answer(out).at("response");
    EXPECT_EQ(response.at("allowed"), c.denied.empty()) << response.dump(2);
    EXPECT_THAT(causes_of(response), UnorderedElementsAreArray(c.denied)) << response.dump(2);
    if (!c.denied.empty()) {
      // The message names the new errors only.
      const std::string message = response.at("status").at("message");
      for (const auto& e : c.unchanged) EXPECT_THAT(message, ::testing::Not(HasSubstr(e.field)));
      for (const auto& e : c.denied) EXPECT_THAT(message, HasSubstr(e.field));
    }
    std::vector<std::string> warnings;
    if (response.contains("warnings")) warnings = response.at("warnings");
    EXPECT_EQ(already_wrong(warnings), fields_of(c.unchanged)) << response.dump(2);
    for (const auto& w : warnings) EXPECT_LE(w.size(), 120U) << w;
    EXPECT_EQ(out.summary.unchanged_errors, c.unchanged.size());
    EXPECT_EQ(out.summary.errors, c.denied.size());
  }

  const boost::json::value object = to_boost(c.object);
  const boost::json::value old = to_boost(c.old_object);
  const ValidationResult v = validate_policy(
      object, &old, c.operation == "UPDATE" ? Operation::Update : Operation::Create, Settings{});
  EXPECT_EQ(v.allowed, c.denied.empty());
  EXPECT_THAT(errs_of(v.errors), UnorderedElementsAreArray(c.denied)) << describe(v.errors);
  EXPECT_THAT(errs_of(v.unchanged), UnorderedElementsAreArray(c.unchanged)) << describe(v.unchanged);
  EXPECT_EQ(already_wrong(v.warnings), fields_of(c.unchanged));
}

INSTANTIATE_TEST_SUITE_P(Validation, Ratcheting, ::testing::ValuesIn(ratchet_cases()),
                         [](const ::testing::TestParamInfo<RatchetCase>& p) { return p.param.name; });

TEST(Ratcheting, ValidUpdateOfAnInvalidObjectHasNoRatchetWarnings) {
  RatchetCase c{"", with_ftp(), load_json(kExplicitPorts), {}, {}};
  const json response =
      parse_answer(answer_review(review_text(c, false), WebhookKind::Validating, Settings{}))
          .at("response");
  EXPECT_EQ(response.at("allowed"), true);
  EXPECT_FALSE(response.contains("warnings")) << response.dump();
}

TEST(Ratcheting, WithoutAnOldObjectEveryErrorDenies) {
  // An UPDATE without oldObject is not one the API server sends; nothing to
  // ratchet against.
  ReviewSpec spec;
  spec.operation = "UPDATE";
  spec.object = with_ftp();
  const json response =
      parse_answer(answer_review(make_review(spec).dump(), WebhookKind::Validating, Settings{}))
          .at("response");
  EXPECT_EQ(response.at("allowed"), false);
}

TEST(Ratcheting, AnOldObjectOfTheWrongTypeRatchetsNothing) {
  for (const json& old : {json("policy"), json(42), json::array()}) {
    ReviewSpec spec;
    spec.operation = "UPDATE";
    spec.object = with_ftp();
    spec.old_object = old;
    const ReviewOutcome out =
        answer_review(make_review(spec).dump(), WebhookKind::Validating, Settings{});
    EXPECT_EQ(parse_answer(out).at("response").at("allowed"), false) << old.dump();
  }
}

// --- ratchet() on error values ----------------------------------------------

FieldError error(ErrorType type, std::string field, std::optional<std::string> value,
                 std::string detail) {
  return {type, std::move(field), std::move(value), std::move(detail)};
}

TEST(Ratchet, AnErrorIsTheOldOneOnlyWhenEverythingIsTheSame) {
  const FieldError old = error(ErrorType::NotSupported, "spec.x", "\"FTP\"", "supported: HTTP");
  struct Case {
    std::string name;
    FieldError error;
    bool unchanged;
  };
  for (const Case& c : std::vector<Case>{
           {"same", old, true},
           {"other field", error(ErrorType::NotSupported, "spec.y", "\"FTP\"", "supported: HTTP"), false},
           {"other type", error(ErrorType::Invalid, "spec.x", "\"FTP\"", "supported: HTTP"), false},
           {"other value", error(ErrorType::NotSupported, "spec.x", "\"SMTP\"", "supported: HTTP"), false},
           {"no value", error(ErrorType::NotSupported, "spec.x", std::nullopt, "supported: HTTP"), false},
           {"other detail", error(ErrorType::NotSupported, "spec.x", "\"FTP\"", "supported: TCP"), false},
           // The parts are told apart by their lengths, not by a separator.
           {"moved boundary", error(ErrorType::NotSupported, "spec.x\"", "FTP\"", "supported: HTTP"), false},
       }) {
    FieldErrors errors{c.error};
    FieldErrors unchanged;
    ratchet(errors, {old}, unchanged);
    EXPECT_EQ(unchanged.size(), c.unchanged ? 1U : 0U) << c.name;
    EXPECT_EQ(errors.size(), c.unchanged ? 0U : 1U) << c.name;
  }
}

TEST(Ratchet, EachOldErrorMatchesOneNewErrorAndOrderIsKept) {
  const FieldError a = error(ErrorType::Required, "spec.a", std::nullopt, "");
  const FieldError b = error(ErrorType::Required, "spec.b", std::nullopt, "");
  const FieldError c = error(ErrorType::Required, "spec.c", std::nullopt, "");
  FieldErrors errors{c, a, b, a};
  FieldErrors unchanged;
  ratchet(errors, {a, b}, unchanged);
  EXPECT_THAT(errs_of(errors), ::testing::ElementsAre(Err{ErrorType::Required, "spec.c"},
                                                      Err{ErrorType::Required, "spec.a"}));
  EXPECT_THAT(errs_of(unchanged), ::testing::ElementsAre(Err{ErrorType::Required, "spec.a"},
                                                         Err{ErrorType::Required, "spec.b"}));
}

// Past the first errors an object keeps, errors are only counted (so that a
// review of thousands of bad entries costs no message for each): those are
// taken for old ones only when the old object had as many uncounted.
TEST(Ratchet, UncountedErrorsRatchetOnlyWhenTheOldObjectHadAsMany) {
  const FieldError a = error(ErrorType::Required, "spec.a", std::nullopt, "");
  for (const auto& [new_uncounted, old_uncounted, ratcheted] :
       {std::tuple{5U, 5U, true}, std::tuple{5U, 9U, true}, std::tuple{6U, 5U, false}}) {
    FieldErrors errors{a};
    errors.set_omitted(new_uncounted);
    FieldErrors old{a};
    old.set_omitted(old_uncounted);
    FieldErrors unchanged;
    ratchet(errors, old, unchanged);
    if (ratcheted) {
      EXPECT_TRUE(errors.empty()) << new_uncounted << " against " << old_uncounted;
      EXPECT_EQ(errors.reported(), 0U);
      EXPECT_EQ(unchanged.reported(), 1U + new_uncounted);
    } else {
      EXPECT_EQ(errors.reported(), 1U + new_uncounted) << "nothing ratcheted";
      EXPECT_TRUE(unchanged.empty());
    }
  }
}

TEST(Ratchet, LinearInTheNumberOfErrors) {
  // Compared pairwise, 200,000 errors against as many would take some
  // 4e10 comparisons, far beyond the suite's timeout; hashed, a moment.
  constexpr std::size_t kErrors = 200000;
  FieldErrors errors;
  FieldErrors old;
  errors.reserve(kErrors);
  old.reserve(kErrors);
  for (std::size_t i = 0; i < kErrors; ++i) {
    const std::string field = "spec.egressRules[0].to[" + std::to_string(i) + "].name";
    errors.push_back(error(ErrorType::Required, field, std::nullopt, ""));
    // Every other one was there before, in the reverse order.
    if (i % 2 == 0) {
      old.push_back(error(ErrorType::Required,
                          "spec.egressRules[0].to[" + std::to_string(kErrors - 2 - i) + "].name",
                          std::nullopt, ""));
    }
  }
  FieldErrors unchanged;
  const auto started = std::chrono::steady_clock::now();
  ratchet(errors, old, unchanged);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(unchanged.size(), kErrors / 2);
  EXPECT_EQ(errors.size(), kErrors / 2);
  EXPECT_LT(took, std::chrono::seconds(20));
}

}  // namespace
}  // namespace asmegress::policy::test
