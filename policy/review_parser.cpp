#include "policy/review_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

namespace asmegress::policy {
namespace {

namespace json = boost::json;
using boost::system::error_code;

constexpr std::array<std::string_view, 3> kReviewKeys{"apiVersion", "kind", "request"};
constexpr std::array<std::string_view, 8> kRequestKeys{
    "uid", "kind", "operation", "name", "namespace", "dryRun", "object", "oldObject"};
constexpr std::size_t kLongestKey = 10;  // "apiVersion"

// The handler of boost::json's own parser (a value_stack fed every event),
// except that in the review object and in its request object a member whose
// key is not kept is dropped with everything inside it. Those two objects
// then end with the count of members kept rather than read.
class ReviewHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  explicit ReviewHandler(const json::storage_ptr& storage) : stack_(storage) {}

  json::value_stack& stack() { return stack_; }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    if (enter_dropped()) return true;
    ++depth_;
    if (depth_ == 1) {
      review_open_ = true;
      kept_[0] = 0;
    } else if (depth_ == 2 && request_key_) {
      request_open_ = true;
      kept_[1] = 0;
    }
    return true;
  }

  bool on_object_end(std::size_t n, error_code&) {
    if (leave_dropped()) return true;
    if (filtered()) n = kept_[depth_ - 1];
    if (depth_ == 2) request_open_ = false;
    if (depth_ == 1) review_open_ = false;
    --depth_;
    stack_.push_object(n);
    return true;
  }

  bool on_array_begin(error_code&) {
    if (enter_dropped()) return true;
    ++depth_;
    return true;
  }

  bool on_array_end(std::size_t n, error_code&) {
    if (leave_dropped()) return true;
    --depth_;
    stack_.push_array(n);
    return true;
  }

  bool on_key_part(std::string_view s, std::size_t, error_code&) {
    if (skip_ > 0) return true;
    if (filtered()) {
      gather_key(s);
    } else {
      stack_.push_chars(s);
    }
    return true;
  }

  bool on_key(std::string_view s, std::size_t, error_code&) {
    if (skip_ > 0) return true;
    if (!filtered()) {
      stack_.push_key(s);
      return true;
    }
    gather_key(s);
    const std::string_view key = key_long_ ? std::string_view() : std::string_view(key_.data(), key_length_);
    key_length_ = 0;
    key_long_ = false;
    const bool in_review = depth_ == 1;
    const auto& kept = in_review ? std::span<const std::string_view>(kReviewKeys)
                                 : std::span<const std::string_view>(kRequestKeys);
    if (in_review) request_key_ = key == "request";
    if (std::find(kept.begin(), kept.end(), key) == kept.end()) {
      drop_next_ = true;
      return true;
    }
    ++kept_[depth_ - 1];
    stack_.push_key(key);
    return true;
  }

  bool on_string_part(std::string_view s, std::size_t, error_code&) {
    if (skip_ == 0 && !drop_next_) stack_.push_chars(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, error_code&) {
    if (!drop_scalar()) stack_.push_string(s);
    return true;
  }
  bool on_number_part(std::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, std::string_view, error_code&) {
    if (!drop_scalar()) stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, std::string_view, error_code&) {
    if (!drop_scalar()) stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, std::string_view, error_code&) {
    if (!drop_scalar()) stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    if (!drop_scalar()) stack_.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    if (!drop_scalar()) stack_.push_null();
    return true;
  }
  bool on_comment_part(std::string_view, error_code&) { return true; }
  bool on_comment(std::string_view, error_code&) { return true; }

 private:
  // Whether the innermost open container drops members by key.
  [[nodiscard]] bool filtered() const {
    return (depth_ == 1 && review_open_) || (depth_ == 2 && request_open_);
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
    return false;
  }

  // Only keys up to the longest kept one are worth keeping.
  void gather_key(std::string_view s) {
    if (key_long_ || key_length_ + s.size() > kLongestKey) {
      key_long_ = true;
      return;
    }
    std::copy(s.begin(), s.end(), key_.begin() + static_cast<std::ptrdiff_t>(key_length_));
    key_length_ += s.size();
  }

  json::value_stack stack_;
  std::size_t depth_ = 0;  // containers open and built
  std::size_t skip_ = 0;   // containers open inside a dropped value
  bool drop_next_ = false;  // the value after a dropped key
  bool review_open_ = false;   // depth 1 is the review object
  bool request_open_ = false;  // depth 2 is its request object
  bool request_key_ = false;   // the review's last key was "request"
  std::array<std::size_t, 2> kept_{};  // members kept in the review and request objects
  std::array<char, kLongestKey> key_{};
  std::size_t key_length_ = 0;
  bool key_long_ = false;
};

}  // namespace

ParsedReview parse_review(std::string_view text, json::storage_ptr storage, std::size_t max_depth) {
  json::parse_options options;
  options.max_depth = max_depth;
  // The parser's own stack and the value both come from `storage`.
  json::basic_parser<ReviewHandler> parser(options, storage);
  parser.handler().stack().reset(storage);

  // The value is moved into one of the same storage, so nothing is copied.
  ParsedReview out{.value = json::value(storage), .error = {}, .consumed = 0};
  // As stream_parser's write() then finish() would: the same errors at the
  // same byte as the whole-DOM parse this replaced.
  out.consumed = parser.write_some(true, text.data(), text.size(), out.error);
  if (!out.error && out.consumed < text.size()) {
    out.error = json::error::extra_data;
    parser.fail(out.error);
  }
  if (!out.error) parser.write_some(false, nullptr, 0, out.error);
  if (!out.error) out.value = parser.handler().stack().release();
  return out;
}

}  // namespace asmegress::policy
