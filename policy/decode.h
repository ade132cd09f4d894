#pragma once

#include <boost/json/value.hpp>

#include "policy/field_error.h"
#include "policy/model.h"

namespace asmegress::policy {

struct DecodedPolicy {
  Policy policy;
  FieldErrors errors;  // type errors: a field of the wrong JSON type
};

// Reads what the rules need from an object; never throws on untrusted input.
// Unknown fields are ignored (the CRD's structural schema prunes them).
DecodedPolicy decode_policy(const boost::json::value& object);

}  // namespace asmegress::policy
