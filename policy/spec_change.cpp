#include "policy/spec_change.h"

#include <optional>
#include <string_view>

#include <boost/json/parse.hpp>

namespace asmegress::policy {
namespace {

namespace json = boost::json;

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The text of the object that follows the key ending at `key_end` in `text`
// (its closing quote, a colon, the object), from its '{' to its '}'. The text
// is valid JSON, so a scan that only tells strings from the rest finds the
// end; the bounds are checked all the same.
std::optional<std::string_view> object_after_key(std::string_view text, const char* key_end) {
  const char* end = text.data() + text.size();
  const char* p = key_end;
  if (p < text.data() || p >= end || *p != '"') return std::nullopt;
  ++p;
  while (p < end && space(*p)) ++p;
  if (p == end || *p != ':') return std::nullopt;
  ++p;
  while (p < end && space(*p)) ++p;
  if (p == end || *p != '{') return std::nullopt;
  const char* begin = p;
  std::size_t depth = 0;
  for (; p < end; ++p) {
    switch (*p) {
      case '"':
        for (++p; p < end && *p != '"'; ++p) {
          if (*p == '\\') ++p;  // the escaped character, a quote perhaps
        }
        if (p >= end) return std::nullopt;
        break;
      case '{':
      case '[': ++depth; break;
      case '}':
      case ']':
        if (--depth == 0) return std::string_view(begin, static_cast<std::size_t>(p + 1 - begin));
        break;
      default: break;
    }
  }
  return std::nullopt;
}

const json::value* spec_of(const json::value& object) {
  const json::object* o = object.if_object();
  if (o == nullptr) return nullptr;
  const json::value* spec = o->if_contains("spec");
  return spec == nullptr || spec->is_null() ? nullptr : spec;
}

}  // namespace

bool same_spec(const json::value& object, const json::value& old_object) {
  const json::value* a = spec_of(object);
  const json::value* b = spec_of(old_object);
  if (a == nullptr || b == nullptr) return a == b;
  return *a == *b;
}

bool same_spec(const PolicyStream& object, const PolicyStream& old_object,
               const json::storage_ptr& storage, std::size_t max_depth) {
  const char* a_key = object.spec_key_end();
  const char* b_key = old_object.spec_key_end();
  // A spec that is absent or null is recorded as such; one of the wrong type
  // never streams.
  if (a_key == nullptr || b_key == nullptr) return a_key == b_key;
  const auto a = object_after_key(object.text(), a_key);
  const auto b = object_after_key(old_object.text(), b_key);
  if (!a || !b) return false;  // not reached for text the parser accepted
  if (*a == *b) return true;
  json::parse_options options;
  options.max_depth = max_depth;
  json::error_code error;
  const json::value a_value = json::parse(*a, error, storage, options);
  if (error) return false;
  const json::value b_value = json::parse(*b, error, storage, options);
  if (error) return false;
  return a_value == b_value;
}

}  // namespace asmegress::policy
