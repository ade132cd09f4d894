#pragma once

#include <cstddef>

#include <boost/json/value.hpp>

#include "policy/field_error.h"
#include "policy/model.h"

namespace asmegress::policy {

// At most this many rules, sources and destinations are decoded in all.
inline constexpr std::size_t kMaxDecodedItems = 20000;

struct DecodedPolicy {
  Policy policy;
  FieldErrors errors;  // type errors: a field of the wrong JSON type
};

// Reads what the rules need from an object; never throws on untrusted input
// (but the memory resource of the object's storage may). Unknown fields are
// ignored (the CRD's structural schema prunes them). The Policy's lists draw
// on the object's storage.
DecodedPolicy decode_policy(const boost::json::value& object);

}  // namespace asmegress::policy
