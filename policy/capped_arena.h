#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include <boost/json/memory_resource.hpp>

namespace asmegress::policy {

// Thrown by CappedArena when an allocation would take it past its cap.
// answer_review catches it and answers that the review is too large.
class MemoryCapExceeded : public std::bad_alloc {
 public:
  [[nodiscard]] const char* what() const noexcept override {
    return "the review needs more memory than its cap";
  }
};

// The memory of one review: a monotonic arena (allocation bumps a pointer,
// deallocation does nothing, everything is freed at once) that takes at most
// `cap` bytes from the heap, and throws MemoryCapExceeded rather than take
// more. The first bytes come from a caller's buffer (on the stack), which the
// cap does not count: a typical review never reaches the heap.
//
// Not boost::json::monotonic_resource with a failing upstream: its blocks
// double, so the cap would bound either the memory taken, with up to half of
// it never used, or the memory used, with up to twice as much taken. Here
// the last block is cut to what the cap leaves, and what a review may use is
// what it may take, less a few block headers.
class CappedArena : public boost::json::memory_resource {
 public:
  CappedArena(unsigned char* buffer, std::size_t size, std::size_t cap) noexcept;
  ~CappedArena() override { release(); }
  CappedArena(const CappedArena&) = delete;
  CappedArena& operator=(const CappedArena&) = delete;

  // Frees every block and starts again from the buffer, as if new. Nothing
  // allocated before may be used after.
  void release() noexcept;

  [[nodiscard]] std::size_t cap() const { return cap_; }
  // Bytes taken from the heap now, and at most since construction.
  [[nodiscard]] std::size_t taken() const { return taken_; }
  [[nodiscard]] std::size_t peak() const { return peak_; }

 private:
  struct Block;

  void* do_allocate(std::size_t n, std::size_t align) override;
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
    return this == &other;
  }
  void* grow(std::size_t n, std::size_t align);

  unsigned char* buffer_;
  std::size_t buffer_size_;
  std::size_t cap_;
  std::uintptr_t next_;  // the free space of the current block
  std::uintptr_t end_;
  Block* blocks_ = nullptr;  // from the heap, the newest first
  std::size_t block_size_;   // the size of the next block, before the cap
  std::size_t taken_ = 0;
  std::size_t peak_ = 0;
};

}  // namespace asmegress::policy

namespace boost::json {
// Boost.JSON skips deallocation calls (and the walks of values that make
// them) for such a resource.
template <>
struct is_deallocate_trivial<asmegress::policy::CappedArena> {
  static constexpr bool value = true;
};
}  // namespace boost::json
