#include "policy/field_error.h"

#include <boost/json.hpp>

namespace asmegress::policy {
namespace {

std::string_view type_text(ErrorType t) {
  switch (t) {
    case ErrorType::Required: return "Required value";
    case ErrorType::Invalid: return "Invalid value";
    case ErrorType::NotSupported: return "Unsupported value";
    case ErrorType::Duplicate: return "Duplicate value";
    case ErrorType::Forbidden: return "Forbidden";
    case ErrorType::TooLong: return "Too long";
    case ErrorType::TooMany: return "Too many";
    case ErrorType::Internal: return "Internal error";
  }
  return "Invalid value";
}

// Values are echoed back to the user inside messages and logs; a megabyte
// string must not become a megabyte error.
constexpr std::size_t kMaxRenderedValue = 96;

}  // namespace

std::string quote(std::string_view s) {
  std::string out = boost::json::serialize(boost::json::string_view(s.data(), s.size()));
  if (out.size() > kMaxRenderedValue) {
    out.resize(kMaxRenderedValue - 4);
    out += "...\"";
  }
  return out;
}

std::string render_bad_value(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::string: return quote(value.get_string());
    case boost::json::kind::object: return "\"object\"";
    case boost::json::kind::array: return "\"array\"";
    case boost::json::kind::null: return "null";
    default: return boost::json::serialize(value);
  }
}

std::string FieldError::body() const {
  std::string s(type_text(type));
  const bool shows_value = type != ErrorType::Required && type != ErrorType::Forbidden &&
                           type != ErrorType::TooLong && type != ErrorType::Internal;
  if (shows_value && bad_value) {
    s += ": ";
    s += *bad_value;
  }
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

std::string FieldError::message() const { return field + ": " + body(); }

std::string_view FieldError::cause_type() const {
  switch (type) {
    case ErrorType::Required: return "FieldValueRequired";
    case ErrorType::Invalid: return "FieldValueInvalid";
    case ErrorType::NotSupported: return "FieldValueNotSupported";
    case ErrorType::Duplicate: return "FieldValueDuplicate";
    case ErrorType::Forbidden: return "FieldValueForbidden";
    case ErrorType::TooLong: return "FieldValueTooLong";
    case ErrorType::TooMany: return "FieldValueTooMany";
    case ErrorType::Internal: return "InternalError";
  }
  return "FieldValueInvalid";
}

FieldError FieldError::required(const FieldPath& path, std::string detail) {
  return {ErrorType::Required, path.str(), std::nullopt, std::move(detail)};
}

FieldError FieldError::invalid(const FieldPath& path, const boost::json::value& value,
                               std::string detail) {
  return {ErrorType::Invalid, path.str(), render_bad_value(value), std::move(detail)};
}

FieldError FieldError::invalid(const FieldPath& path, std::string_view value,
                               std::string detail) {
  return {ErrorType::Invalid, path.str(), quote(value), std::move(detail)};
}

FieldError FieldError::invalid(const FieldPath& path, long long value, std::string detail) {
  return {ErrorType::Invalid, path.str(), std::to_string(value), std::move(detail)};
}

FieldError FieldError::not_supported(const FieldPath& path, const boost::json::value& value,
                                     std::span<const std::string_view> supported) {
  std::string detail = "supported values: ";
  for (std::size_t i = 0; i < supported.size(); ++i) {
    if (i != 0) detail += ", ";
    detail += quote(supported[i]);
  }
  return {ErrorType::NotSupported, path.str(), render_bad_value(value), std::move(detail)};
}

FieldError FieldError::duplicate(const FieldPath& path, std::string_view value) {
  return {ErrorType::Duplicate, path.str(), quote(value), {}};
}

FieldError FieldError::forbidden(const FieldPath& path, std::string detail) {
  return {ErrorType::Forbidden, path.str(), std::nullopt, std::move(detail)};
}

FieldError FieldError::too_many(const FieldPath& path, std::size_t actual, std::size_t max) {
  return {ErrorType::TooMany, path.str(), std::to_string(actual),
          "must have at most " + std::to_string(max) + " items"};
}

FieldError FieldError::internal(const FieldPath& path, std::string detail) {
  return {ErrorType::Internal, path.str(), std::nullopt, std::move(detail)};
}

}  // namespace asmegress::policy
