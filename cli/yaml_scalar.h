#pragma once

#include <string_view>

#include <boost/json/value.hpp>

namespace asmegress::cli {

// What a plain (unquoted, untagged) scalar means under the YAML 1.2 core
// schema: null, a boolean, an integer (int64, or uint64 beyond it), a float
// (including .inf and .nan), or else the string itself. Quoted scalars are
// always strings and never come here.
boost::json::value resolve_plain_scalar(std::string_view text);

// How a string is written so that reading it back gives the same string.
enum class ScalarStyle {
  Plain,         // reads back as this string under the core schema and YAML 1.1
  SingleQuoted,  // printable, one line
  DoubleQuoted,  // needs escapes (control characters, line breaks, ...)
  Literal,       // a block scalar ("|"), for multi-line text that allows it
};

// `allow_literal` is false for keys and top-level scalars, which cannot be
// block scalars in the emitter's layout.
ScalarStyle choose_scalar_style(std::string_view text, bool allow_literal);

}  // namespace asmegress::cli
