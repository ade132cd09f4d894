#pragma once

// Shared by the fuzz targets: they run under libFuzzer (clang) and as plain
// replay executables (any compiler), so nothing here depends on either.

#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <streambuf>
#include <string_view>

namespace asmegress::fuzz {

// A property of the code under test does not hold: print why and abort, so
// libFuzzer records the input as a crash and the replay test fails.
[[noreturn]] inline void property_failed(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "property violated: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size() > 4000 ? 4000 : detail.size()),
                 detail.data());
  }
  std::abort();
}

#define ASM_FUZZ_CHECK(condition, detail)                        \
  do {                                                           \
    if (!(condition)) ::asmegress::fuzz::property_failed(#condition, (detail)); \
  } while (false)

// Logs go nowhere: formatting them is still exercised, writing is not.
class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char_type*, std::streamsize n) override { return n; }
};

inline std::ostream& null_stream() {
  static NullBuffer buffer;
  static std::ostream stream(&buffer);
  return stream;
}

}  // namespace asmegress::fuzz
