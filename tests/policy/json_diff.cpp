#include "tests/policy/json_diff.h"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "policy/json_pointer.h"

namespace asmegress::policy {
namespace {

namespace json = boost::json;

void push_op(json::array& ops, std::string_view op, const std::string& path,
             const json::value* value) {
  json::object o(ops.storage());
  o.emplace("op", op);
  o.emplace("path", path);
  if (value != nullptr) o.emplace("value", *value);
  ops.emplace_back(std::move(o));
}

// Boost.JSON reads an overflowing number such as 0e400443 as NaN, which is not
// equal to itself: an unchanged NaN must not become a "replace" (whose value
// could not even be written as JSON).
bool same_scalar(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double() && std::isnan(a.get_double()) && std::isnan(b.get_double())) {
    return true;
  }
  return a == b;
}

// `path` is the pointer to the values being compared; it is extended in place
// and restored before returning, so the walk allocates only for new depth.
// Containers are walked rather than compared first: a whole-subtree equality
// test at every level would visit the same values once per level above them.
void diff(const json::value& from, const json::value& to, std::string& path, json::array& ops) {
  const std::size_t base = path.size();
  if (from.is_object() && to.is_object()) {
    const json::object& a = from.get_object();
    const json::object& b = to.get_object();
    for (const auto& [key, value] : a) {
      if (b.contains(key)) continue;
      append_pointer_segment(path, key);
      push_op(ops, "remove", path, nullptr);
      path.resize(base);
    }
    for (const auto& [key, value] : b) {
      append_pointer_segment(path, key);
      if (const json::value* old = a.if_contains(key)) {
        diff(*old, value, path, ops);
      } else {
        push_op(ops, "add", path, &value);
      }
      path.resize(base);
    }
    return;
  }
  if (from.is_array() && to.is_array()) {
    const json::array& a = from.get_array();
    const json::array& b = to.get_array();
    const std::size_t common = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < common; ++i) {
      path += '/';
      path += std::to_string(i);
      diff(a[i], b[i], path, ops);
      path.resize(base);
    }
    // Removing from the end keeps the earlier indices valid.
    for (std::size_t i = a.size(); i > common; --i) {
      path += '/';
      path += std::to_string(i - 1);
      push_op(ops, "remove", path, nullptr);
      path.resize(base);
    }
    for (std::size_t i = common; i < b.size(); ++i) {
      path += '/';
      path += std::to_string(i);
      push_op(ops, "add", path, &b[i]);
      path.resize(base);
    }
    return;
  }
  if (!same_scalar(from, to)) push_op(ops, "replace", path, &to);
}

}  // namespace

json::array json_patch(const json::value& from, const json::value& to) {
  json::array ops(to.storage());
  std::string path;
  diff(from, to, path, ops);
  return ops;
}

testing::AssertionResult patch_is_the_diff(const json::value& input, const MutationResult& result) {
  const json::array diff = json_patch(input, result.object);
  const std::string want = diff.empty() ? std::string() : json::serialize(diff);
  if (result.patch_json == want) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "patch: " << result.patch_json << "\n diff: " << want;
}

}  // namespace asmegress::policy
