#include "policy/decode.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>

#include <boost/json.hpp>

namespace asmegress::policy {
namespace {

namespace json = boost::json;

// A field's path, rendered only when an error needs it: decoding a valid
// object then builds no path strings for its leaves. A lazy path may extend
// a FieldPath or another lazy path, which must outlive it.
class LazyPath {
 public:
  LazyPath(const FieldPath& self) : base_(&self) {}  // NOLINT: implicit by design
  LazyPath(const FieldPath& parent, std::string_view child)
      : base_(&parent), child_(child), kind_(Kind::Child) {}
  LazyPath(const FieldPath& parent, std::size_t index)
      : base_(&parent), index_(index), kind_(Kind::Index) {}
  LazyPath(const LazyPath& parent, std::string_view child)
      : parent_(&parent), child_(child), kind_(Kind::Child) {}
  LazyPath(const LazyPath& parent, std::size_t index)
      : parent_(&parent), index_(index), kind_(Kind::Index) {}
  static LazyPath key(const LazyPath& parent, std::string_view key) {
    LazyPath p(parent, key);
    p.kind_ = Kind::Key;
    return p;
  }

  [[nodiscard]] FieldPath get() const {
    const FieldPath prefix = parent_ != nullptr ? parent_->get() : *base_;
    switch (kind_) {
      case Kind::Self: return prefix;
      case Kind::Child: return prefix.child(child_);
      case Kind::Index: return prefix.index(index_);
      case Kind::Key: return prefix.key(child_);
    }
    return prefix;
  }

 private:
  enum class Kind : unsigned char { Self, Child, Index, Key };
  const FieldPath* base_ = nullptr;   // the prefix, when a FieldPath
  const LazyPath* parent_ = nullptr;  // the prefix, when lazy itself
  std::string_view child_;
  std::size_t index_ = 0;
  Kind kind_ = Kind::Self;
};

constexpr std::array<std::string_view, 4> kPolicyKeys{"apiVersion", "kind", "metadata", "spec"};
constexpr std::array<std::string_view, 5> kMetadataKeys{"name", "generateName", "namespace",
                                                        "annotations", "deletionTimestamp"};
constexpr std::array<std::string_view, 2> kSpecKeys{"byEgressGateway", "egressRules"};
constexpr std::array<std::string_view, 3> kRuleKeys{"name", "from", "to"};
constexpr std::array<std::string_view, 2> kSourceKeys{"namespace", "workloadSelector"};
constexpr std::array<std::string_view, 2> kGatewayKeys{"name", "port"};
constexpr std::array<std::string_view, 5> kDestinationKeys{"name", "hosts", "port",
                                                           "byEgressGateway", "httpsUpgrade"};
constexpr std::array<std::string_view, 3> kPortKeys{"name", "number", "protocol"};
constexpr std::array<std::string_view, 2> kUpgradeKeys{"enabled", "port"};

// Walks the object, recording a type error for every field of the wrong JSON
// type and reading the rest.
class Decoder {
 public:
  // The lists decoded draw on `allocator`.
  Decoder(FieldErrors& errors, const ArenaAllocator<Policy>& allocator)
      : errors_(errors), allocator_(allocator) {}

  // Rules, sources and destinations decoded so far fit the budget. A 7 MiB
  // request of empty entries ("{},{},...") would otherwise decode into more
  // than a gigabyte of model; etcd's object limit (1.5 MiB) allows no real
  // policy anywhere near it.
  bool take_item(const LazyPath& list) {
    if (items_ < kMaxDecodedItems) {
      ++items_;
      return true;
    }
    if (!budget_reported_) {
      budget_reported_ = true;
      errors_.report([&] {
        return FieldError{ErrorType::TooMany, list.get().str(), std::nullopt,
                          "the policy may hold at most " + std::to_string(kMaxDecodedItems) +
                              " rules, sources and destinations in all"};
      });
    }
    return false;
  }

  // The members `keys` of `parent`, each nullptr when absent or null, found
  // in one pass over it: cheaper than a lookup per key for the small objects
  // a policy is made of, and still linear for a large one. Bit i of `there`
  // is set when keys[i] is a member at all, null included.
  template <std::size_t N>
  static std::array<const json::value*, N> members(const json::object* parent,
                                                   const std::array<std::string_view, N>& keys,
                                                   unsigned* there = nullptr) {
    static_assert(N <= 8);
    std::array<const json::value*, N> found{};
    unsigned bits = 0;
    if (parent != nullptr) {
      for (const json::key_value_pair& m : *parent) {
        const std::string_view key(m.key().data(), m.key().size());
        for (std::size_t i = 0; i < N; ++i) {
          if (key == keys[i]) {
            bits |= 1U << i;
            if (!m.value().is_null()) found[i] = &m.value();
            break;
          }
        }
      }
    }
    if (there != nullptr) *there = bits;
    return found;
  }

  // What the patch needs to know of member `bit` found by members().
  static Member member(unsigned there, unsigned bit, const json::value* value) {
    if ((there & (1U << bit)) == 0) return Member::Absent;
    if (value == nullptr) return Member::Null;
    return value->is_object() ? Member::Object : Member::Other;
  }

  const json::object* object(const json::value* v, const LazyPath& path,
                             Presence* presence = nullptr) {
    if (presence != nullptr) *presence = Presence::Absent;
    if (v == nullptr) return nullptr;
    if (const auto* o = v->if_object()) {
      if (presence != nullptr) *presence = Presence::Present;
      return o;
    }
    if (presence != nullptr) *presence = Presence::WrongType;
    errors_.report([&] { return FieldError::invalid(path.get(), *v, "must be an object"); });
    return nullptr;
  }

  const json::array* array(const json::value* v, const LazyPath& path, Presence& presence) {
    presence = Presence::Absent;
    if (v == nullptr) return nullptr;
    if (const auto* a = v->if_array()) {
      presence = Presence::Present;
      return a;
    }
    presence = Presence::WrongType;
    errors_.report([&] { return FieldError::invalid(path.get(), *v, "must be an array"); });
    return nullptr;
  }

  Field<std::string_view> string(const json::value* v, const LazyPath& path) {
    Field<std::string_view> f;
    if (v == nullptr) return f;
    f.present = true;
    if (const auto* s = v->if_string()) {
      f.value.emplace(s->data(), s->size());
    } else {
      errors_.report([&] { return FieldError::invalid(path.get(), *v, "must be a string"); });
    }
    return f;
  }

  Field<bool> boolean(const json::value* v, const LazyPath& path) {
    Field<bool> f;
    if (v == nullptr) return f;
    f.present = true;
    if (const auto* b = v->if_bool()) {
      f.value = *b;
    } else {
      errors_.report([&] { return FieldError::invalid(path.get(), *v, "must be a boolean"); });
    }
    return f;
  }

  // Integers beyond int64 cannot be any valid port; they are reported here
  // with their real value rather than clamped.
  Field<std::int64_t> integer(const json::value* v, const LazyPath& path) {
    Field<std::int64_t> f;
    if (v == nullptr) return f;
    f.present = true;
    if (const auto* i = v->if_int64()) {
      f.value = *i;
    } else if (const auto* u = v->if_uint64()) {
      if (*u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        f.value = static_cast<std::int64_t>(*u);
      } else {
        errors_.report(
            [&] { return FieldError::invalid(path.get(), *v, "must be between 1 and 65535"); });
      }
    } else {
      errors_.report([&] { return FieldError::invalid(path.get(), *v, "must be an integer"); });
    }
    return f;
  }

  GatewayRef gateway(const json::value* v, const LazyPath& path, bool* port_member = nullptr) {
    GatewayRef g;
    unsigned there = 0;
    const auto [name, port] = members(object(v, path, &g.presence), kGatewayKeys, &there);
    if (port_member != nullptr) *port_member = (there & 2U) != 0;
    g.name = string(name, LazyPath(path, "name"));
    g.port = integer(port, LazyPath(path, "port"));
    return g;
  }

  Source source(const json::value* v, const LazyPath& path) {
    Source s(allocator_);
    const auto [namespace_name, selector] = members(object(v, path, &s.presence), kSourceKeys);
    s.namespace_name = string(namespace_name, LazyPath(path, "namespace"));
    const LazyPath selector_path(path, "workloadSelector");
    if (const json::object* labels = object(selector, selector_path)) {
      s.selector.reserve(labels->size());
      for (const auto& [key, value] : *labels) {
        const std::string_view k(key.data(), key.size());
        s.selector.emplace_back(k, string(&value, LazyPath::key(selector_path, k)).value);
      }
    }
    return s;
  }

  Destination destination(const json::value* v, const LazyPath& path) {
    Destination d(allocator_);
    unsigned there = 0;
    const auto [name, hosts, port, gateway_ref, upgrade] =
        members(object(v, path, &d.presence), kDestinationKeys, &there);
    d.gateway_member = member(there, 3, gateway_ref);
    d.name = string(name, LazyPath(path, "name"));

    const LazyPath hosts_path(path, "hosts");
    if (const json::array* a = array(hosts, hosts_path, d.hosts_presence)) {
      // Every host's type is checked; only those that can be valid are kept.
      d.host_count = a->size();
      d.hosts.reserve(std::min(a->size(), kMaxHosts));
      for (std::size_t k = 0; k < a->size(); ++k) {
        auto host = string(&(*a)[k], LazyPath(hosts_path, k)).value;
        if (k < kMaxHosts) d.hosts.push_back(host);
      }
    }

    const LazyPath port_path(path, "port");
    const auto [port_name, number, protocol] =
        members(object(port, port_path, &d.port_presence), kPortKeys);
    d.port.name = string(port_name, LazyPath(port_path, "name"));
    d.port.number = integer(number, LazyPath(port_path, "number"));
    d.port.protocol = string(protocol, LazyPath(port_path, "protocol"));

    d.gateway = gateway(gateway_ref, LazyPath(path, "byEgressGateway"), &d.gateway_port_member);

    const LazyPath upgrade_path(path, "httpsUpgrade");
    const auto [enabled, upgrade_port] =
        members(object(upgrade, upgrade_path, &d.https_upgrade.presence), kUpgradeKeys);
    d.https_upgrade.enabled = boolean(enabled, LazyPath(upgrade_path, "enabled"));
    d.https_upgrade.port = integer(upgrade_port, LazyPath(upgrade_path, "port"));
    return d;
  }

  EgressRule rule(const json::value* v, const LazyPath& path, std::size_t rule_index) {
    EgressRule r(allocator_);
    r.index = rule_index;
    const auto [name, from, to] = members(object(v, path, &r.presence), kRuleKeys);
    r.name = string(name, LazyPath(path, "name"));

    const LazyPath from_path(path, "from");
    if (const json::array* a = array(from, from_path, r.from_presence)) {
      r.from.reserve(std::min(a->size(), kMaxDecodedItems));
      for (std::size_t k = 0; k < a->size() && take_item(from_path); ++k) {
        Source s = source(&(*a)[k], LazyPath(from_path, k));
        s.rule_index = rule_index;
        s.from_index = k;
        r.from.push_back(std::move(s));
      }
    }

    const LazyPath to_path(path, "to");
    if (const json::array* a = array(to, to_path, r.to_presence)) {
      r.to.reserve(std::min(a->size(), kMaxDecodedItems));
      for (std::size_t k = 0; k < a->size() && take_item(to_path); ++k) {
        Destination d = destination(&(*a)[k], LazyPath(to_path, k));
        d.rule_index = rule_index;
        d.to_index = k;
        r.to.push_back(std::move(d));
      }
    }
    return r;
  }

 private:
  FieldErrors& errors_;
  ArenaAllocator<Policy> allocator_;
  std::size_t items_ = 0;
  bool budget_reported_ = false;
};

}  // namespace

DecodedPolicy decode_policy(const json::value& object) {
  // The model draws on the value's own storage: the review's arena, in
  // answer_review.
  const ArenaAllocator<Policy> allocator(object.storage().get());
  DecodedPolicy out{Policy(allocator), {}};
  Decoder d(out.errors, allocator);
  Policy& p = out.policy;

  unsigned there = 0;
  const json::object* root = d.object(&object, FieldPath{}, &p.presence);
  const auto [api_version, kind, metadata, spec_value] =
      Decoder::members(root, kPolicyKeys, &there);
  p.metadata_member = Decoder::member(there, 2, metadata);
  if (root != nullptr) {
    for (const json::key_value_pair& m : *root) {
      if (m.key() == "metadata") {
        p.metadata_before_spec = true;
        break;
      }
      if (m.key() == "spec") break;
    }
  }
  p.api_version = d.string(api_version, FieldPath("apiVersion"));
  p.kind = d.string(kind, FieldPath("kind"));

  const FieldPath meta_path("metadata");
  const auto [name, generate_name, namespace_name, annotations_value, deletion] =
      Decoder::members(d.object(metadata, meta_path), kMetadataKeys, &there);
  p.annotations_member = Decoder::member(there, 3, annotations_value);
  p.deleting = deletion != nullptr;
  p.name = d.string(name, LazyPath(meta_path, "name"));
  p.generate_name = d.string(generate_name, LazyPath(meta_path, "generateName"));
  p.namespace_name = d.string(namespace_name, LazyPath(meta_path, "namespace"));
  if (const json::object* annotations =
          d.object(annotations_value, LazyPath(meta_path, "annotations"))) {
    if (const json::value* marker = annotations->if_contains(kAllocationAnnotation)) {
      p.allocation_marker_member = true;
      const auto* s = marker->if_string();
      p.ports_auto_allocated = s != nullptr && *s == kAllocationAnnotationValue;
    }
  }

  const FieldPath spec_path("spec");
  const auto [gateway, rules] =
      Decoder::members(d.object(spec_value, spec_path, &p.spec_presence), kSpecKeys);
  p.gateway = d.gateway(gateway, LazyPath(spec_path, "byEgressGateway"));

  const FieldPath rules_path = spec_path.child("egressRules");
  if (const json::array* a = d.array(rules, rules_path, p.rules_presence)) {
    p.rules.reserve(std::min(a->size(), kMaxDecodedItems));
    for (std::size_t i = 0; i < a->size() && d.take_item(rules_path); ++i) {
      p.rules.push_back(d.rule(&(*a)[i], LazyPath(rules_path, i), i));
    }
  }
  return out;
}

}  // namespace asmegress::policy
