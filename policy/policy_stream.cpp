#include "policy/policy_stream.h"

#include <limits>

#include "policy/decode.h"

namespace asmegress::policy {

namespace {

// Past this many labels a selector goes to decode_policy, whose objects find
// duplicate keys by hashing rather than by the linear search here.
constexpr std::size_t kMaxStreamedLabels = 64;

}  // namespace

bool PolicyStream::skipping_container(bool opens) {
  if (skip_ == 0) return false;
  if (opens) {
    ++skip_;
  } else {
    --skip_;
  }
  return true;
}

// A known key: a second one gives up, as decode_policy would keep only the
// last.
void PolicyStream::expect(unsigned slot, Target target) {
  Frame& f = frames_[depth_ - 1];
  if ((f.seen & (1U << slot)) != 0) {
    failed_ = true;
    return;
  }
  f.seen |= 1U << slot;
  target_ = target;
}

void PolicyStream::key(std::string_view key) {
  if (failed_ || skip_ > 0) return;
  target_ = Target::Skip;
  auto str = [&](unsigned slot, Field<std::string_view>& field) {
    expect(slot, Target::String);
    string_ = &field;
  };
  auto integer = [&](unsigned slot, Field<std::int64_t>& field) {
    expect(slot, Target::Int);
    int_ = &field;
  };
  auto child = [&](unsigned slot, Target kind, Node node) {
    expect(slot, kind);
    node_ = node;
  };
  switch (frames_[depth_ - 1].node) {
    case Node::Root:
      if (key == "apiVersion") str(0, policy_.api_version);
      else if (key == "kind") str(1, policy_.kind);
      else if (key == "metadata") {
        child(2, Target::Object, Node::Metadata);
        if ((frames_[depth_ - 1].seen & 8U) == 0) policy_.metadata_before_spec = true;
      } else if (key == "spec") {
        child(3, Target::Object, Node::Spec);
        // An escaped key is not in the text, and neither is where it ends.
        if (kept(key)) spec_key_end_ = key.data() + key.size();
        else failed_ = true;
      }
      break;
    case Node::Metadata:
      if (key == "name") str(0, policy_.name);
      else if (key == "generateName") str(1, policy_.generate_name);
      else if (key == "namespace") str(2, policy_.namespace_name);
      else if (key == "annotations") child(3, Target::Object, Node::Annotations);
      else if (key == "deletionTimestamp") expect(4, Target::Deletion);
      break;
    case Node::Annotations:
      if (key == kAllocationAnnotation) {
        expect(0, Target::Marker);
        policy_.allocation_marker_member = true;
      }
      break;
    case Node::Spec:
      if (key == "byEgressGateway") child(0, Target::Object, Node::SpecGateway);
      else if (key == "egressRules") child(1, Target::Array, Node::Rules);
      break;
    case Node::SpecGateway:
      if (key == "name") str(0, policy_.gateway.name);
      else if (key == "port") integer(1, policy_.gateway.port);
      break;
    case Node::Rule:
      if (key == "name") str(0, rule().name);
      else if (key == "from") child(1, Target::Array, Node::Sources);
      else if (key == "to") child(2, Target::Array, Node::Destinations);
      break;
    case Node::Source:
      if (key == "namespace") str(0, source().namespace_name);
      else if (key == "workloadSelector") child(1, Target::Object, Node::Selector);
      break;
    case Node::Selector: {
      auto& labels = source().selector;
      if (!kept(key) || labels.size() >= kMaxStreamedLabels) {
        failed_ = true;
        return;
      }
      for (const auto& label : labels) {
        if (label.first == key) {
          failed_ = true;
          return;
        }
      }
      labels.emplace_back(key, std::nullopt);
      target_ = Target::Label;
      break;
    }
    case Node::Destination:
      if (key == "name") str(0, destination().name);
      else if (key == "hosts") child(1, Target::Array, Node::Hosts);
      else if (key == "port") child(2, Target::Object, Node::Port);
      else if (key == "byEgressGateway") child(3, Target::Object, Node::DestinationGateway);
      else if (key == "httpsUpgrade") child(4, Target::Object, Node::Upgrade);
      break;
    case Node::Port:
      if (key == "name") str(0, destination().port.name);
      else if (key == "number") integer(1, destination().port.number);
      else if (key == "protocol") str(2, destination().port.protocol);
      break;
    case Node::DestinationGateway:
      if (key == "name") str(0, destination().gateway.name);
      else if (key == "port") {
        integer(1, destination().gateway.port);
        destination().gateway_port_member = true;
      }
      break;
    case Node::Upgrade:
      if (key == "enabled") {
        expect(0, Target::Bool);
        bool_ = &destination().https_upgrade.enabled;
      } else if (key == "port") integer(1, destination().https_upgrade.port);
      break;
    case Node::Rules:
    case Node::Sources:
    case Node::Destinations:
    case Node::Hosts: failed_ = true; break;  // not reached: arrays have no keys
  }
}

void PolicyStream::key_part() {
  // Whether the key is one to read is known only once it is whole.
  if (skip_ == 0) failed_ = true;
}

void PolicyStream::string_part() {
  // A deletionTimestamp is read for being there, not for its text.
  if (skip_ == 0 && target_ != Target::Skip && target_ != Target::Deletion) failed_ = true;
}

bool PolicyStream::take_item() {
  if (++items_ > kMaxDecodedItems) failed_ = true;  // decode_policy reports it
  return !failed_;
}

// The value now starting is for target_ (after a key) or is an item of the
// array open; for items, target_ is set here.
void PolicyStream::enter(Node node) {
  if (depth_ == frames_.size()) {
    failed_ = true;
    return;
  }
  frames_[depth_++] = Frame{node, 0};
  target_ = Target::Skip;
  entered(node);
}

void PolicyStream::entered(Node node) {
  switch (node) {
    case Node::Root: policy_.presence = Presence::Present; break;
    case Node::Metadata: policy_.metadata_member = Member::Object; break;
    case Node::Annotations: policy_.annotations_member = Member::Object; break;
    case Node::Spec: policy_.spec_presence = Presence::Present; break;
    case Node::SpecGateway: policy_.gateway.presence = Presence::Present; break;
    case Node::Rules: policy_.rules_presence = Presence::Present; break;
    case Node::Rule: {
      if (!take_item()) return;
      EgressRule& r = policy_.rules.emplace_back(policy_.rules.get_allocator());
      r.index = policy_.rules.size() - 1;
      r.presence = Presence::Present;
      break;
    }
    case Node::Sources: rule().from_presence = Presence::Present; break;
    case Node::Source: {
      if (!take_item()) return;
      Source& s = rule().from.emplace_back(rule().from.get_allocator());
      s.rule_index = policy_.rules.size() - 1;
      s.from_index = rule().from.size() - 1;
      s.presence = Presence::Present;
      break;
    }
    case Node::Selector: break;
    case Node::Destinations: rule().to_presence = Presence::Present; break;
    case Node::Destination: {
      if (!take_item()) return;
      EgressRule& r = rule();
      Destination& d = r.to.emplace_back(r.to.get_allocator());
      d.presence = Presence::Present;
      d.rule_index = policy_.rules.size() - 1;
      d.to_index = r.to.size() - 1;
      break;
    }
    case Node::Hosts: destination().hosts_presence = Presence::Present; break;
    case Node::Port: destination().port_presence = Presence::Present; break;
    case Node::DestinationGateway:
      destination().gateway.presence = Presence::Present;
      destination().gateway_member = Member::Object;
      break;
    case Node::Upgrade: destination().https_upgrade.presence = Presence::Present; break;
  }
}

// A null object or array member: absent, except where the patch tells null
// from absent.
void PolicyStream::set_null(Node node) {
  switch (node) {
    case Node::Metadata: policy_.metadata_member = Member::Null; break;
    case Node::Annotations: policy_.annotations_member = Member::Null; break;
    case Node::DestinationGateway: destination().gateway_member = Member::Null; break;
    case Node::Spec: spec_key_end_ = nullptr; break;  // null is absent
    default: break;
  }
}

// A container where the target takes none: a type error, unless it is a
// deletionTimestamp, which any value but null sets.
void PolicyStream::unexpected_container() {
  if (target_ == Target::Deletion) {
    policy_.deleting = true;
    skip_ = 1;
  } else {
    failed_ = true;
  }
}

void PolicyStream::object_begin() {
  if (failed_ || skipping_container(true)) return;
  if (depth_ == 0) {
    enter(Node::Root);
    return;
  }
  switch (frames_[depth_ - 1].node) {
    case Node::Rules: enter(Node::Rule); return;
    case Node::Sources: enter(Node::Source); return;
    case Node::Destinations: enter(Node::Destination); return;
    case Node::Hosts: failed_ = true; return;
    default: break;
  }
  switch (target_) {
    case Target::Skip:
    case Target::Marker: skip_ = 1; break;
    case Target::Object: enter(node_); break;
    default: unexpected_container(); break;
  }
}

void PolicyStream::array_begin() {
  if (failed_ || skipping_container(true)) return;
  if (depth_ == 0) {
    failed_ = true;
    return;
  }
  if (in_list()) {
    failed_ = true;
    return;
  }
  switch (target_) {
    case Target::Skip:
    case Target::Marker: skip_ = 1; break;
    case Target::Array: enter(node_); break;
    default: unexpected_container(); break;
  }
}

void PolicyStream::object_end() {
  if (failed_ || skipping_container(false)) return;
  target_ = Target::Skip;
  if (--depth_ == 0) done_ = true;
}

void PolicyStream::array_end() { object_end(); }

void PolicyStream::string(std::string_view s) {
  if (failed_ || skip_ > 0) return;
  if (depth_ == 0) {
    failed_ = true;
    return;
  }
  if (in_list()) {
    if (frames_[depth_ - 1].node == Node::Hosts && kept(s)) {
      Destination& d = destination();
      if (d.host_count++ < kMaxHosts) d.hosts.emplace_back(s);
    } else {
      failed_ = true;
    }
    return;
  }
  switch (target_) {
    case Target::Skip: break;
    case Target::String:
      if (!kept(s)) {
        failed_ = true;
        break;
      }
      string_->present = true;
      string_->value = s;
      break;
    case Target::Label:
      if (!kept(s)) failed_ = true;
      else source().selector.back().second = s;
      break;
    case Target::Marker: policy_.ports_auto_allocated = s == kAllocationAnnotationValue; break;
    default: unexpected_scalar(target_); break;
  }
  target_ = Target::Skip;
}

// For a scalar other than a string: whether it is for a field, whose target
// it returns in `target`. False when skipped, or when it cannot be decoded
// here (an item of a list of objects or strings).
bool PolicyStream::scalar(Target& target) {
  if (failed_ || skip_ > 0) return false;
  if (depth_ == 0 || in_list()) {
    failed_ = true;
    return false;
  }
  target = target_;
  target_ = Target::Skip;
  return target != Target::Skip && target != Target::Marker;
}

// A scalar of a type the target does not take: a type error, unless it is a
// deletionTimestamp (of any type, it is one).
void PolicyStream::unexpected_scalar(Target target) {
  if (target == Target::Deletion) {
    policy_.deleting = true;
  } else {
    failed_ = true;
  }
}

void PolicyStream::int64(std::int64_t i) {
  Target target{};
  if (!scalar(target)) return;
  if (target != Target::Int) {
    unexpected_scalar(target);
    return;
  }
  int_->present = true;
  int_->value = i;
}

void PolicyStream::uint64(std::uint64_t u) {
  if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    int64(static_cast<std::int64_t>(u));
    return;
  }
  // Beyond any port: decode_policy reports it where it is read.
  Target target{};
  if (scalar(target)) unexpected_scalar(target);
}

void PolicyStream::other_number() {
  Target target{};
  if (scalar(target)) unexpected_scalar(target);
}

void PolicyStream::boolean(bool b) {
  Target target{};
  if (!scalar(target)) return;
  if (target != Target::Bool) {
    unexpected_scalar(target);
    return;
  }
  bool_->present = true;
  bool_->value = b;
}

void PolicyStream::null() {
  if (!failed_ && skip_ == 0 && depth_ == 0) {
    done_ = true;  // no object
    return;
  }
  Target target{};
  if (!scalar(target)) return;
  switch (target) {
    case Target::String:
    case Target::Int:
    case Target::Bool: break;  // null is absent
    case Target::Object:
    case Target::Array: set_null(node_); break;
    case Target::Deletion: break;  // null is absent: not being deleted
    default: failed_ = true; break;  // a null label
  }
}

}  // namespace asmegress::policy
