#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <new>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/json/memory_resource.hpp>
#include <boost/json/storage_ptr.hpp>

namespace asmegress::policy {

// A standard allocator drawing on a Boost.JSON memory resource: what a review
// decodes and checks goes to the review's arena (CappedArena), under its cap,
// next to the parsed review itself. Default-constructed, it draws on the heap,
// for callers that decode a value of their own (tests, the `check` command).
//
// Like std::pmr::polymorphic_allocator, but over boost::json's resource type,
// and copied along with the containers that use it, so that a decoded policy
// moved or copied stays in its arena.
template <typename T>
class ArenaAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;

  ArenaAllocator() noexcept : resource_(boost::json::storage_ptr().get()) {}
  explicit ArenaAllocator(boost::json::memory_resource* resource) noexcept : resource_(resource) {}
  template <typename U>
  ArenaAllocator(const ArenaAllocator<U>& other) noexcept  // NOLINT: rebinding is implicit
      : resource_(other.resource()) {}

  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(resource_->allocate(n * sizeof(T), alignof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    resource_->deallocate(p, n * sizeof(T), alignof(T));
  }

  [[nodiscard]] boost::json::memory_resource* resource() const noexcept { return resource_; }

  template <typename U>
  friend bool operator==(const ArenaAllocator& a, const ArenaAllocator<U>& b) noexcept {
    return a.resource() == b.resource();
  }

 private:
  boost::json::memory_resource* resource_;
};

template <typename T>
using ArenaVector = std::vector<T, ArenaAllocator<T>>;

template <typename Key, typename Value, typename Hash = std::hash<Key>>
using ArenaHashMap = std::unordered_map<Key, Value, Hash, std::equal_to<Key>,
                                        ArenaAllocator<std::pair<const Key, Value>>>;

template <typename Key, typename Hash = std::hash<Key>>
using ArenaHashSet = std::unordered_set<Key, Hash, std::equal_to<Key>, ArenaAllocator<Key>>;

}  // namespace asmegress::policy
