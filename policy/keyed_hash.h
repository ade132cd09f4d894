#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace asmegress::policy {

// SipHash-1-3 (the keyed hash Rust's HashMap uses against the same threat),
// for every hash table keyed by text a request chooses (hosts, names,
// errors). With a key nobody outside the process knows, a request cannot
// choose strings whose hashes collide and make a table quadratic; the fixed
// seed of std::hash's MurmurHash gives no such guarantee. The key changes
// the hashes only, never what is found, so every replica answers alike.
class SipHash13 {
 public:
  static std::uint64_t hash(std::string_view data);
  std::size_t operator()(std::string_view key) const noexcept {
    return static_cast<std::size_t>(hash(key));
  }
};

}  // namespace asmegress::policy
