#include "policy/decode.h"

#include <algorithm>
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

// Walks the object, recording a type error for every field of the wrong JSON
// type and reading the rest.
class Decoder {
 public:
  explicit Decoder(FieldErrors& errors) : errors_(errors) {}

  // Rules, sources and destinations decoded so far fit the budget. A 7 MiB
  // request of empty entries ("{},{},...") would otherwise decode into more
  // than a gigabyte of model; etcd's object limit (1.5 MiB) allows no real
  // policy anywhere near it.
  bool take_item(const FieldPath& list) {
    if (items_ < kMaxDecodedItems) {
      ++items_;
      return true;
    }
    if (!budget_reported_) {
      budget_reported_ = true;
      errors_.push_back({ErrorType::TooMany, list.str(), std::nullopt,
                         "the policy may hold at most " + std::to_string(kMaxDecodedItems) +
                             " rules, sources and destinations in all"});
    }
    return false;
  }

  // The member `key` of `parent`, or nullptr when absent or null.
  static const json::value* member(const json::object* parent, std::string_view key) {
    if (parent == nullptr) return nullptr;
    const json::value* v = parent->if_contains(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
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
    errors_.push_back(FieldError::invalid(path.get(), *v, "must be an object"));
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
    errors_.push_back(FieldError::invalid(path.get(), *v, "must be an array"));
    return nullptr;
  }

  Field<std::string_view> string(const json::value* v, const LazyPath& path) {
    Field<std::string_view> f;
    if (v == nullptr) return f;
    f.present = true;
    if (const auto* s = v->if_string()) {
      f.value.emplace(s->data(), s->size());
    } else {
      errors_.push_back(FieldError::invalid(path.get(), *v, "must be a string"));
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
      errors_.push_back(FieldError::invalid(path.get(), *v, "must be a boolean"));
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
        errors_.push_back(FieldError::invalid(path.get(), *v, "must be between 1 and 65535"));
      }
    } else {
      errors_.push_back(FieldError::invalid(path.get(), *v, "must be an integer"));
    }
    return f;
  }

  GatewayRef gateway(const json::value* v, const LazyPath& path) {
    GatewayRef g;
    const json::object* o = object(v, path, &g.presence);
    g.name = string(member(o, "name"), LazyPath(path, "name"));
    g.port = integer(member(o, "port"), LazyPath(path, "port"));
    return g;
  }

  Source source(const json::value* v, const FieldPath& path) {
    Source s;
    s.path = path;
    const json::object* o = object(v, path, &s.presence);
    s.namespace_name = string(member(o, "namespace"), LazyPath(path, "namespace"));
    const LazyPath selector_path(path, "workloadSelector");
    if (const json::object* labels = object(member(o, "workloadSelector"), selector_path)) {
      s.selector.reserve(labels->size());
      for (const auto& [key, value] : *labels) {
        const std::string_view k(key.data(), key.size());
        s.selector.emplace_back(k, string(&value, LazyPath::key(selector_path, k)).value);
      }
    }
    return s;
  }

  Destination destination(const json::value* v, const FieldPath& path) {
    Destination d;
    d.path = path;
    const json::object* o = object(v, path, &d.presence);
    d.name = string(member(o, "name"), LazyPath(path, "name"));

    const LazyPath hosts_path(path, "hosts");
    if (const json::array* a = array(member(o, "hosts"), hosts_path, d.hosts_presence)) {
      d.hosts.reserve(a->size());
      for (std::size_t k = 0; k < a->size(); ++k) {
        d.hosts.push_back(string(&(*a)[k], LazyPath(hosts_path, k)).value);
      }
    }

    const LazyPath port_path(path, "port");
    const json::object* po = object(member(o, "port"), port_path, &d.port_presence);
    d.port.name = string(member(po, "name"), LazyPath(port_path, "name"));
    d.port.number = integer(member(po, "number"), LazyPath(port_path, "number"));
    d.port.protocol = string(member(po, "protocol"), LazyPath(port_path, "protocol"));

    d.gateway = gateway(member(o, "byEgressGateway"), LazyPath(path, "byEgressGateway"));

    const LazyPath upgrade_path(path, "httpsUpgrade");
    const json::object* uo =
        object(member(o, "httpsUpgrade"), upgrade_path, &d.https_upgrade.presence);
    d.https_upgrade.enabled = boolean(member(uo, "enabled"), LazyPath(upgrade_path, "enabled"));
    d.https_upgrade.port = integer(member(uo, "port"), LazyPath(upgrade_path, "port"));
    return d;
  }

  EgressRule rule(const json::value* v, const FieldPath& path, std::size_t rule_index) {
    EgressRule r;
    r.path = path;
    const json::object* o = object(v, path, &r.presence);
    r.name = string(member(o, "name"), LazyPath(path, "name"));

    const FieldPath from_path = path.child("from");
    if (const json::array* a = array(member(o, "from"), from_path, r.from_presence)) {
      r.from.reserve(std::min(a->size(), kMaxDecodedItems));
      for (std::size_t k = 0; k < a->size() && take_item(from_path); ++k) {
        r.from.push_back(source(&(*a)[k], from_path.index(k)));
      }
    }

    const FieldPath to_path = path.child("to");
    if (const json::array* a = array(member(o, "to"), to_path, r.to_presence)) {
      r.to.reserve(std::min(a->size(), kMaxDecodedItems));
      for (std::size_t k = 0; k < a->size() && take_item(to_path); ++k) {
        Destination d = destination(&(*a)[k], to_path.index(k));
        d.rule_index = rule_index;
        d.to_index = k;
        r.to.push_back(std::move(d));
      }
    }
    return r;
  }

 private:
  FieldErrors& errors_;
  std::size_t items_ = 0;
  bool budget_reported_ = false;
};

}  // namespace

DecodedPolicy decode_policy(const json::value& object) {
  DecodedPolicy out;
  Decoder d(out.errors);
  Policy& p = out.policy;

  const json::object* root = d.object(&object, FieldPath{});
  p.api_version = d.string(Decoder::member(root, "apiVersion"), FieldPath("apiVersion"));
  p.kind = d.string(Decoder::member(root, "kind"), FieldPath("kind"));

  const FieldPath meta_path("metadata");
  const json::object* meta = d.object(Decoder::member(root, "metadata"), meta_path);
  p.name = d.string(Decoder::member(meta, "name"), LazyPath(meta_path, "name"));
  p.generate_name = d.string(Decoder::member(meta, "generateName"), LazyPath(meta_path, "generateName"));
  p.namespace_name = d.string(Decoder::member(meta, "namespace"), LazyPath(meta_path, "namespace"));
  const FieldPath annotations_path = meta_path.child("annotations");
  if (const json::object* annotations =
          d.object(Decoder::member(meta, "annotations"), annotations_path)) {
    if (const json::value* marker = annotations->if_contains(kAllocationAnnotation)) {
      const auto* s = marker->if_string();
      p.ports_auto_allocated = s != nullptr && *s == kAllocationAnnotationValue;
    }
  }

  const FieldPath spec_path("spec");
  const json::object* spec = d.object(Decoder::member(root, "spec"), spec_path, &p.spec_presence);
  p.gateway = d.gateway(Decoder::member(spec, "byEgressGateway"), LazyPath(spec_path, "byEgressGateway"));

  const FieldPath rules_path = spec_path.child("egressRules");
  if (const json::array* a =
          d.array(Decoder::member(spec, "egressRules"), rules_path, p.rules_presence)) {
    p.rules.reserve(std::min(a->size(), kMaxDecodedItems));
    for (std::size_t i = 0; i < a->size() && d.take_item(rules_path); ++i) {
      p.rules.push_back(d.rule(&(*a)[i], rules_path.index(i), i));
    }
  }
  return out;
}

}  // namespace asmegress::policy
