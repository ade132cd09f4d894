#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "policy/admission.h"

namespace asmegress::policy {

// The tests' oracle for the engine's patches: the RFC 6902 operations that
// turn `from` into `to`, found by walking both, touching only what differs:
// members are added, removed or replaced one by one, arrays of equal length
// element by element. Paths are escaped per RFC 6901 (~0, ~1).
boost::json::array json_patch(const boost::json::value& from, const boost::json::value& to);

// Whether a mutation's patch text is exactly the diff of `input` and the
// mutated object, as boost::json::serialize writes it ("" when there is none):
// the engine writes its operations without diffing.
testing::AssertionResult patch_is_the_diff(const boost::json::value& input,
                                           const MutationResult& result);

}  // namespace asmegress::policy
