#include "policy/json_text.h"

#include <array>
#include <cstddef>

namespace asmegress::policy {

namespace {

// 1 for the bytes a JSON string cannot hold as they are.
constexpr std::array<unsigned char, 256> kNeedsEscape = [] {
  std::array<unsigned char, 256> table{};
  for (std::size_t c = 0; c < 0x20; ++c) table[c] = 1;
  table['"'] = 1;
  table['\\'] = 1;
  return table;
}();

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  const char* plain = text.data();  // start of the run copied as it is
  const char* const end = text.data() + text.size();
  for (const char* p = plain; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (kNeedsEscape[c] == 0) continue;
    out.append(plain, static_cast<std::size_t>(p - plain));
    plain = p + 1;
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\t': out += 't'; break;
      case '\n': out += 'n'; break;
      case '\f': out += 'f'; break;
      case '\r': out += 'r'; break;
      default:
        out += "u00";
        out += hex[c >> 4U];
        out += hex[c & 15U];
    }
  }
  out.append(plain, static_cast<std::size_t>(end - plain));
  out += '"';
}

void append_base64(std::string& out, std::string_view data) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::size_t start = out.size();
  out.resize(start + (data.size() + 2) / 3 * 4);
  char* p = out.data() + start;
  auto byte = [&data](std::size_t k) {
    return static_cast<unsigned>(static_cast<unsigned char>(data[k]));
  };
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned n = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
    *p++ = alphabet[(n >> 18U) & 63U];
    *p++ = alphabet[(n >> 12U) & 63U];
    *p++ = alphabet[(n >> 6U) & 63U];
    *p++ = alphabet[n & 63U];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    unsigned n = byte(i) << 16U;
    if (rest == 2) n |= byte(i + 1) << 8U;
    *p++ = alphabet[(n >> 18U) & 63U];
    *p++ = alphabet[(n >> 12U) & 63U];
    *p++ = rest == 2 ? alphabet[(n >> 6U) & 63U] : '=';
    *p++ = '=';
  }
}

}  // namespace asmegress::policy
