#include "policy/admission.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <boost/json.hpp>

#include "policy/admission_review.h"
#include "policy/capped_arena.h"
#include "policy/decode.h"
#include "policy/json_pointer.h"
#include "policy/json_text.h"
#include "policy/model.h"
#include "policy/port_allocator.h"
#include "policy/ratchet.h"
#include "policy/review_parser.h"
#include "policy/spec_change.h"
#include "policy/validate.h"
#include "policy/validation_actions.h"

namespace asmegress::policy {
namespace {

namespace json = boost::json;

// Deeper than any real object (Kubernetes refuses 10,000 levels) yet bounded,
// so hostile nesting is a parse error, not a stack overflow.
constexpr std::size_t kMaxJsonDepth = 512;

// The two edits mutation makes, each written twice on purpose: applied to a
// copy of the object (for callers that want the object, like `check`), and as
// the RFC 6902 operations that make the same edit (for the AdmissionReview,
// which needs only those). The operations are what a diff of the two objects
// would give, in the same order, but without copying or walking the object.
// Tests hold the pair together: the patch applied to the input must give the
// edited copy, and must equal a diff of the two.

// Sets to[].byEgressGateway.port in the object, keeping whatever else
// byEgressGateway holds, so the patch touches only the port.
void set_gateway_port(json::value& object, const PortAssignment& a) {
  json::value& entry = object.at("spec").at("egressRules").at(a.rule_index).at("to").at(a.to_index);
  json::object& e = entry.as_object();
  json::value& gateway = e["byEgressGateway"];
  if (!gateway.is_object()) gateway = json::object(object.storage());
  gateway.get_object()["port"] = a.port;
}

// RFC 6902 operations written straight as JSON text, the text
// boost::json::serialize gives for them (a test holds the two together).
class PatchText {
 public:
  explicit PatchText(std::size_t operations) { text_.reserve(96 * operations); }
  // `value` is JSON text.
  void add(std::string_view op, std::string_view path, std::string_view value) {
    text_ += text_.empty() ? R"([{"op":")" : R"(,{"op":")";
    text_ += op;
    text_ += R"(","path":)";
    append_json_string(text_, path);
    text_ += R"(,"value":)";
    text_ += value;
    text_ += '}';
  }
  std::string finish() && {
    if (!text_.empty()) text_ += ']';
    return std::move(text_);
  }

 private:
  std::string text_;
};

// The operation set_gateway_port amounts to, from what decoding recorded of
// the destination: ports are assigned only to entries that are objects, with
// byEgressGateway absent, null or an object whose port is absent, null or 0.
void gateway_port_op(const Destination& entry, const PortAssignment& a, PatchText& patch) {
  // "/spec/egressRules/R/to/T/byEgressGateway/port", on the stack.
  char text[96];
  char* end = text;
  auto put = [&](std::string_view part) {
    // Never short (83 characters at most); the bound keeps the compiler sure.
    const auto n = std::min(part.size(), static_cast<std::size_t>(text + sizeof text - end));
    std::memcpy(end, part.data(), n);
    end += n;
  };
  put("/spec/egressRules/");
  end = std::to_chars(end, text + sizeof text, a.rule_index).ptr;
  put("/to/");
  end = std::to_chars(end, text + sizeof text, a.to_index).ptr;
  put("/byEgressGateway");
  auto path = [&] { return std::string_view(text, static_cast<std::size_t>(end - text)); };
  // {"port":N}, and N alone.
  char value[24] = R"({"port":)";
  char* value_end = std::to_chars(value + 8, value + sizeof value - 1, a.port).ptr;
  *value_end++ = '}';
  const std::string_view port_object(value, static_cast<std::size_t>(value_end - value));
  const std::string_view port = port_object.substr(8, port_object.size() - 9);

  if (entry.gateway_member != Member::Object) {
    patch.add(entry.gateway_member == Member::Absent ? "add" : "replace", path(), port_object);
    return;
  }
  put("/port");
  // A port that is there is null or 0, never the assigned port (1 or more).
  patch.add(entry.gateway_port_member ? "replace" : "add", path(), port);
}

void mark_auto_allocated(json::value& object) {
  json::object* root = object.if_object();
  if (root == nullptr) return;
  json::value& metadata = (*root)["metadata"];
  if (metadata.is_null()) metadata = json::object(object.storage());
  if (!metadata.is_object()) return;
  json::value& annotations = metadata.get_object()["annotations"];
  if (annotations.is_null()) annotations = json::object(object.storage());
  if (!annotations.is_object()) return;
  annotations.get_object()[kAllocationAnnotation] = kAllocationAnnotationValue;
}

// The operation mark_auto_allocated amounts to, if any.
void auto_allocated_op(const Policy& policy, PatchText& patch) {
  if (policy.presence != Presence::Present) return;
  // The texts are the same for every review: written once.
  static const std::string value = [] {
    std::string text;
    append_json_string(text, kAllocationAnnotationValue);
    return text;
  }();
  static const std::string annotations = [] {
    std::string text = "{";
    append_json_string(text, kAllocationAnnotation);
    return text + ':' + value + '}';
  }();
  static const std::string metadata_value = R"({"annotations":)" + annotations + "}";
  static const std::string path = [] {
    std::string text = "/metadata/annotations";
    append_pointer_segment(text, kAllocationAnnotation);
    return text;
  }();
  switch (policy.metadata_member) {
    case Member::Absent: patch.add("add", "/metadata", metadata_value); return;
    case Member::Null: patch.add("replace", "/metadata", metadata_value); return;
    case Member::Other: return;
    case Member::Object: break;
  }
  switch (policy.annotations_member) {
    case Member::Absent: patch.add("add", "/metadata/annotations", annotations); return;
    case Member::Null: patch.add("replace", "/metadata/annotations", annotations); return;
    case Member::Other: return;
    case Member::Object: break;
  }
  // Called only when the marker is not there with its value.
  patch.add(policy.allocation_marker_member ? "replace" : "add", path, value);
}

// Whether an object was decoded as it was read, or, read again, would be.
bool decodes_as_read(const std::optional<PolicyStream>& object) {
  return object && object->done() && !object->failed();
}

// Whether every object the review needs was decoded as it was read.
bool streamed(const ParsedReview& parsed) {
  const auto& object = parsed.object;
  const auto& old = parsed.old_object;
  return object && object->done() && !object->failed() && !object->absent() &&
         (!old || (old->done() && !old->failed()));
}

std::string_view string_at(const json::value* object, std::string_view key) {
  if (object == nullptr || !object->is_object()) return {};
  const json::value* metadata = object->get_object().if_contains("metadata");
  if (metadata == nullptr || !metadata->is_object()) return {};
  const json::value* v = metadata->get_object().if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return {v->get_string().data(), v->get_string().size()};
}

// The name a message or log gives the object: the generated one may not exist
// yet. From the decoded object when it was streamed, else from the value.
std::string_view display_name(const AdmissionRequest& request, const Policy* streamed) {
  if (!request.name.empty()) return request.name;
  if (streamed != nullptr) {
    if (streamed->name.value && !streamed->name.value->empty()) return *streamed->name.value;
    return streamed->generate_name.value.value_or(std::string_view{});
  }
  if (auto n = string_at(request.object, "name"); !n.empty()) return n;
  return string_at(request.object, "generateName");
}

// A request's names, as the answer and the summary repeat them. A Kubernetes
// name has at most 253 characters (a DNS subdomain); a longer string is no
// name the API server accepts, and is cut, on a character's boundary, with
// "..." after it: repeated in full, a name of megabytes would be copied into
// the summary and twice into a denial, outside the review's memory cap.
constexpr std::size_t kMaxEchoedName = 253;
std::string echoed(std::string_view s) {
  if (s.size() <= kMaxEchoedName) return std::string(s);
  std::size_t n = kMaxEchoedName;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) --n;  // UTF-8 continuation
  return std::string(s.substr(0, n)) + "...";
}

// An apiVersion of the group, any version, and the kind.
bool names_egress_policy(std::string_view api_version, std::string_view kind) {
  return kind == kKind && api_version.starts_with(kGroup) && api_version.size() > kGroup.size() &&
         api_version[kGroup.size()] == '/';
}

// is_egress_policy, on a decoded object.
bool is_egress_policy(const Policy& policy) {
  return policy.api_version.value && policy.kind.value &&
         names_egress_policy(*policy.api_version.value, *policy.kind.value);
}

// An object of the review decoded: as it was streamed, or from its value.
DecodedPolicy decoded(Policy* streamed, const json::value* value) {
  return streamed != nullptr ? DecodedPolicy{std::move(*streamed), {}} : decode_policy(*value);
}

// A person reads these; past a hundred, more of them help no one, and a
// hostile request could turn a few bytes per entry into a huge answer.
void cap_errors(FieldErrors& errors) {
  if (errors.reported() <= kMaxReportedErrors) return;
  // Fewer may be kept than reported (ratcheting moves some away).
  const std::size_t shown = std::min(errors.size(), kMaxReportedErrors);
  const std::size_t omitted = errors.reported() - shown;
  errors.resize(shown);
  errors.set_omitted(0);
  errors.push_back({ErrorType::TooMany, "<object>", std::to_string(omitted),
                    "more errors not shown; fix the ones above first"});
}

// Warnings reach kubectl one line each: a policy of many multi-host entries
// would otherwise draw thousands. Applied once, to all an answer carries.
void cap_warnings(Warnings& warnings) {
  if (warnings.reported() <= kMaxReportedWarnings) return;
  const std::size_t shown = std::min(warnings.size(), kMaxReportedWarnings);
  const std::size_t omitted = warnings.reported() - shown;
  warnings.resize(shown);
  warnings.set_omitted(0);
  warnings.push_back("and " + std::to_string(omitted) +
                     (omitted == 1 ? " more warning" : " more warnings"));
}

// The ports to fill in and the patch that fills them, from the decoded object
// alone; result.object stays null. `assignments` receives the ports, for
// callers that edit the object too.
MutationResult mutate_decoded(const Policy& policy, const Policy* old_policy,
                              const Settings& settings,
                              std::vector<PortAssignment>* assignments = nullptr) {
  MutationResult result;
  PortAllocation allocation = allocate_ports(policy, old_policy, settings);
  result.errors = std::move(allocation.errors);
  cap_errors(result.errors);
  if (!result.errors.empty() || allocation.assignments.empty()) return result;
  const bool mark = !policy.ports_auto_allocated;
  // A diff lists operations in member order; an added metadata comes last.
  const bool mark_first = policy.metadata_before_spec;
  PatchText patch(allocation.assignments.size() + 1);
  if (mark && mark_first) auto_allocated_op(policy, patch);
  for (const auto& a : allocation.assignments) {
    gateway_port_op(policy.rules[a.rule_index].to[a.to_index], a, patch);
  }
  if (mark && !mark_first) auto_allocated_op(policy, patch);
  result.patch_json = std::move(patch).finish();
  result.ports_allocated = allocation.assignments.size();
  if (assignments != nullptr) *assignments = std::move(allocation.assignments);
  return result;
}

// The rules, ratcheting and the validation actions. `old_errors()` gives the
// old object's errors (nullopt on CREATE), and is asked only when the object
// has errors: a valid update costs nothing more.
template <typename OldErrors>
ValidationResult validate_decoded(DecodedPolicy&& decoded, const Settings& settings,
                                  OldErrors&& old_errors) {
  ValidationResult result;
  result.errors = std::move(decoded.errors);
  validate(decoded.policy, settings, result.errors, result.warnings);
  if (result.errors.empty()) return result;  // whatever the actions
  if (const std::optional<FieldErrors> old = old_errors()) {
    ratchet(result.errors, *old, result.unchanged);
  }
  ActionOutcome acted =
      apply_validation_actions(settings.validation_actions, result.errors, result.unchanged);
  result.allowed = acted.allowed;
  // The errors (as warnings, under Warn or ratcheting) are what the author
  // must see: the rules' own warnings make room for them under the cap, and
  // are counted in its "and N more" (cap_warnings).
  const std::size_t room = kMaxReportedWarnings - std::min(kMaxReportedWarnings, acted.warnings.size());
  if (result.warnings.size() > room) {
    result.warnings.set_omitted(result.warnings.omitted() + result.warnings.size() - room);
    result.warnings.resize(room);
  }
  result.warnings.insert(result.warnings.end(), std::make_move_iterator(acted.warnings.begin()),
                         std::make_move_iterator(acted.warnings.end()));
  result.audit_annotations = std::move(acted.audit_annotations);
  cap_errors(result.errors);
  cap_errors(result.unchanged);
  return result;
}

ReviewOutcome malformed(std::string message) {
  ReviewOutcome out;
  out.well_formed = false;
  out.body = std::move(message);
  return out;
}

}  // namespace

bool is_egress_policy(const json::value& object) {
  const json::object* o = object.if_object();
  if (o == nullptr) return false;
  const json::value* api_version = o->if_contains("apiVersion");
  const json::value* kind = o->if_contains("kind");
  if (api_version == nullptr || kind == nullptr || !api_version->is_string() ||
      !kind->is_string()) {
    return false;
  }
  const json::string& v = api_version->get_string();
  const json::string& k = kind->get_string();
  return names_egress_policy({v.data(), v.size()}, {k.data(), k.size()});
}

std::string invalid_message(std::string_view name, const FieldErrors& errors) {
  // errors.NewInvalid: one error bare, several in brackets (utilerrors.Aggregate).
  // The name in full (quote() shortens long values): it says which object.
  std::string message = std::string(kKind) + "." + std::string(kGroup) + " " +
                        json::serialize(json::string_view(name.data(), name.size())) +
                        " is invalid: ";
  if (errors.size() != 1) message += '[';
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i != 0) message += ", ";
    message += errors[i].message();
  }
  if (errors.size() != 1) message += ']';
  return message;
}

MutationResult mutate_policy(const json::value& object, const json::value* old_object,
                             const Settings& settings) {
  const DecodedPolicy decoded = decode_policy(object);
  std::optional<DecodedPolicy> old_decoded;
  if (old_object != nullptr) old_decoded = decode_policy(*old_object);
  std::vector<PortAssignment> assignments;
  MutationResult result;
  if (!decoded.policy.deleting) {
    result = mutate_decoded(decoded.policy, old_decoded ? &old_decoded->policy : nullptr,
                            settings, &assignments);
    if (old_object != nullptr && (!result.patch_json.empty() || !result.errors.empty()) &&
        same_spec(object, *old_object)) {
      result = {};
      assignments.clear();
    }
  }
  result.object = object;
  for (const auto& a : assignments) {
    set_gateway_port(result.object, a);
    result.allocated.emplace_back(decoded.policy.rules[a.rule_index]
                                      .to[a.to_index]
                                      .path()
                                      .child("byEgressGateway")
                                      .child("port")
                                      .str(),
                                  a.port);
  }
  if (!assignments.empty() && !decoded.policy.ports_auto_allocated) {
    mark_auto_allocated(result.object);
  }
  return result;
}

ValidationResult validate_policy(const json::value& object, const json::value* old_object,
                                 Operation operation, const Settings& settings) {
  ValidationResult result =
      validate_decoded(decode_policy(object), settings, [&]() -> std::optional<FieldErrors> {
        if (operation != Operation::Update || old_object == nullptr) return std::nullopt;
        DecodedPolicy old = decode_policy(*old_object);
        Warnings warnings;
        validate(old.policy, settings, old.errors, warnings);
        return std::move(old.errors);
      });
  cap_warnings(result.warnings);
  return result;
}

// answer_review, with everything of the review in `arena`: past its cap, this
// throws MemoryCapExceeded.
static ReviewOutcome decide(std::string_view request_body, WebhookKind webhook,
                            const Settings& settings, CappedArena& arena) {
  json::storage_ptr storage(&arena);
  // Validation reads the old object only to ratchet an object with errors,
  // and parses the review again then (old_object_errors).
  const OldObject old_mode =
      webhook == WebhookKind::Mutating ? OldObject::Build : OldObject::Skip;
  // The objects are decoded as they are read, without a value of them. One
  // that does not decode cleanly (a type error, a duplicate key, an escaped
  // string...) is read again as a value, for decode_policy to say what is
  // wrong with it.
  ParsedReview parsed =
      parse_review(request_body, storage, kMaxJsonDepth, old_mode, Objects::Stream);
  if (!parsed.error && !streamed(parsed)) {
    // Nothing of the first parse is used again: its memory goes back before
    // the second, so that a review that falls back is not held twice. An
    // object that did decode as it was read is decoded so again, rather
    // than built: usually only the new object of an UPDATE has the error.
    const Objects object = decodes_as_read(parsed.object) && !parsed.object->absent()
                               ? Objects::Stream
                               : Objects::Build;
    const Objects old_object =
        decodes_as_read(parsed.old_object) ? Objects::Stream : Objects::Build;
    parsed = {};
    arena.release();
    parsed = parse_review(request_body, storage, kMaxJsonDepth, old_mode, object, old_object);
  }
  if (parsed.error) {
    return malformed("the body is not valid JSON: " + parsed.error.message() + " (at byte " +
                     std::to_string(parsed.consumed) + ")");
  }
  const json::value review = std::move(parsed.value);

  AdmissionRequest request;
  if (auto error = read_admission_request(review, request)) return malformed(std::move(*error));
  // Streamed, the objects are not in `review`: request.object is null.
  Policy* streamed_object = parsed.object ? &parsed.object->policy() : nullptr;
  Policy* streamed_old = parsed.old_object && !parsed.old_object->absent()
                             ? &parsed.old_object->policy()
                             : nullptr;

  ReviewOutcome out;
  ReviewSummary& s = out.summary;
  s.api_version = request.api_version;
  s.uid = request.uid;
  s.kind = echoed(request.kind);
  s.namespace_name = echoed(request.namespace_name);
  s.operation = request.operation_text;
  s.dry_run = request.dry_run;
  s.name = echoed(display_name(request, streamed_object));

  AdmissionResponse response;
  response.object_name = s.name;
  const bool ours = request.group == kGroup && request.kind == kKind;
  const bool writes = request.operation == Operation::Create || request.operation == Operation::Update;
  if (!ours || !writes) {
    s.reason = "Ignored";
    out.body = serialize_admission_response(request, response);
    return out;
  }
  if (streamed_object == nullptr &&
      (request.object == nullptr || !request.object->is_object())) {
    return malformed("request.object: must be an object for " + std::string(request.operation_text));
  }
  const bool update = request.operation == Operation::Update;
  // The API server never sends an object of another kind than request.kind,
  // but if something does, it is not ours to patch; validation says why.
  const bool mutable_object = streamed_object != nullptr ? is_egress_policy(*streamed_object)
                                                         : is_egress_policy(*request.object);

  FieldErrors errors;
  Warnings warnings;
  std::vector<std::pair<std::string, std::string>> audit_annotations;
  std::string patch;
  if (webhook == WebhookKind::Mutating && mutable_object) {
    const DecodedPolicy object = decoded(streamed_object, request.object);
    // Streamed, request.old_object is null; built, streamed_old is.
    std::optional<DecodedPolicy> old;
    if (update && (streamed_old != nullptr || request.old_object != nullptr)) {
      old = decoded(streamed_old, request.old_object);
    }
    MutationResult m = object.policy.deleting
                           ? MutationResult{}
                           : mutate_decoded(object.policy, old ? &old->policy : nullptr, settings);
    const auto spec_unchanged = [&] {
      if (streamed_object != nullptr && streamed_old != nullptr) {
        return same_spec({object.policy, request_body, parsed.object->spec_key_end()},
                         {old->policy, request_body, parsed.old_object->spec_key_end()}, storage,
                         kMaxJsonDepth);
      }
      if (streamed_object == nullptr && streamed_old == nullptr) {
        return same_spec(*request.object, *request.old_object);
      }
      // One of each: the fallback built only the object that did not decode
      // as it was read. Rarely needed, so both are built again for it.
      ParsedReview both = parse_review(request_body, storage, kMaxJsonDepth, OldObject::Build,
                                       Objects::Build, Objects::Build);
      AdmissionRequest again;
      if (both.error || read_admission_request(both.value, again) || again.object == nullptr ||
          again.old_object == nullptr) {
        return false;
      }
      return same_spec(*again.object, *again.old_object);
    };
    if (old && (!m.patch_json.empty() || !m.errors.empty()) && spec_unchanged()) m = {};
    errors = std::move(m.errors);
    patch = std::move(m.patch_json);
    s.ports_allocated = errors.empty() ? m.ports_allocated : 0;
    if (errors.empty()) s.reason = patch.empty() ? "" : "Patched";
    else s.reason = "PortsExhausted";
  } else if (webhook == WebhookKind::Validating) {
    ValidationResult v = validate_decoded(
        decoded(streamed_object, request.object), settings, [&]() -> std::optional<FieldErrors> {
          if (!update) return std::nullopt;
          return old_object_errors(request_body, storage, kMaxJsonDepth, settings);
        });
    warnings = std::move(v.warnings);
    audit_annotations = std::move(v.audit_annotations);
    s.errors = v.errors.size();
    s.unchanged_errors = v.unchanged.size();
    if (!v.errors.empty()) {
      s.reason = "Invalid";
      s.actions = settings.validation_actions;
    }
    if (!audit_annotations.empty()) s.audit_errors = audit_annotations.front().second;
    // Only a denial carries the errors; Warn and Audit gave them above.
    if (!v.allowed) errors = std::move(v.errors);
  }

  s.allowed = errors.empty();
  s.status_code = s.allowed ? 0 : 422;
  cap_warnings(warnings);
  s.warnings = warnings.size();
  response.allowed = s.allowed;
  response.errors = &errors;
  if (s.allowed) response.patch_json = patch;
  response.warnings = &warnings;
  response.audit_annotations = &audit_annotations;
  out.body = serialize_admission_response(request, response);
  return out;
}

static ReviewOutcome too_large(std::size_t cap) {
  ReviewOutcome out = malformed("the review is too large to decide: it needs more than " +
                                std::to_string(cap) + " bytes of memory (--max-review-memory)");
  out.too_large = true;
  return out;
}

ReviewOutcome answer_review(std::string_view request_body, WebhookKind webhook,
                            const Settings& settings) {
  // Everything of one review lives in one arena, freed at once at the end;
  // the first part of it is on the stack, enough for a typical policy.
  alignas(std::max_align_t) unsigned char initial[16 * 1024];
  CappedArena arena(initial, sizeof initial, settings.max_review_memory);
  try {
    return decide(request_body, webhook, settings, arena);
  } catch (const MemoryCapExceeded&) {
    return too_large(settings.max_review_memory);
  }
}

}  // namespace asmegress::policy
