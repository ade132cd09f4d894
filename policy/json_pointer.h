#pragma once

#include <string>
#include <string_view>

namespace asmegress::policy {

// "/metadata/annotations/a~1b" from the segment "a/b": RFC 6901 escaping.
void append_pointer_segment(std::string& pointer, std::string_view segment);

}  // namespace asmegress::policy
