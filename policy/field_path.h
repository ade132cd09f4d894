#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace asmegress::policy {

// A path to a field, rendered the way Kubernetes' field.Path renders it:
// spec.egressRules[0].to[1].port.number, metadata.annotations[key].
// Values are cheap to copy and immutable; child() and index() return new paths.
class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::string_view root) : text_(root) {}

  [[nodiscard]] FieldPath child(std::string_view name) const;
  [[nodiscard]] FieldPath index(std::size_t i) const;
  [[nodiscard]] FieldPath key(std::string_view k) const;

  [[nodiscard]] const std::string& str() const { return text_; }

 private:
  std::string text_;
};

}  // namespace asmegress::policy
