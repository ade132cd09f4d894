#pragma once

#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace asmegress::policy {

// RFC 6902 operations that turn `from` into `to`, touching only what differs:
// members are added, removed or replaced one by one, arrays of equal length
// element by element. Paths are escaped per RFC 6901 (~0, ~1).
boost::json::array json_patch(const boost::json::value& from, const boost::json::value& to);

// "/metadata/annotations/a~1b" from the segment "a/b": RFC 6901 escaping.
void append_pointer_segment(std::string& pointer, std::string_view segment);

}  // namespace asmegress::policy
