#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace asmegress::policy {

// A path to a field, rendered the way Kubernetes' field.Path renders it:
// spec.egressRules[0].to[1].port.number, metadata.annotations[key].
// Values are immutable; child() and index() return new paths. The text of a
// path as long as any the schema itself has lives inside the value, so
// building and copying paths while decoding costs no allocation; only paths
// through long map keys go to the heap.
class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::string_view root) { assign(root, {}, {}, {}); }

  [[nodiscard]] FieldPath child(std::string_view name) const;
  [[nodiscard]] FieldPath index(std::size_t i) const;
  [[nodiscard]] FieldPath key(std::string_view k) const;

  [[nodiscard]] std::string_view view() const {
    return size_ <= kInline ? std::string_view(inline_, size_) : std::string_view(long_);
  }
  [[nodiscard]] std::string str() const { return std::string(view()); }

 private:
  static constexpr std::size_t kInline = 96;

  // The text becomes a + b + c + d.
  void assign(std::string_view a, std::string_view b, std::string_view c, std::string_view d);

  std::size_t size_ = 0;
  char inline_[kInline]{};
  std::string long_;  // the text when longer than kInline
};

}  // namespace asmegress::policy
