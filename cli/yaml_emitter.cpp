#include "cli/yaml_emitter.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "cli/yaml_scalar.h"

namespace asmegress::cli {
namespace {

namespace json = boost::json;

void indent_to(std::string& out, std::size_t indent) { out.append(indent, ' '); }

void single_quoted(std::string& out, std::string_view s) {
  out += '\'';
  for (const char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
}

void hex_escape(std::string& out, char kind, unsigned value, int digits) {
  char buffer[12];
  std::snprintf(buffer, sizeof buffer, "\\%c%0*X", kind, digits, value);
  out += buffer;
}

void double_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto byte = static_cast<unsigned char>(s[i]);
    switch (byte) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\0': out += "\\0"; continue;
      case '\a': out += "\\a"; continue;
      case '\b': out += "\\b"; continue;
      case '\t': out += "\\t"; continue;
      case '\n': out += "\\n"; continue;
      case '\v': out += "\\v"; continue;
      case '\f': out += "\\f"; continue;
      case '\r': out += "\\r"; continue;
      case 0x1B: out += "\\e"; continue;
      default: break;
    }
    if (byte < 0x20 || byte == 0x7F) {
      hex_escape(out, 'x', byte, 2);
      continue;
    }
    // Code points YAML readers take as line breaks or byte-order marks
    // (C1 controls, U+2028, U+2029, U+FEFF, U+FFFE/F) are escaped too. Bytes
    // that are not UTF-8 pass through as they are, as yaml-cpp read them.
    if (byte == 0xC2 && i + 1 < s.size()) {
      const auto next = static_cast<unsigned char>(s[i + 1]);
      if (next >= 0x80 && next <= 0x9F) {
        hex_escape(out, 'u', next, 4);
        ++i;
        continue;
      }
    }
    if ((byte == 0xE2 || byte == 0xEF) && i + 2 < s.size()) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      const auto b2 = static_cast<unsigned char>(s[i + 2]);
      const unsigned cp = ((byte & 0x0FU) << 12U) | ((b1 & 0x3FU) << 6U) | (b2 & 0x3FU);
      const bool continuation = (b1 & 0xC0U) == 0x80U && (b2 & 0xC0U) == 0x80U;
      if (continuation && (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF)) {
        hex_escape(out, 'u', cp, 4);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  out += '"';
}

// `|`, `|-` or `|+` by the trailing newlines, then each line at `indent`
// (empty lines stay empty, so no trailing spaces are written).
void literal(std::string& out, std::string_view s, std::size_t indent) {
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  out += trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
  out += '\n';
  std::string_view body = s.substr(0, s.size() - trailing);
  std::size_t start = 0;
  while (true) {
    const std::size_t end = body.find('\n', start);
    const std::string_view line =
        body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty()) {
      indent_to(out, indent);
      out += line;
    }
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  out.append(trailing > 1 ? trailing - 1 : 0, '\n');
}

void string_scalar(std::string& out, std::string_view s, bool allow_literal,
                   std::size_t literal_indent) {
  switch (choose_scalar_style(s, allow_literal)) {
    case ScalarStyle::Plain: out += s; break;
    case ScalarStyle::SingleQuoted: single_quoted(out, s); break;
    case ScalarStyle::DoubleQuoted: double_quoted(out, s); break;
    case ScalarStyle::Literal: literal(out, s, literal_indent); return;
  }
  out += '\n';
}

void double_scalar(std::string& out, double d) {
  if (std::isnan(d)) {
    out += ".nan";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-.inf" : ".inf";
    return;
  }
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
  std::string_view text(buffer, ec == std::errc{} ? static_cast<std::size_t>(end - buffer) : 0);
  out += text;
  // "1" would read back as an integer.
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

bool is_block(const json::value& v) {
  if (const auto* o = v.if_object()) return !o->empty();
  if (const auto* a = v.if_array()) return !a->empty();
  return false;
}

// A value that fits after "key: " or "- ", with its newline. Block scalars
// put their lines at `literal_indent`.
void inline_value(std::string& out, const json::value& v, bool allow_literal,
                  std::size_t literal_indent) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; break;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case json::kind::int64: out += std::to_string(v.get_int64()); break;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); break;
    case json::kind::double_: double_scalar(out, v.get_double()); break;
    case json::kind::string:
      string_scalar(out, v.get_string(), allow_literal, literal_indent);
      return;
    case json::kind::array: out += "[]"; break;
    case json::kind::object: out += "{}"; break;
  }
  out += '\n';
}

void mapping(std::string& out, const json::object& o, std::size_t indent, bool first_inline);

void sequence(std::string& out, const json::array& a, std::size_t indent, bool first_inline) {
  bool first = true;
  for (const auto& item : a) {
    if (!(first && first_inline)) indent_to(out, indent);
    first = false;
    out += "- ";
    if (const auto* o = item.if_object(); o && !o->empty()) {
      mapping(out, *o, indent + 2, true);
    } else if (const auto* inner = item.if_array(); inner && !inner->empty()) {
      sequence(out, *inner, indent + 2, true);
    } else {
      inline_value(out, item, true, indent + 2);
    }
  }
}

constexpr std::size_t kMaxImplicitKey = 1024;

void mapping(std::string& out, const json::object& o, std::size_t indent, bool first_inline) {
  bool first = true;
  for (const auto& member : o) {
    if (!(first && first_inline)) indent_to(out, indent);
    first = false;
    std::string key;
    string_scalar(key, member.key(), false, 0);
    key.pop_back();  // its newline
    if (key.size() > kMaxImplicitKey) {
      // YAML allows implicit keys of at most 1024 characters: a longer one
      // is written as an explicit key, "? key" and ": value" on the next line.
      out += "? ";
      out += key;
      out += '\n';
      indent_to(out, indent);
    } else {
      out += key;
    }
    out += ':';
    const json::value& v = member.value();
    if (is_block(v)) {
      out += '\n';
      if (v.is_object()) {
        mapping(out, v.get_object(), indent + 2, false);
      } else {
        // kubectl's layout: a sequence under a key starts at the key's column.
        sequence(out, v.get_array(), indent, false);
      }
    } else {
      out += ' ';
      inline_value(out, v, true, indent + 2);
    }
  }
}

}  // namespace

std::string to_yaml(const json::value& value) {
  std::string out;
  if (const auto* o = value.if_object(); o && !o->empty()) {
    mapping(out, *o, 0, false);
  } else if (const auto* a = value.if_array(); a && !a->empty()) {
    sequence(out, *a, 0, false);
  } else {
    inline_value(out, value, false, 0);
  }
  return out;
}

}  // namespace asmegress::cli
