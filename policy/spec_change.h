#pragma once

#include <cstddef>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <string_view>

#include "policy/model.h"

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

// An object decoded as it was read: its Policy, and where the key "spec"
// ends in the text (PolicyStream::spec_key_end(), nullptr when spec is
// absent or null).
struct StreamedSpec {
  const Policy& policy;
  std::string_view text;
  const char* key_end;
};

// The same, for two objects decoded as they were read. Specs whose decoded
// fields differ are different (the common case of an edit, told apart for
// the price of comparing what decoding kept); equal bytes are the same
// value; otherwise each spec is parsed (into `storage`, under `max_depth`)
// and compared as values, since key order, spacing and escapes may differ
// where the values do not. The text must be one the parser read without an
// error.
bool same_spec(const StreamedSpec& object, const StreamedSpec& old_object,
               const boost::json::storage_ptr& storage, std::size_t max_depth);

}  // namespace asmegress::policy
