#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/model.h"

namespace asmegress::policy {

// Decodes a policy from a JSON parser's events, without building a DOM of the
// object: the admission path's common case, for a fraction of the cost.
//
// It handles only objects that decode without a type error: every field the
// engine reads has its JSON type, no key it reads appears twice in an object,
// and no string it keeps was escaped in the text. On anything else it gives
// up (failed()), and the caller decodes a DOM of the object with
// decode_policy, which reports what is wrong. When it succeeds, its Policy is
// the one decode_policy gives for the same object (the tests hold the two
// together, through the answers to whole reviews).
class PolicyStream {
 public:
  // Strings are kept as views into `text`, the JSON text being parsed; a
  // string to keep that is not in it (the parser unescaped it) gives up.
  // The Policy's lists draw on `resource`.
  PolicyStream(std::string_view text, boost::json::memory_resource* resource)
      : text_(text), policy_(ArenaAllocator<Policy>(resource)) {}

  void object_begin();
  void object_end();
  void array_begin();
  void array_end();
  void key(std::string_view key);
  void key_part();  // a key arriving in parts (long or escaped)
  void string(std::string_view s);
  void string_part();  // a string arriving in parts
  void int64(std::int64_t i);
  void uint64(std::uint64_t u);
  void other_number();  // a double
  void boolean(bool b);
  void null();

  // The value ended: an object, or null (no object: absent() is true).
  [[nodiscard]] bool done() const { return done_; }
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] bool absent() const { return done_ && policy_.presence == Presence::Absent; }
  // Gives up on purpose, e.g. when the object appears twice.
  void fail() { failed_ = true; }
  Policy& policy() { return policy_; }
  // Where the key "spec" of the object ends in the text being parsed
  // (nullptr when spec is absent or null): the spec's text follows, for
  // comparing two objects' spec without a value of either (spec_change.h).
  [[nodiscard]] const char* spec_key_end() const { return spec_key_end_; }

 private:
  // What an open container is.
  enum class Node : unsigned char {
    Root, Metadata, Annotations, Spec, SpecGateway, Rules, Rule, Sources, Source, Selector,
    Destinations, Destination, Hosts, Port, DestinationGateway, Upgrade,
  };
  // What the next value is for.
  enum class Target : unsigned char {
    Skip,    // nothing the engine reads: any value
    String,  // a string field (string_)
    Int,     // an integer field (int_)
    Bool,    // a boolean field (bool_)
    Object,  // an object member (node_)
    Array,   // an array member (node_)
    Item,    // an item of an array of objects (node_)
    Host,    // an item of hosts
    Label,   // a workloadSelector value
    Marker,  // the allocation marker annotation: any value
    Deletion,  // metadata.deletionTimestamp: any value but null sets it
  };
  struct Frame {
    Node node = Node::Root;
    unsigned seen = 0;  // the known keys met so far, by slot
  };

  [[nodiscard]] bool kept(std::string_view s) const {
    return s.data() >= text_.data() && s.data() + s.size() <= text_.data() + text_.size();
  }
  // The innermost open container is a list (its items have no key).
  [[nodiscard]] bool in_list() const {
    const Node n = frames_[depth_ - 1].node;
    return n == Node::Rules || n == Node::Sources || n == Node::Destinations || n == Node::Hosts;
  }
  // Inside a value being skipped: containers are counted, the rest ignored.
  bool skipping_container(bool opens);
  bool scalar(Target& target);
  void unexpected_container();
  void unexpected_scalar(Target target);
  void expect(unsigned slot, Target target);
  void enter(Node node);
  void entered(Node node);  // fills in what entering `node` says
  void set_null(Node node);
  bool take_item();
  EgressRule& rule() { return policy_.rules.back(); }
  Destination& destination() { return policy_.rules.back().to.back(); }
  Source& source() { return policy_.rules.back().from.back(); }

  std::string_view text_;
  Policy policy_;
  std::array<Frame, 8> frames_{};  // the policy nests 7 deep at most
  std::size_t depth_ = 0;          // open containers decoded
  std::size_t skip_ = 0;           // open containers inside a skipped value
  Target target_ = Target::Skip;   // for the value after the key just read
  Node node_ = Node::Root;
  Field<std::string_view>* string_ = nullptr;
  Field<std::int64_t>* int_ = nullptr;
  Field<bool>* bool_ = nullptr;
  std::size_t items_ = 0;
  const char* spec_key_end_ = nullptr;
  bool done_ = false;
  bool failed_ = false;
};

}  // namespace asmegress::policy
