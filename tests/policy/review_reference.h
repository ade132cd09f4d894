#pragma once

// The reference parse_review is tested against: Boost.JSON's own whole-DOM
// parse (stream_parser, one write() then finish()), after which the members
// the engine does not read are removed: from the review, from its request
// (oldObject too, unless kept), and managedFields from the metadata of object
// and oldObject.
// Shared by the unit tests and the review fuzz target.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

#include <boost/json.hpp>

namespace asmegress::policy::test {

struct ReferenceParse {
  boost::json::value value;
  boost::system::error_code error;
  std::size_t consumed = 0;
};

// Keeps the members whose key `keep` accepts. Rebuilt rather than erased
// from, which would reorder the members.
inline void keep_members(boost::json::object& object, const auto& keep) {
  boost::json::object out(object.storage());
  for (auto& member : object) {
    const std::string_view key(member.key().data(), member.key().size());
    if (keep(key)) out.emplace(key, std::move(member.value()));
  }
  object = std::move(out);
}

inline auto listed_in(const auto& keys) {
  return [&keys](std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
}
inline auto other_than(std::string_view dropped) {
  return [dropped](std::string_view key) { return key != dropped; };
}

inline ReferenceParse reference_parse_review(std::string_view text, std::size_t max_depth,
                                             bool keep_old_object = true) {
  static constexpr std::array<std::string_view, 3> review_keys{"apiVersion", "kind", "request"};
  static constexpr std::array<std::string_view, 8> request_keys{
      "uid", "kind", "operation", "name", "namespace", "dryRun", "object", "oldObject"};
  boost::json::parse_options options;
  options.max_depth = max_depth;
  boost::json::stream_parser parser({}, options);
  ReferenceParse out;
  out.consumed = parser.write(text.data(), text.size(), out.error);
  if (!out.error) parser.finish(out.error);
  if (out.error) return out;
  out.value = parser.release();
  if (auto* review = out.value.if_object()) {
    keep_members(*review, listed_in(review_keys));
    if (auto* request = review->if_contains("request"); request != nullptr && request->is_object()) {
      keep_members(request->get_object(), listed_in(request_keys));
      if (!keep_old_object) keep_members(request->get_object(), other_than("oldObject"));
      for (const std::string_view key : {"object", "oldObject"}) {
        auto* object = request->get_object().if_contains(key);
        if (object == nullptr || !object->is_object()) continue;
        auto* metadata = object->get_object().if_contains("metadata");
        if (metadata == nullptr || !metadata->is_object()) continue;
        keep_members(metadata->get_object(), other_than("managedFields"));
      }
    }
  }
  return out;
}

}  // namespace asmegress::policy::test
