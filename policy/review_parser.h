#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include "policy/policy_stream.h"

namespace asmegress::policy {

// Parses the text of an AdmissionReview into a value holding only what the
// engine reads: at the top apiVersion, kind and request; in request uid,
// kind (its group and kind), operation, name, namespace, dryRun, object and
// oldObject; in object and oldObject only the members decode_policy reads,
// at every level it decodes (metadata's name, generateName, namespace,
// deletionTimestamp and annotations, of these only the allocator's marker,
// spec's byEgressGateway and egressRules, and so on). A container where the engine reads a scalar
// or another kind of container is built empty, of its own kind: only its
// kind is read, and an error shows it as "object" or "array" whatever it
// holds. Rules, sources and destinations past decode_policy's budget are not
// built either (it reads every one before, and the one it stops at).
// Everything else (userInfo, managedFields, status, unknown members...) is
// checked as JSON like the rest, but no value is built for it: a review's
// memory follows what the engine reads, not what it was sent.
//
// Errors are those of boost::json::stream_parser given the whole text in one
// write(): the same codes at the same byte.

// Whether request.oldObject is built. The mutating webhook reads it (the
// ports an UPDATE keeps); the validating one does not, and skips it.
enum class OldObject : unsigned char { Build, Skip };

// Whether request.object and request.oldObject are built as values, or
// decoded by a PolicyStream as they are read (and left out of the value).
enum class Objects : unsigned char { Build, Stream };

struct ParsedReview {
  boost::json::value value;
  boost::system::error_code error;
  std::size_t consumed = 0;  // bytes read before the error, if any
  // With Objects::Stream: the decoders of request.object and
  // request.oldObject, empty when the member did not come. A member that
  // came twice has its decoder failed.
  std::optional<PolicyStream> object;
  std::optional<PolicyStream> old_object;
};

ParsedReview parse_review(std::string_view text, boost::json::storage_ptr storage,
                          std::size_t max_depth, OldObject old_object = OldObject::Build,
                          Objects objects = Objects::Build);
// The same, with request.object read as `object` and request.oldObject (when
// it is read) as `old_objects`.
ParsedReview parse_review(std::string_view text, boost::json::storage_ptr storage,
                          std::size_t max_depth, OldObject old_object, Objects object,
                          Objects old_objects);

}  // namespace asmegress::policy
