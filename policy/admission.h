#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "policy/field_error.h"
#include "policy/settings.h"

namespace asmegress::policy {

// Which endpoint a review arrived on: /mutate or /validate.
enum class WebhookKind { Mutating, Validating };

enum class Operation { Create, Update, Delete, Connect };

// What one review decided, for logs and metrics. Nothing here is needed to
// build the answer; it is the answer described.
struct ReviewSummary {
  std::string api_version;  // admission.k8s.io/v1 or v1beta1
  std::string uid;
  std::string kind;  // request.kind.kind
  std::string namespace_name;
  std::string name;  // request.name, or the object's metadata.name/generateName
  std::string operation;
  bool dry_run = false;
  bool allowed = true;
  int status_code = 0;  // 0 when allowed, else the denial's status.code
  // Why: "" when allowed and untouched, "Patched", "Ignored" (another kind or
  // operation), "Invalid" (field errors), "PortsExhausted".
  std::string reason;
  std::size_t ports_allocated = 0;
  std::size_t warnings = 0;
  // /validate: the errors the request introduced (every error on CREATE),
  // and those the old object already had, which do not deny (ratcheting).
  std::size_t errors = 0;
  std::size_t unchanged_errors = 0;
  // The validation actions that acted on `errors`: none when there were none.
  ValidationActions actions{false, false, false};
  // Audit: the errors as written into the response's auditAnnotations.
  std::string audit_errors;
};

// The answer to one HTTP request carrying an AdmissionReview.
struct ReviewOutcome {
  // False when the body is not an AdmissionReview we can answer; the server
  // answers HTTP 400 with `body` (a plain-text message saying what is wrong),
  // or 413 when `too_large`.
  bool well_formed = true;
  // Deciding would take more memory than Settings::max_review_memory; `body`
  // names the limit. well_formed is false too.
  bool too_large = false;
  // The serialised AdmissionReview response (well_formed), or the message.
  std::string body;
  ReviewSummary summary;
};

// The whole decision for one request body: parse, decode, mutate or validate,
// answer. The server and the `review` command both call this, so they cannot
// disagree. Never throws for untrusted input.
ReviewOutcome answer_review(std::string_view request_body, WebhookKind webhook,
                            const Settings& settings);

// The engine's two jobs on a policy object, for callers that hold the object
// itself (the `check` command, tests).
struct MutationResult {
  boost::json::value object;  // the object after mutation (a copy if unchanged)
  std::string patch_json;     // RFC 6902 operations from the input to `object`, as
                              // JSON text ("" when none)
  FieldErrors errors;         // why mutation could not be done (e.g. range exhausted)
  Warnings warnings;
  std::size_t ports_allocated = 0;
  // The ports assigned, by field path (mutate_policy only).
  std::vector<std::pair<std::string, std::uint32_t>> allocated;
};
// An UPDATE (old_object set) that leaves spec as it was, and an object being
// deleted (metadata.deletionTimestamp), get no patch: only what changed is
// judged.
MutationResult mutate_policy(const boost::json::value& object,
                             const boost::json::value* old_object, const Settings& settings);

// Validation reports at most this many errors, then one saying how many more.
inline constexpr std::size_t kMaxReportedErrors = 100;
// An answer carries at most this many warnings, then one saying how many more.
inline constexpr std::size_t kMaxReportedWarnings = 30;

// What the validating webhook answers for one object.
struct ValidationResult {
  // The errors found; on UPDATE only those old_object did not have.
  FieldErrors errors;
  // The rules' warnings, then the errors as warnings: each error old_object
  // already had, and with the Warn action every error.
  Warnings warnings;
  // The errors old_object already had: they do not deny (ratcheting).
  FieldErrors unchanged;
  // No errors, or validation actions that do not deny (Warn, Audit).
  bool allowed = true;
  // The Audit action's: the response's auditAnnotations.
  std::vector<std::pair<std::string, std::string>> audit_annotations;
};
// The rules, then on UPDATE ratcheting against old_object (whose errors are
// computed only when the object has errors), then settings'
// validation_actions. No rule reads old_object otherwise, and the validating
// webhook parses request.oldObject only for ratcheting.
ValidationResult validate_policy(const boost::json::value& object,
                                 const boost::json::value* old_object, Operation operation,
                                 const Settings& settings);

// True when the object is an ASMEgressTrafficPolicy (apiVersion's group and kind).
bool is_egress_policy(const boost::json::value& object);

// "ASMEgressTrafficPolicy.istio.alibabacloud.com \"x\" is invalid: [...]" —
// the message the API server's own validation would give for these errors.
std::string invalid_message(std::string_view name, const FieldErrors& errors);

}  // namespace asmegress::policy
