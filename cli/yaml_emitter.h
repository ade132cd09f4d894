#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace asmegress::cli {

// Writes a JSON value as one block-style YAML document, the way kubectl prints
// objects: keys in the value's order, sequences under a key not indented,
// "{}" and "[]" for empty containers. Strings that would read back as another
// type ("80", "true", "null", "") or that start with an indicator are quoted,
// so that reading the text back gives the same value. Ends with a newline;
// no "---".
std::string to_yaml(const boost::json::value& value);

}  // namespace asmegress::cli
