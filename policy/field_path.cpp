#include "policy/field_path.h"

#include <charconv>
#include <cstring>

namespace asmegress::policy {

void FieldPath::assign(std::string_view a, std::string_view b, std::string_view c,
                       std::string_view d) {
  size_ = a.size() + b.size() + c.size() + d.size();
  if (size_ <= kInline) {
    char* p = inline_;
    for (const std::string_view part : {a, b, c, d}) {
      if (!part.empty()) std::memcpy(p, part.data(), part.size());
      p += part.size();
    }
    return;
  }
  std::string text;
  text.reserve(size_);
  text.append(a).append(b).append(c).append(d);
  long_ = std::move(text);
}

FieldPath FieldPath::child(std::string_view name) const {
  FieldPath p;
  p.assign(view(), size_ == 0 ? std::string_view() : std::string_view("."), name, {});
  return p;
}

FieldPath FieldPath::index(std::size_t i) const {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
  FieldPath p;
  p.assign(view(), "[", std::string_view(digits, static_cast<std::size_t>(end - digits)), "]");
  return p;
}

FieldPath FieldPath::key(std::string_view k) const {
  FieldPath p;
  p.assign(view(), "[", k, "]");
  return p;
}

}  // namespace asmegress::policy
