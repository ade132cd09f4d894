#include "policy/capped_arena.h"

#include <algorithm>

namespace asmegress::policy {

struct alignas(std::max_align_t) CappedArena::Block {
  Block* next;
  std::size_t size;  // with this header
};

namespace {
constexpr std::size_t kLargestBlock = std::size_t{1} << 20;
std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }
}  // namespace

CappedArena::CappedArena(unsigned char* buffer, std::size_t size, std::size_t cap) noexcept
    : buffer_(buffer),
      buffer_size_(size),
      cap_(cap),
      next_(address(buffer)),
      end_(address(buffer) + size),
      block_size_(std::max<std::size_t>(2 * size, 4096)) {}

void CappedArena::release() noexcept {
  while (blocks_ != nullptr) {
    Block* next = blocks_->next;
    ::operator delete(blocks_);
    blocks_ = next;
  }
  next_ = address(buffer_);
  end_ = address(buffer_) + buffer_size_;
  block_size_ = std::max<std::size_t>(2 * buffer_size_, 4096);
  taken_ = 0;
}

void* CappedArena::do_allocate(std::size_t n, std::size_t align) {
  // Alignments are powers of two.
  const std::uintptr_t p = (next_ + align - 1) & ~(std::uintptr_t{align} - 1);
  if (p <= end_ && n <= end_ - p) {
    next_ = p + n;
    return reinterpret_cast<void*>(p);
  }
  return grow(n, align);
}

void* CappedArena::grow(std::size_t n, std::size_t align) {
  // A block's space starts aligned for any fundamental type.
  const std::size_t padding = align > alignof(std::max_align_t) ? align : 0;
  const std::size_t left = cap_ - taken_;
  if (n > left || n + padding + sizeof(Block) > left) throw MemoryCapExceeded();
  const std::size_t needed = n + padding + sizeof(Block);
  const std::size_t size = std::min(std::max(block_size_, needed), left);
  auto* block = static_cast<Block*>(::operator new(size));
  block->next = blocks_;
  block->size = size;
  blocks_ = block;
  taken_ += size;
  peak_ = std::max(peak_, taken_);
  // Blocks double up to a mebibyte: past it, what a review leaves unused at
  // the end of its last block stays small, and the cap stays a bound on
  // memory used, not only on memory asked for.
  if (block_size_ < kLargestBlock) block_size_ *= 2;

  const std::uintptr_t start = address(block + 1);
  const std::uintptr_t p =
      (start + align - 1) & ~(std::uintptr_t{align} - 1);  // `padding` made room
  next_ = p + n;
  end_ = address(block) + size;
  return reinterpret_cast<void*>(p);
}

}  // namespace asmegress::policy
