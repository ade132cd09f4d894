#include "server/duration.h"

#include <array>
#include <cstdint>
#include <utility>

namespace asmegress::server {

namespace {

constexpr std::array<std::pair<std::string_view, double>, 7> units{{
    {"ns", 1.0},
    {"us", 1e3},
    {"\xC2\xB5s", 1e3},  // µs
    {"ms", 1e6},
    {"s", 1e9},
    {"m", 60e9},
    {"h", 3600e9},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::nanoseconds{0};
  if (text.empty()) return std::nullopt;
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    double number = 0;
    bool any_digit = false;
    while (i < text.size() && is_digit(text[i])) {
      number = number * 10 + (text[i] - '0');
      any_digit = true;
      ++i;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      double scale = 0.1;
      while (i < text.size() && is_digit(text[i])) {
        number += (text[i] - '0') * scale;
        scale /= 10;
        any_digit = true;
        ++i;
      }
    }
    if (!any_digit) return std::nullopt;
    std::size_t unit_end = i;
    while (unit_end < text.size() && !is_digit(text[unit_end]) && text[unit_end] != '.') ++unit_end;
    const std::string_view unit = text.substr(i, unit_end - i);
    bool known = false;
    for (const auto& [name, factor] : units) {
      if (unit == name) {
        total += number * factor;
        known = true;
        break;
      }
    }
    if (!known) return std::nullopt;  // also rejects a bare number: Go wants a unit
    i = unit_end;
  }
  // Anything beyond a few centuries is a typo, not a duration.
  if (total > 9.0e18) return std::nullopt;
  return std::chrono::nanoseconds{static_cast<std::int64_t>(total)};
}

}  // namespace asmegress::server
