#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include "policy/arena_allocator.h"
#include "policy/chunked_list.h"
#include "policy/field_path.h"

namespace asmegress::policy {

// Strings are views into the JSON value that was decoded: a Policy must not
// outlive it. Decoding a policy then copies no string. Its lists draw on the
// allocator it was made with: the review's arena, in answer_review.
//
// A decoded field: `present` when the key exists and is not null, `value` when
// it also had the right type. A present field without a value already has a
// type error recorded, so rules skip it rather than report it twice.
// Whether an object or list field was there: absent (or null), there with the
// wrong JSON type (already reported), or there as it should be.
enum class Presence : unsigned char { Absent, WrongType, Present };

// A required list or object is missing when absent or, for lists, empty; a
// wrong type was already reported and is not reported again as missing.
inline bool missing(Presence p, bool empty) {
  return p == Presence::Absent || (p == Presence::Present && empty);
}

// How a member that the patch may edit is there. JSON Patch adds a member
// that is absent and replaces one that is there, null included, so the patch
// needs what decoding (which takes null for absent) does not otherwise keep.
enum class Member : unsigned char { Absent, Null, Object, Other };

template <typename T>
struct Field {
  bool present = false;
  std::optional<T> value;

  [[nodiscard]] bool has() const { return value.has_value(); }
};

struct ServicePort {
  Field<std::string_view> name;
  Field<std::int64_t> number;
  Field<std::string_view> protocol;
};

// byEgressGateway: a name at spec level, a port on each destination.
struct GatewayRef {
  Presence presence = Presence::Absent;
  Field<std::string_view> name;
  Field<std::int64_t> port;
};

struct HttpsUpgrade {
  Presence presence = Presence::Absent;
  Field<bool> enabled;
  Field<std::int64_t> port;
};

// Whether a to[] entry leaves its gateway port to the allocator.
enum class GatewayPort : unsigned char {
  Blank,      // byEgressGateway absent, null, {} or with port 0 (or null)
  Set,        // a port is given (valid or not: validation says)
  Malformed,  // the entry or its byEgressGateway is not an object
};

// The schema's limit on hosts per entry. Beyond it, hosts are counted, not
// kept: the entry is invalid whatever they are.
inline constexpr std::size_t kMaxHosts = 50;

// spec.egressRules[i]. Decoded entries keep only their indices, and their
// paths are made when an error or warning needs them.
inline FieldPath rule_path(std::size_t rule_index) {
  static const FieldPath rules("spec.egressRules");
  return rules.index(rule_index);
}

// One to[] entry: an external service reached through the gateway.
struct Destination {
  Destination() = default;
  explicit Destination(const ArenaAllocator<Destination>& allocator) : hosts(allocator) {}

  Presence presence = Presence::Absent;
  std::size_t rule_index = 0;
  std::size_t to_index = 0;
  Field<std::string_view> name;
  Presence hosts_presence = Presence::Absent;
  // The first kMaxHosts hosts; nullopt: an item of the wrong type.
  ArenaVector<std::optional<std::string_view>> hosts;
  std::size_t host_count = 0;  // all of them
  Presence port_presence = Presence::Absent;
  ServicePort port;
  GatewayRef gateway;
  HttpsUpgrade https_upgrade;
  // For the patch: byEgressGateway, and whether it has a port member at all.
  Member gateway_member = Member::Absent;
  bool gateway_port_member = false;

  [[nodiscard]] GatewayPort gateway_port() const {
    if (presence != Presence::Present || gateway.presence == Presence::WrongType) {
      return GatewayPort::Malformed;
    }
    if (!gateway.port.present || (gateway.port.value && *gateway.port.value == 0)) {
      return GatewayPort::Blank;
    }
    return GatewayPort::Set;
  }
  [[nodiscard]] bool gateway_port_blank() const { return gateway_port() == GatewayPort::Blank; }
  // spec.egressRules[i].to[j]
  [[nodiscard]] FieldPath path() const { return rule_path(rule_index).child("to").index(to_index); }
};

struct Source {
  Source() = default;
  explicit Source(const ArenaAllocator<Source>& allocator) : selector(allocator) {}

  Presence presence = Presence::Absent;
  std::size_t rule_index = 0;
  std::size_t from_index = 0;
  Field<std::string_view> namespace_name;
  ArenaVector<std::pair<std::string_view, std::optional<std::string_view>>> selector;

  // spec.egressRules[i].from[k]
  [[nodiscard]] FieldPath path() const {
    return rule_path(rule_index).child("from").index(from_index);
  }
};

struct EgressRule {
  EgressRule() = default;
  explicit EgressRule(const ArenaAllocator<EgressRule>& allocator)
      : from(allocator), to(allocator) {}

  Presence presence = Presence::Absent;
  std::size_t index = 0;
  Field<std::string_view> name;
  Presence from_presence = Presence::Absent;
  ChunkedList<Source> from;
  Presence to_presence = Presence::Absent;
  ChunkedList<Destination> to;

  [[nodiscard]] FieldPath path() const { return rule_path(index); }
};

struct Policy {
  Policy() = default;
  explicit Policy(const ArenaAllocator<Policy>& allocator) : rules(allocator) {}

  Presence presence = Presence::Absent;  // the object itself
  Field<std::string_view> api_version;
  Field<std::string_view> kind;
  Field<std::string_view> name;
  Field<std::string_view> generate_name;
  Field<std::string_view> namespace_name;
  // The allocator's marker annotation is present with its value.
  bool ports_auto_allocated = false;
  // metadata.deletionTimestamp is set (not null): the object is being
  // deleted, and only its finalizers may still change.
  bool deleting = false;
  // For the patch: metadata, its annotations, whether the marker annotation
  // is there with any value, and whether metadata comes before spec (a diff
  // lists operations in member order).
  Member metadata_member = Member::Absent;
  Member annotations_member = Member::Absent;
  bool allocation_marker_member = false;
  bool metadata_before_spec = false;
  Presence spec_presence = Presence::Absent;
  GatewayRef gateway;
  Presence rules_presence = Presence::Absent;
  ChunkedList<EgressRule> rules;
};

inline constexpr std::string_view kApiVersion = "istio.alibabacloud.com/v1beta1";
inline constexpr std::string_view kGroup = "istio.alibabacloud.com";
inline constexpr std::string_view kKind = "ASMEgressTrafficPolicy";
// Marks an object whose gateway ports the webhook assigned, so that a later
// update adding blank entries gets them filled rather than denied.
inline constexpr std::string_view kAllocationAnnotation = "asm-egress-webhook/port-allocation";
inline constexpr std::string_view kAllocationAnnotationValue = "auto";

}  // namespace asmegress::policy
