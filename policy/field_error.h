#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "policy/field_path.h"
#include "policy/message_list.h"

namespace asmegress::policy {

// The kinds of field error Kubernetes reports (k8s.io/apimachinery's
// field.ErrorType); the API server and kubectl render them the same way.
enum class ErrorType {
  Required,
  Invalid,
  NotSupported,
  Duplicate,
  Forbidden,
  TooLong,
  TooMany,
  Internal,
};

// One validation error as a value: what is wrong, where, and the offending
// value, so that all of them can be gathered and reported at once.
struct FieldError {
  ErrorType type = ErrorType::Invalid;
  std::string field;
  // The bad value as Go's %#v would print it (strings quoted), when it is shown.
  std::optional<std::string> bad_value;
  std::string detail;

  // "Invalid value: \"80\": must be an integer" — field.Error.ErrorBody().
  [[nodiscard]] std::string body() const;
  // "spec.x: Invalid value: ..." — field.Error.Error().
  [[nodiscard]] std::string message() const;
  // The StatusCause reason: "FieldValueInvalid", "FieldValueRequired", ...
  [[nodiscard]] std::string_view cause_type() const;

  static FieldError required(const FieldPath& path, std::string detail = {});
  static FieldError invalid(const FieldPath& path, const boost::json::value& value,
                            std::string detail);
  static FieldError invalid(const FieldPath& path, std::string_view value, std::string detail);
  static FieldError invalid(const FieldPath& path, long long value, std::string detail);
  static FieldError not_supported(const FieldPath& path, const boost::json::value& value,
                                  std::span<const std::string_view> supported);
  static FieldError duplicate(const FieldPath& path, std::string_view value);
  static FieldError forbidden(const FieldPath& path, std::string detail);
  static FieldError too_many(const FieldPath& path, std::size_t actual, std::size_t max);
  static FieldError internal(const FieldPath& path, std::string detail);
};

using FieldErrors = MessageList<FieldError>;

// Renders a JSON value the way Kubernetes prints a bad value: strings quoted,
// numbers and booleans bare, objects and arrays summarised.
std::string render_bad_value(const boost::json::value& value);
std::string quote(std::string_view s);

}  // namespace asmegress::policy
