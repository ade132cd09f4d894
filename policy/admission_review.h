#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "policy/admission.h"
#include "policy/field_error.h"

namespace asmegress::policy {

// The parts of an AdmissionReview request the engine reads. Pointers refer
// into the parsed review and live as long as it.
struct AdmissionRequest {
  std::string_view api_version;  // admission.k8s.io/v1 or v1beta1
  std::string_view uid;
  std::string_view group;  // request.kind.group
  std::string_view kind;   // request.kind.kind
  Operation operation = Operation::Create;
  std::string_view operation_text;
  std::string_view name;
  std::string_view namespace_name;
  bool dry_run = false;
  const boost::json::value* object = nullptr;      // absent or null: nullptr
  const boost::json::value* old_object = nullptr;  // absent or null: nullptr
};

// The longest request.uid answered. The API server sends a 36-character
// UUID; the uid is echoed in the answer and logged, so a longer one is
// refused as malformed rather than copied.
inline constexpr std::size_t kMaxUidLength = 128;

// Reads `review` into `out`; on a malformed review, returns what is wrong.
std::optional<std::string> read_admission_request(const boost::json::value& review,
                                                  AdmissionRequest& out);

// What the webhook answers.
struct AdmissionResponse {
  bool allowed = true;
  std::string_view patch_json;                // JSON Patch text; sent only when non-empty
  const FieldErrors* errors = nullptr;        // a denial as 422 Invalid
  std::string_view object_name;               // for the denial's message
  const std::vector<std::string>* warnings = nullptr;
  // auditAnnotations: key (the API server prefixes the webhook's name) -> value.
  const std::vector<std::pair<std::string, std::string>>* audit_annotations = nullptr;
};

// The metav1.Status of a denial: 422 Invalid, one details.causes entry per error.
boost::json::object denial_status(std::string_view object_name, const FieldErrors& errors);

// The AdmissionReview answering `request`: same apiVersion, the uid echoed.
std::string serialize_admission_response(const AdmissionRequest& request,
                                         const AdmissionResponse& response);

}  // namespace asmegress::policy
