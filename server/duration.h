#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace asmegress::server {

// Parses a Go-style duration ("10s", "500ms", "1m30s", "1.5h", "0"), the form
// Kubernetes users already write in flags. Negative or malformed input gives
// nullopt.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

// A duration as seconds, as log fields give them.
inline double to_seconds(std::chrono::milliseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace asmegress::server
