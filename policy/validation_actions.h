#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/field_error.h"
#include "policy/settings.h"

namespace asmegress::policy {

// Reads a comma list of Deny, Warn and Audit ("Deny", "Warn,Audit"), spelled
// as ValidatingAdmissionPolicyBinding spells them. Refused, as the API server
// refuses them for a binding: an empty list, an unknown or repeated action,
// and Deny together with Warn (the same errors in the denial and again in its
// warnings). Returns what is wrong, or nullopt with `out` set.
std::optional<std::string> parse_validation_actions(std::string_view text,
                                                    ValidationActions& out);

// "Deny", "Warn,Audit": as parse_validation_actions reads them.
std::string validation_actions_text(const ValidationActions& actions);

// The warnings made of errors (Warn's, and those of errors the old object
// already had) are at most this many; the last then says how many more.
inline constexpr std::size_t kMaxErrorWarnings = 30;

// The auditAnnotations key of Audit's errors. The API server prefixes it with
// the webhook's name ("validate.asmegresstrafficpolicies.istio.alibabacloud.com/
// validation-errors") and writes it to the request's audit event.
inline constexpr std::string_view kAuditErrorsKey = "validation-errors";

// What the validation actions make of one object's errors.
struct ActionOutcome {
  bool allowed = true;
  // Warn: one per error; and always one per unchanged error, saying it was
  // there before. Capped as a whole (kMaxErrorWarnings).
  std::vector<std::string> warnings;
  // Audit: kAuditErrorsKey -> the errors as a JSON array of
  // {"field", "type", "message"}, at most kMaxReportedErrors of them.
  std::vector<std::pair<std::string, std::string>> audit_annotations;
};

// `errors` are those the request introduces (every error on CREATE), uncapped;
// `unchanged` those the old object already had, which never deny. With no
// errors the request is allowed and nothing is added, whatever the actions.
ActionOutcome apply_validation_actions(const ValidationActions& actions, const FieldErrors& errors,
                                       const FieldErrors& unchanged);

// "<field>: <body>", cut to kMaxWarningLength characters (at a character
// boundary). `note` goes between the field and the body.
std::string error_warning(const FieldError& error, std::string_view note = {});

// The errors as Audit writes them: a JSON array of {"field", "type",
// "message"} (type as Kubernetes' field.ErrorType spells it, message the body
// of the error), at most kMaxReportedErrors, then one entry saying how many
// more.
std::string errors_json(const FieldErrors& errors);

}  // namespace asmegress::policy
