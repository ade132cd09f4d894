#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

namespace asmegress::policy {

// How metadata.name must relate to spec.byEgressGateway.name.
enum class NameRule {
  // "egress-by-<gateway>": what every public example of the resource uses.
  EgressByPrefix,
  // "<gateway>": the literal reading of the resource's prose.
  Literal,
};

// Istio's own proxy ports inside the auto-allocation range. A gateway listener
// on one of them would collide with the proxy, so they are never allocated and
// an explicit byEgressGateway.port on one is rejected.
inline const std::set<std::uint32_t>& default_reserved_ports() {
  static const std::set<std::uint32_t> ports{15000, 15001, 15002, 15004, 15006, 15008,
                                             15009, 15010, 15012, 15014, 15017, 15020,
                                             15021, 15053, 15090, 15443};
  return ports;
}

// What a validation error does, named and combined like a
// ValidatingAdmissionPolicyBinding's validationActions: Deny refuses the
// request (the default), Warn admits it with the errors as warnings, Audit
// admits it with the errors in the response's auditAnnotations. Deny and Warn
// together are refused where the actions are read
// (parse_validation_actions), as the API server refuses them; Warn and Audit
// may go together. The mutating webhook runs the same in every mode.
struct ValidationActions {
  bool deny = true;
  bool warn = false;
  bool audit = false;

  friend bool operator==(const ValidationActions&, const ValidationActions&) = default;
};

// The memory one review may take to be decided: the largest review the API
// server can send (an UPDATE of two 1.5 MiB objects) fits with room to spare,
// and two worker threads at the cap stay within the chart's memory limit
// (policy/README.md shows the numbers).
inline constexpr std::size_t kDefaultMaxReviewMemory = std::size_t{24} << 20;

// The engine's settings, shared by the server and the command line.
struct Settings {
  NameRule name_rule = NameRule::EgressByPrefix;
  std::string policy_namespace = "istio-egress";
  std::set<std::uint32_t> reserved_ports = default_reserved_ports();
  ValidationActions validation_actions;

  // Past it, answer_review answers that the review is too large (the server:
  // HTTP 413) rather than take more.
  std::size_t max_review_memory = kDefaultMaxReviewMemory;
};

}  // namespace asmegress::policy
