#include "cli/yaml_scalar.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

namespace asmegress::cli {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

template <std::size_t N>
bool one_of(std::string_view text, const std::array<std::string_view, N>& words) {
  return std::find(words.begin(), words.end(), text) != words.end();
}

constexpr std::array<std::string_view, 5> null_words{"", "~", "null", "Null", "NULL"};
constexpr std::array<std::string_view, 3> true_words{"true", "True", "TRUE"};
constexpr std::array<std::string_view, 3> false_words{"false", "False", "FALSE"};

// Digits in `base`, accumulated without overflow; nullopt beyond uint64.
std::optional<std::uint64_t> magnitude(std::string_view digits, std::uint64_t base) {
  std::uint64_t value = 0;
  for (const char c : digits) {
    std::uint64_t digit = 0;
    if (is_digit(c)) {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint64_t>(c - 'a' + 10);
    } else {
      digit = static_cast<std::uint64_t>(c - 'A' + 10);
    }
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / base) return std::nullopt;
    value = value * base + digit;
  }
  return value;
}

double to_double(std::string_view text) {
  // strtod needs a terminated string; the program never changes the C locale,
  // so '.' is the decimal point.
  const std::string copy(text);
  return std::strtod(copy.c_str(), nullptr);
}

// An integer too large for 64 bits is still an integer to YAML; like JSON
// parsers, keep it as the nearest double rather than fail.
boost::json::value integer(bool negative, std::string_view digits, std::uint64_t base,
                           std::string_view whole) {
  const auto value = magnitude(digits, base);
  if (!value) {
    if (base == 10) return to_double(whole);
    double d = 0;
    for (const char c : digits) {
      d = d * static_cast<double>(base) +
          static_cast<double>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return negative ? -d : d;
  }
  constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!negative) {
    if (*value <= int64_max) return static_cast<std::int64_t>(*value);
    return *value;
  }
  if (*value <= int64_max) return -static_cast<std::int64_t>(*value);
  if (*value == int64_max + 1) return std::numeric_limits<std::int64_t>::min();
  return -static_cast<double>(*value);
}

// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool is_core_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const std::size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  const bool has_int = i > int_start;
  bool has_frac = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    has_frac = i > frac_start;
  }
  if (!has_int && !has_frac) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t exp_start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == exp_start) return false;
  }
  return i == s.size();
}

// YAML 1.1 readers (kubectl's among them) take these as booleans, and
// "1_000", "0b1", "1:20" as numbers: a string that looks like one is quoted so
// that every reader gets the string back.
bool yaml11_special(std::string_view s) {
  constexpr std::array<std::string_view, 23> words{
      "y",  "Y",  "yes", "Yes", "YES", "n",  "N",   "no",  "No",  "NO",  "on",
      "On", "ON", "off", "Off", "OFF", "=", "<<", "-", "?", ":", "|", ">"};
  if (one_of(s, words)) return true;
  std::string_view body = s;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) body.remove_prefix(1);
  if (body.empty() || !(is_digit(body.front()) || body.front() == '.')) return false;
  return std::all_of(body.begin(), body.end(), [](char c) {
    return is_digit(c) || c == '_' || c == ':' || c == '.' || c == 'e' || c == 'E' ||
           c == '-' || c == '+' || c == 'b' || c == 'x' || c == 'o';
  }) && body.find_first_of("_:bxo") != std::string_view::npos;
}

// Decodes one UTF-8 code point at `i`; nullopt for an invalid sequence.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return static_cast<char32_t>(s[i++]);
  std::size_t length = 0;
  char32_t cp = 0;
  if ((lead & 0xE0U) == 0xC0U) {
    length = 2;
    cp = lead & 0x1FU;
  } else if ((lead & 0xF0U) == 0xE0U) {
    length = 3;
    cp = lead & 0x0FU;
  } else if ((lead & 0xF8U) == 0xF0U) {
    length = 4;
    cp = lead & 0x07U;
  } else {
    return std::nullopt;
  }
  if (i + length > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0U) != 0x80U) return std::nullopt;
    cp = (cp << 6U) | (byte(i + k) & 0x3FU);
  }
  constexpr std::array<char32_t, 5> min_for_length{0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return std::nullopt;
  }
  i += length;
  return cp;
}

// Characters that can appear unescaped in any scalar style: printable, and not
// one that YAML 1.1 or yaml-cpp treats as a line break or byte-order mark.
bool plain_printable(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp >= 0x80 && cp <= 0x9F) return false;
  if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) return false;
  return true;
}

// Every code point printable; '\n' (and '\t') allowed where `allow_breaks`.
bool all_printable(std::string_view s, bool allow_breaks) {
  for (std::size_t i = 0; i < s.size();) {
    const auto cp = next_code_point(s, i);
    if (!cp) return false;
    if (allow_breaks && (*cp == '\n' || *cp == '\t')) continue;
    if (!plain_printable(*cp)) return false;
  }
  return true;
}

bool plain_safe(std::string_view s, bool is_key) {
  if (s.empty()) return false;
  if (!resolve_plain_scalar(s).is_string() || yaml11_special(s)) return false;
  if (is_key && s.size() > 1024) return false;
  constexpr std::string_view indicators = "-?:,[]{}#&*!|>'\"%@`";
  if (indicators.find(s.front()) != std::string_view::npos) {
    // "-x" is a plain scalar in block context; "- x" and "---" are not.
    if (s.front() != '-' || s.size() < 2 || s[1] == ' ' || s.starts_with("---")) return false;
  }
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) {
    return false;
  }
  if (s.starts_with("...")) return false;
  return all_printable(s, false);
}

bool literal_safe(std::string_view s) {
  if (s.find('\n') == std::string_view::npos) return false;
  if (!all_printable(s, true)) return false;
  bool seen_content = false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view line = s.substr(start, end - start);
    if (!line.empty()) {
      // Whitespace-only lines and a first line that starts indented would
      // change how the block's indentation is detected.
      if (line.find_first_not_of(" \t") == std::string_view::npos) return false;
      if (!seen_content && (line.front() == ' ' || line.front() == '\t')) return false;
      seen_content = true;
    }
    start = end + 1;
  }
  return seen_content;
}

}  // namespace

boost::json::value resolve_plain_scalar(std::string_view s) {
  if (one_of(s, null_words)) return nullptr;
  if (one_of(s, true_words)) return true;
  if (one_of(s, false_words)) return false;

  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (!body.empty() && std::all_of(body.begin(), body.end(), is_digit)) {
    return integer(negative, body, 10, s);
  }
  // The core schema's octal and hexadecimal forms carry no sign.
  if (s.size() > 2 && s.starts_with("0o") &&
      std::all_of(s.begin() + 2, s.end(), is_octal)) {
    return integer(false, s.substr(2), 8, s);
  }
  if (s.size() > 2 && s.starts_with("0x") && std::all_of(s.begin() + 2, s.end(), is_hex)) {
    return integer(false, s.substr(2), 16, s);
  }
  if (is_core_float(s)) return to_double(s);
  constexpr std::array<std::string_view, 3> inf_words{".inf", ".Inf", ".INF"};
  if (one_of(body, inf_words)) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  constexpr std::array<std::string_view, 3> nan_words{".nan", ".NaN", ".NAN"};
  if (one_of(s, nan_words)) return std::numeric_limits<double>::quiet_NaN();
  return boost::json::string(s);
}

ScalarStyle choose_scalar_style(std::string_view text, bool allow_literal) {
  if (plain_safe(text, !allow_literal)) return ScalarStyle::Plain;
  if (all_printable(text, false)) return ScalarStyle::SingleQuoted;
  if (allow_literal && literal_safe(text)) return ScalarStyle::Literal;
  return ScalarStyle::DoubleQuoted;
}

}  // namespace asmegress::cli
