// Validation actions (policy/validation_actions.h), named and combined as a
// ValidatingAdmissionPolicyBinding's validationActions, and what each one
// makes of an object's errors.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/validation_actions.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

using ::testing::HasSubstr;

constexpr ValidationActions kDeny{true, false, false};
constexpr ValidationActions kWarn{false, true, false};
constexpr ValidationActions kAudit{false, false, true};
constexpr ValidationActions kWarnAudit{false, true, true};
constexpr ValidationActions kDenyAudit{true, false, true};

std::string text_of(const ValidationActions& a) { return validation_actions_text(a); }

struct ActionsCase {
  std::string name;
  std::string text;
  std::optional<ValidationActions> want;  // nullopt: refused
  std::string mentions;                   // in the refusal
};

std::vector<ActionsCase> actions_cases() {
  return {
      {"deny", "Deny", kDeny, ""},
      {"warn", "Warn", kWarn, ""},
      {"audit", "Audit", kAudit, ""},
      {"warn_audit", "Warn,Audit", kWarnAudit, ""},
      {"audit_warn", "Audit,Warn", kWarnAudit, ""},
      {"deny_audit", "Deny,Audit", kDenyAudit, ""},
      {"spaces", " Warn , Audit ", kWarnAudit, ""},
      {"deny_warn", "Deny,Warn", std::nullopt, "Deny and Warn"},
      {"warn_deny_audit", "Warn,Deny,Audit", std::nullopt, "Deny and Warn"},
      {"empty", "", std::nullopt, "at least one"},
      {"lowercase", "deny", std::nullopt, "supported values"},
      {"unknown", "Enforce", std::nullopt, "\"Enforce\""},
      {"repeated", "Audit,Audit", std::nullopt, "duplicate"},
      {"empty_item", "Deny,,Audit", std::nullopt, "supported values"},
      {"trailing_comma", "Deny,", std::nullopt, "supported values"},
  };
}

void PrintTo(const ActionsCase& c, std::ostream* os) { *os << c.name; }

class ParseValidationActions : public ::testing::TestWithParam<ActionsCase> {};

TEST_P(ParseValidationActions, AsTheApiServerReadsThem) {
  const ActionsCase& c = GetParam();
  ValidationActions got{false, false, false};
  const auto error = parse_validation_actions(c.text, got);
  if (c.want) {
    EXPECT_FALSE(error) << *error;
    EXPECT_EQ(text_of(got), text_of(*c.want));
    // Read back as written.
    ValidationActions again{};
    EXPECT_FALSE(parse_validation_actions(text_of(got), again));
    EXPECT_EQ(again, *c.want);
  } else {
    ASSERT_TRUE(error) << "accepted " << c.text << " as " << text_of(got);
    EXPECT_THAT(*error, HasSubstr(c.mentions));
    EXPECT_EQ(got, (ValidationActions{false, false, false})) << "set despite the refusal";
  }
}

INSTANTIATE_TEST_SUITE_P(
    ValidationActions, ParseValidationActions, ::testing::ValuesIn(actions_cases()),
    [](const ::testing::TestParamInfo<ActionsCase>& p) { return p.param.name; });

TEST(ValidationActions, DefaultIsDeny) {
  EXPECT_EQ(Settings{}.validation_actions, kDeny);
  EXPECT_EQ(text_of(Settings{}.validation_actions), "Deny");
}

FieldErrors some_errors(std::size_t n) {
  FieldErrors errors;
  for (std::size_t i = 0; i < n; ++i) {
    errors.push_back(FieldError::invalid(
        FieldPath("spec").child("egressRules").index(0).child("to").index(i).child("name"),
        std::string_view("Bad_" + std::to_string(i)), "must be a DNS label"));
  }
  return errors;
}

TEST(ValidationActions, NoErrorsMeansNothingWhateverTheActions) {
  for (const ValidationActions& a : {kDeny, kWarn, kAudit, kWarnAudit, kDenyAudit}) {
    const ActionOutcome out = apply_validation_actions(a, {}, {});
    EXPECT_TRUE(out.allowed) << text_of(a);
    EXPECT_TRUE(out.warnings.empty()) << text_of(a);
    EXPECT_TRUE(out.audit_annotations.empty()) << text_of(a);
  }
}

TEST(ValidationActions, DenyRefusesAndSaysNothingMore) {
  const ActionOutcome out = apply_validation_actions(kDeny, some_errors(2), {});
  EXPECT_FALSE(out.allowed);
  EXPECT_TRUE(out.warnings.empty());
  EXPECT_TRUE(out.audit_annotations.empty());
}

TEST(ValidationActions, WarnAllowsWithOneWarningPerErrorFieldFirst) {
  const FieldErrors errors = some_errors(3);
  const ActionOutcome out = apply_validation_actions(kWarn, errors, {});
  EXPECT_TRUE(out.allowed);
  ASSERT_EQ(out.warnings.size(), 3U);
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(out.warnings[i], errors[i].message());
    EXPECT_EQ(out.warnings[i].rfind(errors[i].field + ": ", 0), 0U) << out.warnings[i];
  }
  EXPECT_TRUE(out.audit_annotations.empty());
}

TEST(ValidationActions, AuditAllowsWithTheErrorsAnnotated) {
  const FieldErrors errors = some_errors(2);
  const ActionOutcome out = apply_validation_actions(kAudit, errors, {});
  EXPECT_TRUE(out.allowed);
  EXPECT_TRUE(out.warnings.empty());
  ASSERT_EQ(out.audit_annotations.size(), 1U);
  EXPECT_EQ(out.audit_annotations[0].first, "validation-errors");
  const json annotated = json::parse(out.audit_annotations[0].second);
  ASSERT_EQ(annotated.size(), 2U) << annotated.dump();
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(annotated[i], (json{{"field", errors[i].field},
                                  {"type", "FieldValueInvalid"},
                                  {"message", errors[i].body()}}));
  }
}

TEST(ValidationActions, AuditKeysAreLabelLikeNames) {
  // The API server makes "<webhook name>/<key>" of each key and drops the
  // ones that are not qualified names: a name part of at most 63
  // characters, alphanumerics with '-', '_' or '.' inside.
  const ActionOutcome out = apply_validation_actions(kAudit, some_errors(1), {});
  for (const auto& [key, value] : out.audit_annotations) {
    EXPECT_LE(key.size(), 63U);
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(key.front())) &&
                std::isalnum(static_cast<unsigned char>(key.back())))
        << key;
    for (const char c : key) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
          << key;
    }
  }
}

TEST(ValidationActions, WarnAndAuditTogether) {
  const ActionOutcome out = apply_validation_actions(kWarnAudit, some_errors(2), {});
  EXPECT_TRUE(out.allowed);
  EXPECT_EQ(out.warnings.size(), 2U);
  EXPECT_EQ(out.audit_annotations.size(), 1U);
}

TEST(ValidationActions, DenyAndAuditTogether) {
  const ActionOutcome out = apply_validation_actions(kDenyAudit, some_errors(2), {});
  EXPECT_FALSE(out.allowed);
  EXPECT_TRUE(out.warnings.empty());
  EXPECT_EQ(out.audit_annotations.size(), 1U);
}

TEST(ValidationActions, DenyAndWarnIfEverSetDenyWithoutRepeatingTheErrors) {
  const ActionOutcome out =
      apply_validation_actions(ValidationActions{true, true, false}, some_errors(2), {});
  EXPECT_FALSE(out.allowed);
  EXPECT_TRUE(out.warnings.empty());
}

TEST(ValidationActions, UnchangedErrorsAreWarningsInEveryModeAndNeverDeny) {
  const FieldErrors unchanged = some_errors(2);
  for (const ValidationActions& a : {kDeny, kWarn, kAudit, kWarnAudit, kDenyAudit}) {
    const ActionOutcome out = apply_validation_actions(a, {}, unchanged);
    EXPECT_TRUE(out.allowed) << text_of(a);
    ASSERT_EQ(out.warnings.size(), 2U) << text_of(a);
    for (std::size_t i = 0; i < unchanged.size(); ++i) {
      EXPECT_EQ(out.warnings[i].rfind(unchanged[i].field + ": already invalid before this update", 0),
                0U)
          << out.warnings[i];
    }
    EXPECT_TRUE(out.audit_annotations.empty()) << "nothing this request did to audit";
  }
}

TEST(ValidationActions, WarningsAreCappedWithHowManyMore) {
  struct Case {
    std::size_t errors;
    std::size_t unchanged;
    std::size_t warnings;     // in all
    std::string last;         // "" when not capped
  };
  for (const Case& c : std::vector<Case>{{30, 0, 30, ""},
                                         {31, 0, 30, "and 2 more errors"},
                                         {100, 0, 30, "and 71 more errors"},
                                         {20, 20, 30, "and 11 more errors"},
                                         {0, 45, 30, "and 16 more errors"}}) {
    const ActionOutcome out =
        apply_validation_actions(kWarn, some_errors(c.errors), some_errors(c.unchanged));
    ASSERT_EQ(out.warnings.size(), c.warnings) << c.errors << "+" << c.unchanged;
    if (c.last.empty()) {
      EXPECT_EQ(out.warnings.back().find("more errors"), std::string::npos);
    } else {
      EXPECT_EQ(out.warnings.back(), c.last);
    }
    // New errors come first.
    if (c.errors > 0) {
      EXPECT_THAT(out.warnings.front(), ::testing::Not(HasSubstr("already")));
    }
  }
}

TEST(ValidationActions, WarningsAreShortAndStayValidUtf8) {
  // A long path (a map key) and a long value of multi-byte characters.
  std::string key;
  for (int i = 0; i < 100; ++i) key += "\xc3\xa9";  // é
  const FieldError e = FieldError::invalid(
      FieldPath("spec").child("egressRules").index(0).child("from").index(0).child(
          "workloadSelector").key(key),
      std::string_view(key), "must be no more than 63 characters");
  for (std::string_view note : {std::string_view{}, std::string_view("already invalid")}) {
    const std::string w = error_warning(e, note);
    EXPECT_LE(w.size(), 120U);
    EXPECT_EQ(w.rfind("spec.egressRules[0].from[0].workloadSelector[", 0), 0U) << w;
    EXPECT_TRUE(json::accept("\"" + w + "\"")) << "not valid UTF-8: " << w;
    EXPECT_EQ(w.substr(w.size() - 3), "...");
  }
}

TEST(ValidationActions, AuditAnnotationIsCapped) {
  const json annotated = json::parse(errors_json(some_errors(150)));
  ASSERT_EQ(annotated.size(), 101U);
  EXPECT_EQ(annotated.back().at("field"), "<object>");
  EXPECT_EQ(annotated.back().at("type"), "FieldValueTooMany");
  EXPECT_THAT(annotated.back().at("message").get<std::string>(), HasSubstr("50 more"));
}

}  // namespace
}  // namespace asmegress::policy::test
