#include "policy/review_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

namespace asmegress::policy {
namespace {

namespace json = boost::json;
using boost::system::error_code;

constexpr std::array<std::string_view, 3> kReviewKeys{"apiVersion", "kind", "request"};
constexpr std::array<std::string_view, 8> kRequestKeys{
    "uid", "kind", "operation", "name", "namespace", "dryRun", "object", "oldObject"};
constexpr std::size_t kLongestListedKey = 10;  // "apiVersion"
static_assert(std::ranges::all_of(kReviewKeys, [](auto k) { return k.size() <= kLongestListedKey; }) &&
              std::ranges::all_of(kRequestKeys, [](auto k) { return k.size() <= kLongestListedKey; }));
// Server-side field ownership: often the largest part of an object's
// metadata, and nothing the engine reads or patches.
constexpr std::string_view kManagedFields = "managedFields";

// What an open object drops. The review and its request keep only the keys
// listed above (the request not even oldObject, when asked); object and oldObject keep everything (their metadata is
// found by key); their metadata drops managedFields. Other containers are
// built whole.
enum class Level : unsigned char { Whole, Review, Request, Object, Metadata };
constexpr std::size_t kFilteredDepth = 4;  // review, request, object, metadata

// The handler of boost::json's own parser (a value_stack fed every event),
// except that the objects above drop members by key, with everything inside
// them, and end with the count of members kept rather than read.
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
    if (enter_dropped()) return true;
    open(depth_ == 0 ? Level::Review : next_);
    return true;
  }

  bool on_object_end(std::size_t n, error_code&) {
    if (fed_end(&PolicyStream::object_end)) return true;
    if (leave_dropped()) return true;
    if (level() != Level::Whole) n = kept_[depth_];
    close();
    stack_.push_object(n);
    return true;
  }

  bool on_array_begin(error_code&) {
    if (fed_begin(&PolicyStream::array_begin)) return true;
    if (enter_dropped()) return true;
    open(Level::Whole);
    return true;
  }

  bool on_array_end(std::size_t n, error_code&) {
    if (fed_end(&PolicyStream::array_end)) return true;
    if (leave_dropped()) return true;
    close();
    stack_.push_array(n);
    return true;
  }

  // A key comes in parts when it holds escapes or is very long. Where keys
  // decide what is kept, the parts are gathered to decide on the whole key.
  // In the review and its request only listed keys are kept: past the
  // longest of them, a key is known to be dropped and need not be gathered.
  bool on_key_part(std::string_view s, std::size_t, error_code&) {
    if (feed_ != nullptr) {
      feed_->key_part();
      return true;
    }
    if (skip_ > 0) return true;
    switch (level()) {
      case Level::Whole: stack_.push_chars(s); break;
      case Level::Review:
      case Level::Request:
        if (key_parts_.size() <= kLongestListedKey) key_parts_.append(s);
        break;
      case Level::Object:
      case Level::Metadata: key_parts_.append(s); break;
    }
    return true;
  }

  bool on_key(std::string_view s, std::size_t, error_code&) {
    if (feed_ != nullptr) {
      feed_->key(s);
      return true;
    }
    if (skip_ > 0) return true;
    next_ = Level::Whole;
    if (level() == Level::Whole) {
      stack_.push_key(s);
      return true;
    }
    std::string_view key = s;
    if (!key_parts_.empty()) {
      key_parts_.append(s);
      key = key_parts_;
    }
    bool keep = true;
    switch (level()) {
      case Level::Whole: break;
      case Level::Review:
        keep = listed(kReviewKeys, key);
        if (key == "request") next_ = Level::Request;
        break;
      case Level::Request:
        keep = listed(kRequestKeys, key) && !(skip_old_object_ && key == "oldObject");
        if (key == "object" || key == "oldObject") {
          next_ = Level::Object;
          if (keep && (key == "object" ? stream_object_ : stream_old_object_)) {
            stream(key == "object" ? object_ : old_object_);
            next_ = Level::Whole;
            key_parts_.clear();
            return true;
          }
        }
        break;
      case Level::Object:
        if (key == "metadata") next_ = Level::Metadata;
        break;
      case Level::Metadata: keep = key != kManagedFields; break;
    }
    if (keep) {
      ++kept_[depth_];
      stack_.push_key(key);
    } else {
      drop_next_ = true;
    }
    key_parts_.clear();
    return true;
  }

  bool on_string_part(std::string_view s, std::size_t, error_code&) {
    if (PolicyStream* f = fed()) {
      f->string_part();
      return true;
    }
    if (skip_ == 0 && !drop_next_) stack_.push_chars(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, error_code&) {
    return scalar([&](PolicyStream& f) { f.string(s); }, [&] { stack_.push_string(s); });
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
    } else if (!drop_scalar()) {
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

  template <std::size_t N>
  static bool listed(const std::array<std::string_view, N>& keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }

  // The level of the innermost open container; below the filtered depth
  // everything is whole.
  [[nodiscard]] Level level() const {
    return depth_ <= kFilteredDepth ? levels_[depth_] : Level::Whole;
  }

  void open(Level level) {
    ++depth_;
    // A filtered object is only ever at the depth of its level.
    if (depth_ <= kFilteredDepth) {
      levels_[depth_] = level;
      kept_[depth_] = 0;
    }
    next_ = Level::Whole;
  }
  void close() {
    --depth_;
    next_ = Level::Whole;
  }

  // A container starts: inside a dropped value, or as one.
  bool enter_dropped() {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    if (drop_next_) {
      drop_next_ = false;
      skip_ = 1;
      return true;
    }
    return false;
  }
  bool leave_dropped() {
    if (skip_ == 0) return false;
    --skip_;
    return true;
  }
  bool drop_scalar() {
    if (skip_ > 0) return true;
    if (drop_next_) {
      drop_next_ = false;
      return true;
    }
    next_ = Level::Whole;
    return false;
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
  std::size_t depth_ = 0;   // containers open and built; index 0 is outside them all
  std::size_t skip_ = 0;    // containers open inside a dropped value
  bool drop_next_ = false;  // the value after a dropped key
  std::string key_parts_;  // a key arriving in parts, where keys are filtered
  Level next_ = Level::Whole;  // the level of an object that is the next value
  std::array<Level, kFilteredDepth + 1> levels_{};
  std::array<std::size_t, kFilteredDepth + 1> kept_{};  // members kept in each open object
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
  json::basic_parser<ReviewHandler> parser(options, storage, old_object, object, old_objects,
                                            text);
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
