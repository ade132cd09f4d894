#pragma once

#include <cstddef>
#include <string>
#include <string_view>
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
};
MutationResult mutate_policy(const boost::json::value& object,
                             const boost::json::value* old_object, const Settings& settings);

// Validation reports at most this many errors, then one saying how many more.
inline constexpr std::size_t kMaxReportedErrors = 100;
// An answer carries at most this many warnings, then one saying how many more.
inline constexpr std::size_t kMaxReportedWarnings = 30;

struct ValidationResult {
  FieldErrors errors;
  Warnings warnings;
};
// No rule reads old_object today, and the validating webhook does not even
// parse request.oldObject (OldObject::Skip in answer_review): a rule that
// needs it must change both.
ValidationResult validate_policy(const boost::json::value& object,
                                 const boost::json::value* old_object, Operation operation,
                                 const Settings& settings);

// True when the object is an ASMEgressTrafficPolicy (apiVersion's group and kind).
bool is_egress_policy(const boost::json::value& object);

// "ASMEgressTrafficPolicy.istio.alibabacloud.com \"x\" is invalid: [...]" —
// the message the API server's own validation would give for these errors.
std::string invalid_message(std::string_view name, const FieldErrors& errors);

}  // namespace asmegress::policy
