#pragma once

#include <cstddef>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include "policy/policy_stream.h"

namespace asmegress::policy {

// Whether an UPDATE leaves spec as it was: the mutating webhook then patches
// nothing. A label, an annotation, a finalizer removed: none of them is the
// moment to assign ports to a stored object that left them blank (Service
// Mesh assigns them in status), and a patch there would rewrite the spec of
// an object its owner did not edit.
//
// The same JSON value, members in any order; a spec absent and a spec null
// are alike. Linear in the size of both: objects are compared by hashing
// their keys (boost::json's own lookups), never pairwise.
bool same_spec(const boost::json::value& object, const boost::json::value& old_object);

// The same, for two objects decoded as they were read, from where their spec
// lies in the text: equal bytes are the same value; otherwise each spec is
// parsed (into `storage`, under `max_depth`) and compared as values, since
// key order, spacing and escapes may differ where the values do not. The
// text must be one the parser read without an error.
bool same_spec(const PolicyStream& object, const PolicyStream& old_object,
               const boost::json::storage_ptr& storage, std::size_t max_depth);

}  // namespace asmegress::policy
