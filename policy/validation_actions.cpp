#include "policy/validation_actions.h"

#include <array>

#include "policy/admission.h"
#include "policy/json_text.h"
#include "policy/validate.h"

namespace asmegress::policy {
namespace {

constexpr std::array<std::string_view, 3> kActionNames{"Deny", "Warn", "Audit"};

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The longest prefix of `text` of at most `size` bytes that does not end
// inside a UTF-8 sequence: the parser admits only valid UTF-8, and the
// answer must stay valid after a cut.
std::string_view utf8_prefix(std::string_view text, std::size_t size) {
  if (text.size() <= size) return text;
  while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0U) == 0x80U) --size;
  return text.substr(0, size);
}

// Text that a person or a log reads, cut with "..." past `limit` bytes.
std::string shortened(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  text.resize(utf8_prefix(text, limit - 3).size());
  text += "...";
  return text;
}

// One string of an audit annotation: a path through a long map key or a long
// detail stays readable in the audit log without growing it unbounded.
constexpr std::size_t kMaxAuditText = 1024;

void append_error_object(std::string& out, std::string_view field, std::string_view type,
                         std::string_view message) {
  out += R"({"field":)";
  append_json_string(out, utf8_prefix(field, kMaxAuditText));
  out += R"(,"type":)";
  append_json_string(out, type);
  out += R"(,"message":)";
  append_json_string(out, utf8_prefix(message, kMaxAuditText));
  out += '}';
}

}  // namespace

std::optional<std::string> parse_validation_actions(std::string_view text,
                                                    ValidationActions& out) {
  if (trimmed(text).empty()) return "at least one of \"Deny\", \"Warn\", \"Audit\" is required";
  ValidationActions actions{false, false, false};
  std::array<bool*, 3> slots{&actions.deny, &actions.warn, &actions.audit};
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view name = trimmed(text.substr(0, comma));
    std::size_t i = 0;
    while (i < kActionNames.size() && kActionNames[i] != name) ++i;
    if (i == kActionNames.size()) {
      return "unsupported value " + quote(name) + ": supported values: \"Deny\", \"Warn\", \"Audit\"";
    }
    if (*slots[i]) return "duplicate value " + quote(name) + ": each action may appear once";
    *slots[i] = true;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (actions.deny && actions.warn) {
    // The API server's own words for a ValidatingAdmissionPolicyBinding.
    return "must not contain both Deny and Warn (repeating the same validation failure "
           "information in the API response and headers serves no purpose)";
  }
  out = actions;
  return std::nullopt;
}

std::string validation_actions_text(const ValidationActions& actions) {
  std::string text;
  const std::array<bool, 3> set{actions.deny, actions.warn, actions.audit};
  for (std::size_t i = 0; i < set.size(); ++i) {
    if (!set[i]) continue;
    if (!text.empty()) text += ',';
    text += kActionNames[i];
  }
  return text;
}

std::string error_warning(const FieldError& error, std::string_view note) {
  std::string text = error.field;
  text += ": ";
  text += note;
  if (!note.empty()) text += ": ";
  text += error.body();
  return shortened(std::move(text), kMaxWarningLength);
}

std::string errors_json(const FieldErrors& errors) {
  std::string out = "[";
  const std::size_t shown = std::min(errors.size(), kMaxReportedErrors);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i != 0) out += ',';
    const FieldError& e = errors[i];
    append_error_object(out, e.field, e.cause_type(), e.body());
  }
  // Counted with those the rules only counted, not kept.
  if (errors.reported() > shown) {
    out += ',';
    append_error_object(out, "<object>", "FieldValueTooMany",
                        std::to_string(errors.reported() - shown) + " more errors not shown");
  }
  out += ']';
  return out;
}

ActionOutcome apply_validation_actions(const ValidationActions& actions, const FieldErrors& errors,
                                       const FieldErrors& unchanged) {
  ActionOutcome out;
  // Deny refuses; Warn and Audit alone let the request through. (Deny with
  // Warn is refused when the actions are read; should it come here, Deny
  // decides and the errors are not repeated as warnings.)
  out.allowed = errors.empty() || !actions.deny;
  const bool warn = actions.warn && !actions.deny;
  // Every error, those the rules only counted included.
  const std::size_t total = (warn ? errors.reported() : 0) + unchanged.reported();
  // Past the cap, the last place says how many are left out.
  const std::size_t shown = total <= kMaxErrorWarnings ? total : kMaxErrorWarnings - 1;
  out.warnings.reserve(shown + (total > shown ? 1 : 0));
  // New errors first: they are what the author is to fix now.
  if (warn) {
    for (std::size_t i = 0; i < errors.size() && out.warnings.size() < shown; ++i) {
      out.warnings.push_back(error_warning(errors[i]));
    }
  }
  for (std::size_t i = 0; i < unchanged.size() && out.warnings.size() < shown; ++i) {
    out.warnings.push_back(error_warning(unchanged[i], "already invalid before this update"));
  }
  if (total > out.warnings.size()) {
    out.warnings.push_back("and " + std::to_string(total - out.warnings.size()) + " more errors");
  }
  if (actions.audit && !errors.empty()) {
    out.audit_annotations.emplace_back(std::string(kAuditErrorsKey), errors_json(errors));
  }
  return out;
}

}  // namespace asmegress::policy
