#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <new>
#include <utility>

#include "policy/arena_allocator.h"

namespace asmegress::policy {

// A list that grows without moving its items: in chunks, each allocated
// once, the first ones small (1, 1, 2, 4, 8 items) and then kChunk items
// each. In the review's arena, where nothing given back is reused, a vector
// that doubles leaves every buffer it outgrew behind: the rules, sources and
// destinations of a policy decoded as they are read took about three times
// their size. Here a list of n items takes n items of room, plus at most one
// chunk's tail, plus a pointer a chunk; a policy of many one-entry lists
// takes no more than its entries either.
//
// reserve() gives the next chunk the room asked for, so a list whose length
// is known (decoding a DOM) takes exactly that.
template <typename T>
class ChunkedList {
  struct Chunk {
    T* items;
    std::size_t first;  // the index of items[0]
    std::size_t capacity;
  };

 public:
  static constexpr std::size_t kChunk = 16;
  using value_type = T;
  using allocator_type = ArenaAllocator<T>;

  template <bool Const>
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = std::conditional_t<Const, const T*, T*>;
    using reference = std::conditional_t<Const, const T&, T&>;

    Iterator() = default;
    reference operator*() const { return *item_; }
    pointer operator->() const { return item_; }
    Iterator& operator++() {
      // Past a chunk's last slot, on to the next chunk, unless it is the
      // last: then the end is the slot past it.
      if (++item_ == chunk_end_ && chunk_ + 1 < chunks_end_) {
        ++chunk_;
        item_ = chunk_->items;
        chunk_end_ = item_ + chunk_->capacity;
      }
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.item_ == b.item_; }

   private:
    friend class ChunkedList;
    Iterator(T* item, T* chunk_end, const Chunk* chunk, const Chunk* chunks_end)
        : item_(item), chunk_end_(chunk_end), chunk_(chunk), chunks_end_(chunks_end) {}
    T* item_ = nullptr;
    T* chunk_end_ = nullptr;
    const Chunk* chunk_ = nullptr;
    const Chunk* chunks_end_ = nullptr;
  };
  using iterator = Iterator<false>;
  using const_iterator = Iterator<true>;

  ChunkedList() = default;
  explicit ChunkedList(const allocator_type& allocator) : chunks_(allocator) {}
  ChunkedList(const ChunkedList& other) : chunks_(other.chunks_.get_allocator()) {
    reserve(other.size_);
    for (const T& item : other) emplace_back(item);
  }
  ChunkedList(ChunkedList&& other) noexcept
      : chunks_(std::move(other.chunks_)),
        size_(std::exchange(other.size_, 0)),
        fill_(std::exchange(other.fill_, 0)),
        next_(std::exchange(other.next_, nullptr)),
        room_end_(std::exchange(other.room_end_, nullptr)) {
    other.chunks_.clear();
  }
  ChunkedList& operator=(const ChunkedList& other) {
    if (this != &other) *this = ChunkedList(other);
    return *this;
  }
  ChunkedList& operator=(ChunkedList&& other) noexcept {
    if (this != &other) {
      clear();
      chunks_ = std::move(other.chunks_);
      size_ = std::exchange(other.size_, 0);
      fill_ = std::exchange(other.fill_, 0);
      next_ = std::exchange(other.next_, nullptr);
      room_end_ = std::exchange(other.room_end_, nullptr);
      other.chunks_.clear();
    }
    return *this;
  }
  ~ChunkedList() { clear(); }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] allocator_type get_allocator() const { return chunks_.get_allocator(); }

  T& operator[](std::size_t i) { return const_cast<T&>(std::as_const(*this)[i]); }
  const T& operator[](std::size_t i) const {
    const Chunk& c = chunks_.front();
    if (i < c.capacity) return c.items[i];
    const auto it = std::upper_bound(chunks_.begin(), chunks_.end(), i,
                                     [](std::size_t n, const Chunk& k) { return n < k.first; });
    return std::prev(it)->items[i - std::prev(it)->first];
  }
  T& front() { return chunks_.front().items[0]; }
  const T& front() const { return chunks_.front().items[0]; }
  T& back() { return *(next_ - 1); }
  const T& back() const { return *(next_ - 1); }

  iterator begin() { return make<iterator>(true); }
  iterator end() { return make<iterator>(false); }
  const_iterator begin() const { return make<const_iterator>(true); }
  const_iterator end() const { return make<const_iterator>(false); }

  // Room for `n` items in all, in one chunk more.
  void reserve(std::size_t n) {
    if (n > capacity()) add_chunk(n - capacity());
  }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    if (next_ == room_end_) next_chunk();
    T* slot = next_;
    ::new (static_cast<void*>(slot)) T(std::forward<Args>(args)...);
    ++next_;
    ++size_;
    return *slot;
  }
  void push_back(const T& item) { emplace_back(item); }
  void push_back(T&& item) { emplace_back(std::move(item)); }

 private:
  [[nodiscard]] std::size_t capacity() const {
    return chunks_.empty() ? 0 : chunks_.back().first + chunks_.back().capacity;
  }
  // The first item, or the slot past the last; items are in the chunks
  // up to fill_, in order, and none after the chunk being filled.
  template <typename It>
  It make(bool first) const {
    const Chunk* chunks = chunks_.data();
    const Chunk* chunks_end = chunks + chunks_.size();
    if (size_ == 0) return It(nullptr, nullptr, chunks_end, chunks_end);
    if (first) return It(chunks->items, chunks->items + chunks->capacity, chunks, chunks_end);
    // The slot past the last item: in the chunk being filled, or, when that
    // chunk is full, the first of the next (one reserve() made), where
    // operator++ goes from the last item; or the end of the last chunk.
    const Chunk* c = chunks + fill_;
    if (next_ == room_end_ && c + 1 < chunks_end) ++c;
    T* past = c == chunks + fill_ ? next_ : c->items;
    return It(past, c->items + c->capacity, c, chunks_end);
  }
  // The next chunk to fill: one made by reserve(), or a new one.
  void next_chunk() {
    if (size_ == capacity()) add_chunk(std::clamp<std::size_t>(size_, 1, kChunk));
    if (size_ != 0) ++fill_;
    Chunk& c = chunks_[fill_];
    next_ = c.items;
    room_end_ = c.items + c.capacity;
  }
  void add_chunk(std::size_t capacity) {
    ArenaAllocator<T> allocator(chunks_.get_allocator());
    T* items = allocator.allocate(capacity);
    try {
      chunks_.push_back(Chunk{items, this->capacity(), capacity});
    } catch (...) {
      allocator.deallocate(items, capacity);
      throw;
    }
  }
  void clear() noexcept {
    ArenaAllocator<T> allocator(chunks_.get_allocator());
    for (Chunk& c : chunks_) {
      const std::size_t n = std::min(c.capacity, size_ > c.first ? size_ - c.first : 0);
      std::destroy_n(c.items, n);
      allocator.deallocate(c.items, c.capacity);
    }
    chunks_.clear();
    size_ = 0;
    fill_ = 0;
    next_ = nullptr;
    room_end_ = nullptr;
  }

  ArenaVector<Chunk> chunks_;
  std::size_t size_ = 0;
  std::size_t fill_ = 0;   // the chunk being filled
  T* next_ = nullptr;      // its next free slot...
  T* room_end_ = nullptr;  // ...and its end
};

}  // namespace asmegress::policy
