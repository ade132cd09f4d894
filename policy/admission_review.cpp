#include "policy/admission_review.h"

#include <boost/json.hpp>

#include "policy/json_text.h"
#include "policy/model.h"

namespace asmegress::policy {
namespace {

namespace json = boost::json;

constexpr std::string_view kReviewV1 = "admission.k8s.io/v1";
constexpr std::string_view kReviewV1beta1 = "admission.k8s.io/v1beta1";

std::string_view string_or_empty(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  const json::string& s = v->get_string();
  return {s.data(), s.size()};
}

const json::value* non_null(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

}  // namespace

std::optional<std::string> read_admission_request(const json::value& review,
                                                  AdmissionRequest& out) {
  const json::object* root = review.if_object();
  if (root == nullptr) return "the body must be a JSON object (an AdmissionReview)";

  const json::value* api_version = root->if_contains("apiVersion");
  if (api_version == nullptr || !api_version->is_string()) {
    return "apiVersion: required; must be \"admission.k8s.io/v1\" or \"admission.k8s.io/v1beta1\"";
  }
  out.api_version = string_or_empty(*root, "apiVersion");
  if (out.api_version != kReviewV1 && out.api_version != kReviewV1beta1) {
    return "apiVersion: unsupported value " + quote(out.api_version) +
           "; must be \"admission.k8s.io/v1\" or \"admission.k8s.io/v1beta1\"";
  }
  if (string_or_empty(*root, "kind") != "AdmissionReview") {
    return "kind: must be \"AdmissionReview\"";
  }

  const json::value* request_value = non_null(*root, "request");
  if (request_value == nullptr || !request_value->is_object()) {
    return "request: required; must be an object";
  }
  const json::object& request = request_value->get_object();

  out.uid = string_or_empty(request, "uid");
  if (out.uid.empty()) return "request.uid: required; must be a non-empty string";
  if (out.uid.size() > kMaxUidLength) {
    return "request.uid: must be at most " + std::to_string(kMaxUidLength) +
           " characters (the API server sends a 36-character UUID)";
  }

  const json::value* kind = non_null(request, "kind");
  if (kind == nullptr || !kind->is_object()) {
    return "request.kind: required; must be an object with group, version and kind";
  }
  out.group = string_or_empty(kind->get_object(), "group");
  out.kind = string_or_empty(kind->get_object(), "kind");
  if (out.kind.empty()) return "request.kind.kind: required; must be a non-empty string";

  out.operation_text = string_or_empty(request, "operation");
  if (out.operation_text == "CREATE") {
    out.operation = Operation::Create;
  } else if (out.operation_text == "UPDATE") {
    out.operation = Operation::Update;
  } else if (out.operation_text == "DELETE") {
    out.operation = Operation::Delete;
  } else if (out.operation_text == "CONNECT") {
    out.operation = Operation::Connect;
  } else {
    return "request.operation: must be one of \"CREATE\", \"UPDATE\", \"DELETE\", \"CONNECT\"";
  }

  out.name = string_or_empty(request, "name");
  out.namespace_name = string_or_empty(request, "namespace");
  if (const json::value* dry_run = non_null(request, "dryRun")) {
    if (!dry_run->is_bool()) return "request.dryRun: must be a boolean";
    out.dry_run = dry_run->get_bool();
  }
  out.object = non_null(request, "object");
  out.old_object = non_null(request, "oldObject");
  return std::nullopt;
}

json::object denial_status(std::string_view object_name, const FieldErrors& errors) {
  json::array causes;
  causes.reserve(errors.size());
  for (const FieldError& e : errors) {
    causes.emplace_back(
        json::object{{"reason", e.cause_type()}, {"message", e.body()}, {"field", e.field}});
  }
  json::object details{{"name", object_name},
                       {"group", kGroup},
                       {"kind", kKind},
                       {"causes", std::move(causes)}};
  return json::object{{"metadata", json::object{}},
                      {"status", "Failure"},
                      {"message", invalid_message(object_name, errors)},
                      {"reason", "Invalid"},
                      {"details", std::move(details)},
                      {"code", 422}};
}

std::string serialize_admission_response(const AdmissionRequest& request,
                                         const AdmissionResponse& response) {
  // Written out directly rather than built as a json::object and serialised:
  // this runs for every review, and the object would cost a dozen allocations.
  // The text is what boost::json::serialize gave for that object, member
  // order included (a test holds the two together).
  std::string out;
  out.reserve(128 + request.api_version.size() + request.uid.size() +
              (response.patch_json.size() + 2) / 3 * 4);
  out += R"({"apiVersion":)";
  append_json_string(out, request.api_version);
  out += R"(,"kind":"AdmissionReview","response":{"uid":)";
  append_json_string(out, request.uid);
  out += response.allowed ? R"(,"allowed":true)" : R"(,"allowed":false)";

  if (response.errors != nullptr && !response.errors->empty()) {
    out += R"(,"status":)";
    out += json::serialize(denial_status(response.object_name, *response.errors));
  }
  if (!response.patch_json.empty()) {
    out += R"(,"patchType":"JSONPatch","patch":")";
    append_base64(out, response.patch_json);
    out += '"';
  }
  if (response.warnings != nullptr && !response.warnings->empty()) {
    out += R"(,"warnings":[)";
    for (std::size_t i = 0; i < response.warnings->size(); ++i) {
      if (i != 0) out += ',';
      append_json_string(out, (*response.warnings)[i]);
    }
    out += ']';
  }
  if (response.audit_annotations != nullptr && !response.audit_annotations->empty()) {
    out += R"(,"auditAnnotations":{)";
    for (std::size_t i = 0; i < response.audit_annotations->size(); ++i) {
      if (i != 0) out += ',';
      append_json_string(out, (*response.audit_annotations)[i].first);
      out += ':';
      append_json_string(out, (*response.audit_annotations)[i].second);
    }
    out += '}';
  }
  out += "}}";
  return out;
}

}  // namespace asmegress::policy
