#pragma once

// What the hostile suites share: the review they send, and whether the
// server's resident size means anything in this build.
#include <fstream>
#include <sstream>
#include <string>

namespace asmegress::hostile {

// Under AddressSanitizer freed memory sits in a quarantine of hundreds of
// megabytes by design (ThreadSanitizer keeps shadow memory too), so RSS says
// nothing about the server's own memory there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool rss_is_meaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool rss_is_meaningful = false;
#else
inline constexpr bool rss_is_meaningful = true;
#endif
#else
inline constexpr bool rss_is_meaningful = true;
#endif

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The seed review: a CREATE whose five destinations all get ports.
inline std::string fixture() {
  return read_file(ASM_EGRESS_TESTDATA_DIR "/review-create-auto-ports.json");
}

}  // namespace asmegress::hostile
