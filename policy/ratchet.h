#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/json/storage_ptr.hpp>

#include "policy/field_error.h"
#include "policy/settings.h"

namespace asmegress::policy {

// Ratcheting, as the API server does it for CRD schemas since Kubernetes 1.30
// (KEP-4008): on UPDATE, an error that the old object already had does not
// deny. Webhooks get no such help from the API server, and without it an
// object stored before the webhook (or before a rule) could never be
// updated again, not even to remove its finalizer once it is being deleted.
//
// An error is the old one when field path, type, value and detail are all the
// same. Moves from `errors` to `unchanged` every error that `old_errors`
// has, each old error matching at most one new error; both keep their order.
// Linear in the errors' text: the old errors are hashed (keyed with a secret
// of the process, so that no request can make them collide), never compared
// pairwise.
void ratchet(FieldErrors& errors, const FieldErrors& old_errors, FieldErrors& unchanged);

// The validation errors of request.oldObject in the AdmissionReview
// `review_text` (type errors and rule errors, as validate reports them for
// request.object), parsed again for them into `storage`; nullopt when the
// review has no oldObject. The text is one that parse_review already read
// without an error.
std::optional<FieldErrors> old_object_errors(std::string_view review_text,
                                             const boost::json::storage_ptr& storage,
                                             std::size_t max_depth, const Settings& settings);

}  // namespace asmegress::policy
