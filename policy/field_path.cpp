#include "policy/field_path.h"

namespace asmegress::policy {

FieldPath FieldPath::child(std::string_view name) const {
  FieldPath p;
  p.text_.reserve(text_.size() + 1 + name.size());
  p.text_ = text_;
  if (!p.text_.empty()) p.text_ += '.';
  p.text_ += name;
  return p;
}

FieldPath FieldPath::index(std::size_t i) const {
  FieldPath p = *this;
  p.text_ += '[';
  p.text_ += std::to_string(i);
  p.text_ += ']';
  return p;
}

FieldPath FieldPath::key(std::string_view k) const {
  FieldPath p = *this;
  p.text_ += '[';
  p.text_ += k;
  p.text_ += ']';
  return p;
}

}  // namespace asmegress::policy
