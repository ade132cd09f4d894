#include "policy/review_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include "policy/decode.h"
#include "policy/model.h"

namespace asmegress::policy {
namespace {

namespace json = boost::json;
using boost::system::error_code;

// Where a container being built sits in the review: what its members (or
// items) are.
enum class Shape : unsigned char {
  Review, Request, RequestKind, Policy, Metadata, Annotations, Spec, Gateway, Rules, Rule,
  Sources, Source, Selector, Destinations, Destination, Hosts, Port, Upgrade,
};

// What the value after a key, or an item of a list, is to be.
struct Expect {
  enum class Kind : unsigned char {
    Drop,    // nothing reads it: not built
    Scalar,  // read as a string, number or boolean: a container there is built empty
    Object,  // an object of `shape`: another container there is built empty
    Array,   // an array of `shape`: another container there is built empty
    Stream,  // request.object or request.oldObject, to a PolicyStream
  };
  Kind kind = Kind::Drop;
  Shape shape = Shape::Review;
};
constexpr Expect kDrop{};
constexpr Expect kScalar{Expect::Kind::Scalar};
constexpr Expect object_of(Shape s) { return {Expect::Kind::Object, s}; }
constexpr Expect array_of(Shape s) { return {Expect::Kind::Array, s}; }

// The longest key that is kept where keys are filtered: longer ones are
// dropped without being gathered when they come in parts.
constexpr std::size_t kLongestKey = kAllocationAnnotation.size();

// Whether a key is `name`: written out so that it compiles to a few
// compares of words (string_view's == is left out of line in the switch
// below, a call for each of its many comparisons).
bool is(std::string_view key, std::string_view name) {
  return key.size() == name.size() && std::memcmp(key.data(), name.data(), name.size()) == 0;
}

// The members the engine reads: read_admission_request of the review, and
// decode_policy (with display_name and is_egress_policy) of its objects.
// Everything else is dropped, and a container where the engine expects a
// scalar or another container is built empty: the engine reads only its
// type, and reports it as "object" or "array", whatever it holds.
Expect member(Shape object, std::string_view key) {
  switch (object) {
    case Shape::Review:
      if (is(key, "apiVersion") || is(key, "kind")) return kScalar;
      if (is(key, "request")) return object_of(Shape::Request);
      return kDrop;
    case Shape::Request:
      if (is(key, "uid") || is(key, "operation") || is(key, "name") || is(key, "namespace") ||
          is(key, "dryRun")) {
        return kScalar;
      }
      if (is(key, "kind")) return object_of(Shape::RequestKind);
      if (is(key, "object") || is(key, "oldObject")) return object_of(Shape::Policy);
      return kDrop;
    case Shape::RequestKind: return is(key, "group") || is(key, "kind") ? kScalar : kDrop;
    case Shape::Policy:
      if (is(key, "apiVersion") || is(key, "kind")) return kScalar;
      if (is(key, "metadata")) return object_of(Shape::Metadata);
      if (is(key, "spec")) return object_of(Shape::Spec);
      return kDrop;
    case Shape::Metadata:
      // deletionTimestamp: whether the object is being deleted, for the
      // ratcheting of updates (any value but null says it is).
      if (is(key, "name") || is(key, "generateName") || is(key, "namespace") ||
          is(key, "deletionTimestamp")) {
        return kScalar;
      }
      if (is(key, "annotations")) return object_of(Shape::Annotations);
      return kDrop;
    case Shape::Annotations: return is(key, kAllocationAnnotation) ? kScalar : kDrop;
    case Shape::Spec:
      if (is(key, "byEgressGateway")) return object_of(Shape::Gateway);
      if (is(key, "egressRules")) return array_of(Shape::Rules);
      return kDrop;
    case Shape::Gateway: return is(key, "name") || is(key, "port") ? kScalar : kDrop;
    case Shape::Rule:
      if (is(key, "name")) return kScalar;
      if (is(key, "from")) return array_of(Shape::Sources);
      if (is(key, "to")) return array_of(Shape::Destinations);
      return kDrop;
    case Shape::Source:
      if (is(key, "namespace")) return kScalar;
      if (is(key, "workloadSelector")) return object_of(Shape::Selector);
      return kDrop;
    case Shape::Selector: return kScalar;  // every label
    case Shape::Destination:
      if (is(key, "name")) return kScalar;
      if (is(key, "hosts")) return array_of(Shape::Hosts);
      if (is(key, "port")) return object_of(Shape::Port);
      if (is(key, "byEgressGateway")) return object_of(Shape::Gateway);
      if (is(key, "httpsUpgrade")) return object_of(Shape::Upgrade);
      return kDrop;
    case Shape::Port:
      return is(key, "name") || is(key, "number") || is(key, "protocol") ? kScalar : kDrop;
    case Shape::Upgrade: return is(key, "enabled") || is(key, "port") ? kScalar : kDrop;
    case Shape::Rules:
    case Shape::Sources:
    case Shape::Destinations:
    case Shape::Hosts: break;  // lists: no keys
  }
  return kDrop;
}

bool is_list(Shape s) {
  return s == Shape::Rules || s == Shape::Sources || s == Shape::Destinations || s == Shape::Hosts;
}

// The handler of boost::json's own parser (a value_stack fed every event),
// except that only what the engine reads is built (member() above), and
// containers end with the count of members or items kept rather than read.
//
// Rules, sources and destinations past decode_policy's budget are dropped
// too: the DOM keeps every one decode_policy reads, and one more, so that
// it reports the budget at the same list. decode_policy reads a rule's
// sources before its destinations, whatever their order in the text, so
// each list of a rule is cut as if it came first; the next rule starts
// after both.
class ReviewHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  ReviewHandler(const json::storage_ptr& storage, OldObject old_object, Objects object,
                Objects old_objects, std::string_view text)
      : stack_(storage),
        stack_storage_(storage.get()),
        skip_old_object_(old_object == OldObject::Skip),
        stream_object_(object == Objects::Stream),
        stream_old_object_(old_objects == Objects::Stream),
        text_(text) {}

  json::value_stack& stack() { return stack_; }
  std::optional<PolicyStream>& object() { return object_; }
  std::optional<PolicyStream>& old_object() { return old_object_; }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (fed_begin(&PolicyStream::object_begin)) return true;
    if (skipping(true)) return true;
    const Expect e = expectation();
    if (e.kind == Expect::Kind::Object) {
      open(e.shape);
    } else {
      skip(e, Empty::Object);
    }
    return true;
  }

  bool on_object_end(std::size_t, error_code&) {
    if (fed_end(&PolicyStream::object_end)) return true;
    if (skipping(false)) return true;
    stack_.push_object(close());
    return true;
  }

  bool on_array_begin(error_code&) {
    if (fed_begin(&PolicyStream::array_begin)) return true;
    if (skipping(true)) return true;
    const Expect e = expectation();
    if (e.kind == Expect::Kind::Array) {
      open(e.shape);
    } else {
      skip(e, Empty::Array);
    }
    return true;
  }

  bool on_array_end(std::size_t, error_code&) {
    if (fed_end(&PolicyStream::array_end)) return true;
    if (skipping(false)) return true;
    stack_.push_array(close());
    return true;
  }

  // A key comes in parts when it holds escapes or is very long. Where keys
  // decide what is kept, the parts are gathered to decide on the whole key,
  // up to the longest key kept: past it, the key is dropped.
  bool on_key_part(std::string_view s, std::size_t, error_code&) {
    if (feed_ != nullptr) {
      feed_->key_part();
      return true;
    }
    if (skip_ > 0) return true;
    if (top().shape == Shape::Selector) {
      stack_.push_chars(s);  // every label is kept
    } else if (!key_too_long_ && key_size_ + s.size() <= kLongestKey) {
      std::copy(s.begin(), s.end(), key_parts_.begin() + static_cast<std::ptrdiff_t>(key_size_));
      key_size_ += s.size();
    } else {
      key_too_long_ = true;
    }
    return true;
  }

  bool on_key(std::string_view s, std::size_t, error_code&) {
    if (feed_ != nullptr) {
      feed_->key(s);
      return true;
    }
    if (skip_ > 0) return true;
    Frame& f = top();
    if (f.shape == Shape::Selector) {
      stack_.push_key(s);
      ++f.kept;
      next_ = kScalar;
      return true;
    }
    std::string_view key = s;
    if (key_size_ > 0 || key_too_long_) {
      if (!key_too_long_ && key_size_ + s.size() <= kLongestKey) {
        std::copy(s.begin(), s.end(), key_parts_.begin() + static_cast<std::ptrdiff_t>(key_size_));
        key = std::string_view(key_parts_.data(), key_size_ + s.size());
      } else {
        key_too_long_ = true;
      }
    }
    // A key longer than any the engine reads is none of them: its last part
    // alone must not be taken for one ("…object" for "object").
    if (key_too_long_) key = {};
    next_ = key_too_long_ ? kDrop : member(f.shape, key);
    key_size_ = 0;
    key_too_long_ = false;
    if (f.shape == Shape::Request && (is(key, "object") || is(key, "oldObject"))) {
      const bool old = is(key, "oldObject");
      if (old && skip_old_object_) {
        next_ = kDrop;
      } else if (old ? stream_old_object_ : stream_object_) {
        stream(old ? old_object_ : object_);
        next_ = kDrop;
        return true;
      }
    }
    if (next_.kind != Expect::Kind::Drop) {
      stack_.push_key(key);
      ++f.kept;
    }
    // The last of a rule's from (or to) members is the one the DOM keeps.
    if (f.shape == Shape::Rule && is(key, "from")) sources_kept_ = 0;
    if (f.shape == Shape::Rule && is(key, "to")) destinations_kept_ = 0;
    return true;
  }

  bool on_string_part(std::string_view s, std::size_t, error_code&) {
    if (PolicyStream* f = fed()) {
      f->string_part();
      return true;
    }
    if (skip_ > 0) return true;
    if (!in_string_) {
      in_string_ = true;
      string_kept_ = kept_scalar();
    }
    if (string_kept_) stack_.push_chars(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, error_code&) {
    if (PolicyStream* f = fed()) {
      f->string(s);
      if (fed_depth_ == 0) feed_ = nullptr;
      return true;
    }
    if (skip_ > 0) return true;
    const bool kept = in_string_ ? string_kept_ : kept_scalar();
    in_string_ = false;
    if (kept) stack_.push_string(s);
    return true;
  }
  bool on_number_part(std::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, std::string_view, error_code&) {
    return scalar([&](PolicyStream& f) { f.int64(i); }, [&] { stack_.push_int64(i); });
  }
  bool on_uint64(std::uint64_t u, std::string_view, error_code&) {
    return scalar([&](PolicyStream& f) { f.uint64(u); }, [&] { stack_.push_uint64(u); });
  }
  bool on_double(double d, std::string_view, error_code&) {
    return scalar([&](PolicyStream& f) { f.other_number(); }, [&] { stack_.push_double(d); });
  }
  bool on_bool(bool b, error_code&) {
    return scalar([&](PolicyStream& f) { f.boolean(b); }, [&] { stack_.push_bool(b); });
  }
  bool on_null(error_code&) {
    return scalar([&](PolicyStream& f) { f.null(); }, [&] { stack_.push_null(); });
  }
  bool on_comment_part(std::string_view, error_code&) { return true; }
  bool on_comment(std::string_view, error_code&) { return true; }

 private:
  struct Frame {
    Shape shape = Shape::Review;
    std::size_t kept = 0;   // members or items kept, for the value stack
    std::size_t items = 0;  // items met, of a list
  };
  // What a value that is not built leaves in its place.
  enum class Empty : unsigned char { Nothing, Object, Array };

  // The value after request.object or request.oldObject goes to `decoder`
  // rather than to the value. A second one fails the decoder: the DOM keeps
  // the last, and decides.
  void stream(std::optional<PolicyStream>& decoder) {
    if (decoder) {
      decoder->fail();
    } else {
      decoder.emplace(text_, stack_storage_);
    }
    feed_next_ = &*decoder;
  }
  // The decoder of the value this event belongs to, if it is streamed.
  PolicyStream* fed() {
    if (feed_next_ != nullptr) {
      feed_ = feed_next_;
      feed_next_ = nullptr;
      fed_depth_ = 0;
    }
    return feed_;
  }
  // A scalar goes to the decoder of its streamed value (a scalar outside
  // any container is that whole value), or onto the stack unless dropped.
  template <typename Fed, typename Build>
  bool scalar(Fed&& to_decoder, Build&& to_stack) {
    if (PolicyStream* f = fed()) {
      to_decoder(*f);
      if (fed_depth_ == 0) feed_ = nullptr;
    } else if (skip_ == 0 && kept_scalar()) {
      to_stack();
    }
    return true;
  }
  // A container of a streamed value starts or ends; false when no streamed
  // value is being read.
  bool fed_begin(void (PolicyStream::*begin)()) {
    PolicyStream* s = fed();
    if (s == nullptr) return false;
    (s->*begin)();
    ++fed_depth_;
    return true;
  }
  bool fed_end(void (PolicyStream::*end)()) {
    if (feed_ == nullptr) return false;
    (feed_->*end)();
    if (--fed_depth_ == 0) feed_ = nullptr;
    return true;
  }

  Frame& top() { return frames_[depth_ - 1]; }

  // What the value now starting is to be; counts it among the items of the
  // list it is in. Called once a value.
  Expect expectation() {
    if (depth_ == 0) return object_of(Shape::Review);
    Frame& f = top();
    if (!is_list(f.shape)) {
      const Expect e = next_;
      next_ = kDrop;
      return e;
    }
    const std::size_t index = f.items++;
    Expect e = kScalar;  // a host
    switch (f.shape) {
      case Shape::Rules:
        if (index > 0) budget_used_ = rule_base_ + 1 + sources_kept_ + destinations_kept_;
        rule_base_ = budget_used_;
        sources_kept_ = 0;
        destinations_kept_ = 0;
        e = budget_used_ <= kMaxDecodedItems ? object_of(Shape::Rule) : kDrop;
        break;
      case Shape::Sources:
        e = rule_base_ + 1 + index <= kMaxDecodedItems ? object_of(Shape::Source) : kDrop;
        break;
      case Shape::Destinations:
        e = rule_base_ + 1 + index <= kMaxDecodedItems ? object_of(Shape::Destination) : kDrop;
        break;
      default: break;
    }
    if (e.kind != Expect::Kind::Drop) ++f.kept;
    return e;
  }
  bool kept_scalar() { return expectation().kind != Expect::Kind::Drop; }

  void open(Shape shape) {
    frames_[depth_++] = Frame{shape, 0, 0};
    if (shape == Shape::Rules) budget_used_ = 0;  // decode_policy reads the last egressRules
  }
  // Closes the innermost container built; returns what it kept.
  std::size_t close() {
    const Frame f = frames_[--depth_];
    if (f.shape == Shape::Sources) sources_kept_ = f.kept;
    if (f.shape == Shape::Destinations) destinations_kept_ = f.kept;
    return f.kept;
  }

  // A container that is not built starts: nothing of it is kept, or, where
  // the engine reads its type, an empty one of its type.
  void skip(const Expect& e, Empty empty) {
    skip_ = 1;
    skipped_ = e.kind == Expect::Kind::Drop ? Empty::Nothing : empty;
  }
  // Inside a container not built, containers are counted; when the outermost
  // ends, its stand-in is pushed.
  bool skipping(bool opens) {
    if (skip_ == 0) return false;
    if (opens) {
      ++skip_;
      return true;
    }
    if (--skip_ == 0) {
      if (skipped_ == Empty::Object) stack_.push_object(0);
      if (skipped_ == Empty::Array) stack_.push_array(0);
    }
    return true;
  }

  json::value_stack stack_;
  json::memory_resource* stack_storage_;  // the decoders' lists draw on it too
  bool skip_old_object_;
  bool stream_object_;
  bool stream_old_object_;
  std::string_view text_;
  std::optional<PolicyStream> object_;
  std::optional<PolicyStream> old_object_;
  PolicyStream* feed_next_ = nullptr;  // the decoder of the value after this key
  PolicyStream* feed_ = nullptr;       // the decoder of the value being read
  std::size_t fed_depth_ = 0;          // containers open in it
  // Containers built, deepest last: the review nests nothing the engine
  // reads deeper than a destination's port.
  std::array<Frame, 10> frames_{};
  std::size_t depth_ = 0;
  Expect next_ = kDrop;   // the value after the key just read
  std::size_t skip_ = 0;  // containers open in a value not built
  Empty skipped_ = Empty::Nothing;
  // A key arriving in parts, where keys are filtered.
  std::array<char, kLongestKey> key_parts_{};
  std::size_t key_size_ = 0;
  bool key_too_long_ = false;
  bool in_string_ = false;    // a string arriving in parts...
  bool string_kept_ = false;  // ...and whether it is built
  // decode_policy's budget of rules, sources and destinations: items taken
  // before the current rule, and the sources and destinations it keeps.
  std::size_t budget_used_ = 0;
  std::size_t rule_base_ = 0;
  std::size_t sources_kept_ = 0;
  std::size_t destinations_kept_ = 0;
};

}  // namespace

ParsedReview parse_review(std::string_view text, json::storage_ptr storage, std::size_t max_depth,
                          OldObject old_object, Objects objects) {
  return parse_review(text, std::move(storage), max_depth, old_object, objects, objects);
}

ParsedReview parse_review(std::string_view text, json::storage_ptr storage, std::size_t max_depth,
                          OldObject old_object, Objects object, Objects old_objects) {
  json::parse_options options;
  options.max_depth = max_depth;
  // The value, and the value stack it is built on, come from `storage`; the
  // parser's own small stack is on the heap, as in stream_parser.
  json::basic_parser<ReviewHandler> parser(options, storage, old_object, object, old_objects, text);
  parser.handler().stack().reset(storage);

  // The value is moved into one of the same storage, so nothing is copied.
  ParsedReview out{.value = json::value(storage), .error = {}, .consumed = 0,
                   .object = std::nullopt, .old_object = std::nullopt};
  // As stream_parser's write() then finish() would: the same errors at the
  // same byte as the whole-DOM parse this replaced.
  out.consumed = parser.write_some(true, text.data(), text.size(), out.error);
  if (!out.error && out.consumed < text.size()) {
    out.error = json::error::extra_data;
    parser.fail(out.error);
  }
  if (!out.error) parser.write_some(false, nullptr, 0, out.error);
  if (!out.error) out.value = parser.handler().stack().release();
  out.object = std::move(parser.handler().object());
  out.old_object = std::move(parser.handler().old_object());
  return out;
}

}  // namespace asmegress::policy
