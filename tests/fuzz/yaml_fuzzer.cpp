// The YAML front end of the offline check, on hostile text:
//   - parse_yaml_documents returns documents or an error with a place, never
//     crashes, never exceeds its depth or node limits;
//   - every document read back from to_yaml (kubectl-style writing) is the
//     same value (the writer's promise in cli/yaml_emitter.h);
//   - every document goes through the engine exactly as `check` sends it.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "cli/yaml_document.h"
#include "cli/yaml_emitter.h"
#include "policy/admission.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace json = boost::json;

// Equal as values; doubles compare by value, with NaN equal to NaN, because
// the YAML core schema has .nan and JSON equality does not treat it as equal.
bool same_value(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    return (std::isnan(x) && std::isnan(y)) || x == y;
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const json::array& x = a.get_array();
    const json::array& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same_value(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const json::object& x = a.get_object();
    const json::object& y = b.get_object();
    if (x.size() != y.size()) return false;
    auto j = y.begin();
    for (auto i = x.begin(); i != x.end(); ++i, ++j) {
      if (i->key() != j->key() || !same_value(i->value(), j->value())) return false;
    }
    return true;
  }
  return a == b;
}

std::size_t depth_of(const json::value& value) {
  std::size_t deepest = 0;
  if (const json::array* array = value.if_array()) {
    for (const json::value& item : *array) deepest = std::max(deepest, depth_of(item));
    return deepest + 1;
  }
  if (const json::object* object = value.if_object()) {
    for (const auto& member : *object) deepest = std::max(deepest, depth_of(member.value()));
    return deepest + 1;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Smaller than the defaults, so one input stays fast; the bounds themselves
  // are what is checked.
  const asmegress::cli::YamlLimits limits{100'000, 200};
  const auto documents = asmegress::cli::parse_yaml_documents(text, "fuzz.yaml", limits);
  if (!documents) {
    ASM_FUZZ_CHECK(!documents.error().message.empty(), "an error without a message");
    return 0;
  }
  for (const asmegress::cli::YamlDocument& document : *documents) {
    ASM_FUZZ_CHECK(document.line >= 1, json::serialize(document.value));
    ASM_FUZZ_CHECK(depth_of(document.value) <= limits.max_depth + 1,
                   "a document deeper than the limit");

    const std::string written = asmegress::cli::to_yaml(document.value);
    const auto reread = asmegress::cli::parse_yaml_documents(written, "written.yaml");
    ASM_FUZZ_CHECK(reread.has_value(), "to_yaml wrote unreadable text:\n" + written +
                                           "\nerror: " + reread.error().to_string());
    // An empty or null document is skipped on reading, so it reads back as none.
    if (document.value.is_null()) continue;
    ASM_FUZZ_CHECK(reread->size() == 1, "to_yaml wrote other than one document:\n" + written);
    ASM_FUZZ_CHECK(same_value(document.value, reread->front().value),
                   json::serialize(document.value) + " was written as\n" + written +
                       "and read back as " + json::serialize(reread->front().value));

    if (!asmegress::policy::is_egress_policy(document.value)) continue;
    const asmegress::policy::Settings settings;
    const auto validation = asmegress::policy::validate_policy(
        document.value, nullptr, asmegress::policy::Operation::Create, settings);
    const auto mutation = asmegress::policy::mutate_policy(document.value, nullptr, settings);
    if (mutation.errors.empty() && !mutation.patch_json.empty()) {
      const auto again = asmegress::policy::mutate_policy(mutation.object, nullptr, settings);
      ASM_FUZZ_CHECK(again.patch_json.empty(), "mutation is not idempotent");
    }
    (void)validation;
  }
  return 0;
}
