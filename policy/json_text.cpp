#include "policy/json_text.h"

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

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

// Where the run of bytes that need no escape, from `p`, may end: it skips
// eight bytes at a time while a word holds none, and stops at the word that
// does (the caller looks at that word byte by byte). A word has a byte below
// n (n <= 0x80) exactly when (w - n * 0x01..01) & ~w & 0x80..80 is not zero;
// a byte equal to c is a zero byte of w ^ (c * 0x01..01).
const char* plain_run(const char* p, const char* end) {
  constexpr std::uint64_t ones = 0x0101010101010101U;
  constexpr std::uint64_t highs = 0x8080808080808080U;
  while (end - p >= 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    const std::uint64_t control = (w - ones * 0x20U) & ~w & highs;  // a byte below 0x20
    const std::uint64_t q = w ^ (ones * '"');
    const std::uint64_t b = w ^ (ones * '\\');
    if ((control | ((q - ones) & ~q & highs) | ((b - ones) & ~b & highs)) != 0) break;
    p += 8;
  }
  return p;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  const char* plain = text.data();  // start of the run copied as it is
  const char* const end = text.data() + text.size();
  for (const char* p = plain_run(plain, end); p != end; ++p) {
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
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::size_t start = out.size();
  out.resize(start + (data.size() + 2) / 3 * 4);
  // Local pointers: a store through char* may alias anything, so reading
  // through `data` would reload its pointer after every character.
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  const unsigned char* const end = in + data.size();
  char* p = out.data() + start;
  // Six bytes make eight characters; one eight-byte load reads them while
  // eight bytes remain.
  while (end - in >= 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, in, 8);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    char eight[8];
    for (unsigned k = 0; k < 8; ++k) eight[k] = alphabet[(w >> (58U - 6U * k)) & 63U];
    std::memcpy(p, eight, 8);
    in += 6;
    p += 8;
  }
  for (; end - in >= 3; in += 3, p += 4) {
    const unsigned n = (unsigned{in[0]} << 16U) | (unsigned{in[1]} << 8U) | in[2];
    const char four[4] = {alphabet[n >> 18U], alphabet[(n >> 12U) & 63U],
                          alphabet[(n >> 6U) & 63U], alphabet[n & 63U]};
    std::memcpy(p, four, 4);
  }
  if (const auto rest = end - in; rest > 0) {
    unsigned n = unsigned{in[0]} << 16U;
    if (rest == 2) n |= unsigned{in[1]} << 8U;
    p[0] = alphabet[n >> 18U];
    p[1] = alphabet[(n >> 12U) & 63U];
    p[2] = rest == 2 ? alphabet[(n >> 6U) & 63U] : '=';
    p[3] = '=';
  }
}

}  // namespace asmegress::policy
