#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace asmegress::policy {

// What a person reads of a decision (its errors, its warnings). Past kKept
// items, more are only counted: neither made nor kept, so that a review of
// twenty thousand bad entries costs neither the time nor the memory of a
// message for each. Answers show far fewer still (cap_errors, cap_warnings
// in admission.cpp); the rest of the room is for whatever filters a list
// after it is made, and still needs the first ones it keeps.
//
// A vector, so that code reading a list needs no change; code adding to one
// calls report().
template <typename T>
class MessageList : public std::vector<T> {
 public:
  static constexpr std::size_t kKept = 1000;

  using std::vector<T>::vector;

  // Adds what make() returns, or only counts it when kKept are kept.
  template <typename Make>
  void report(Make&& make) {
    if (this->size() < kKept) {
      this->push_back(std::forward<Make>(make)());
    } else {
      ++omitted_;
    }
  }

  // Reported but not kept.
  [[nodiscard]] std::size_t omitted() const { return omitted_; }
  // All that were reported, kept or not.
  [[nodiscard]] std::size_t reported() const { return this->size() + omitted_; }
  void set_omitted(std::size_t n) { omitted_ = n; }

 private:
  std::size_t omitted_ = 0;
};

using Warnings = MessageList<std::string>;

}  // namespace asmegress::policy
