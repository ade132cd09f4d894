#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

namespace asmegress::cli {

// One document of a YAML (or JSON) stream, as the JSON value the API server
// would store for it.
struct YamlDocument {
  boost::json::value value;
  std::size_t line = 0;  // 1-based line of the document's first node
};

// Why a stream could not be read, with the place it went wrong.
struct YamlError {
  std::string file;
  std::size_t line = 0;  // 1-based; 0 when the place is unknown
  std::size_t column = 0;
  std::string message;

  // "policy.yaml:12:3: illegal map value", the compiler-style place first.
  [[nodiscard]] std::string to_string() const;
};

// Lets result<T, YamlError>::value() throw; callers normally test the result.
[[noreturn]] void throw_exception_from_error(const YamlError& error,
                                             const boost::source_location& location);

// Bounds on what one stream may expand to, so that hostile input (an alias
// "billion laughs", deeply nested brackets) is an error, not a crash.
struct YamlLimits {
  std::size_t max_nodes = 1'000'000;  // values after alias expansion, whole stream
  // Nested sequences and mappings. yaml-cpp's own recursion guard stops near
  // 500 levels with a vague message; staying well below it gives a clear one,
  // and everything read can be written and read back.
  std::size_t max_depth = 256;
};

using YamlDocuments = boost::system::result<std::vector<YamlDocument>, YamlError>;

// Reads a stream of YAML 1.2 (JSON included) documents separated by "---".
// Plain scalars are resolved with the core schema (null, booleans, integers,
// floats, else strings); quoted scalars are strings; mapping keys are their
// text. Empty and null documents are skipped. `file_name` only labels errors.
YamlDocuments parse_yaml_documents(std::string_view text, std::string_view file_name,
                                   const YamlLimits& limits = {});

}  // namespace asmegress::cli
