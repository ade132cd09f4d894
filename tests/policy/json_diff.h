#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace asmegress::policy {

// The tests' oracle for the engine's patches: the RFC 6902 operations that
// turn `from` into `to`, found by walking both, touching only what differs:
// members are added, removed or replaced one by one, arrays of equal length
// element by element. Paths are escaped per RFC 6901 (~0, ~1).
boost::json::array json_patch(const boost::json::value& from, const boost::json::value& to);

}  // namespace asmegress::policy
