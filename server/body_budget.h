#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace asmegress::server {

// The request bodies the process holds at once, in bytes. A body is read
// only once its declared size is taken from the budget; one that does not fit
// waits, unread (its bytes stay in the kernel), until others are done. So
// clients that send all but the last byte of a maximum body can hold at most
// the budget, however many they are.
//
// Small bodies (every ordinary review: a few KiB) have a reserve of their
// own on top, so they pass while large ones wait. Large requests are granted
// in the order they asked; a small one never waits behind a large one.
class BodyBudget {
 public:
  struct Limits {
    std::size_t bytes = 24 * 1024 * 1024;         // for bodies of any size
    std::size_t small_body = 64 * 1024;           // a body of at most this is small
    std::size_t small_reserve = 4 * 1024 * 1024;  // for small bodies only, on top of `bytes`
  };

  // What one request holds; give it back with release().
  struct Share {
    std::size_t bytes = 0;
    bool small = false;
  };

  explicit BodyBudget(Limits limits) : limits_(limits) {}

  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  // Takes `bytes` now if they fit and nobody waits ahead (as acquire would),
  // without queueing: the common case, with nothing to allocate.
  bool try_acquire(std::size_t bytes, Share& share);
  // Takes `bytes` now and returns true, or queues the request and returns
  // false: `on_grant` is then called with the share (from whichever thread
  // releases or withdraws enough), unless withdraw(ticket) comes first. A
  // request larger than Limits::bytes (and not small) is never granted: the
  // server refuses such bodies before asking.
  bool acquire(std::size_t bytes, Share& share, std::uint64_t& ticket,
               std::function<void(Share)> on_grant);
  // Withdraws a queued request, granting those behind it that now fit. True
  // when it was still queued; false when it was granted already (its
  // on_grant has run or is running).
  bool withdraw(std::uint64_t ticket);
  void release(const Share& share);

  [[nodiscard]] std::size_t bytes_in_use() const;
  [[nodiscard]] std::size_t waiting() const;

 private:
  struct Waiter {
    std::uint64_t ticket;
    std::size_t bytes;
    std::function<void(Share)> on_grant;
  };

  [[nodiscard]] bool is_small(std::size_t bytes) const { return bytes <= limits_.small_body; }
  using Grants = std::vector<std::pair<std::function<void(Share)>, Share>>;

  // Takes the share if it fits now (caller holds the lock).
  bool take(std::size_t bytes, Share& share);
  // Takes from the queue, in order, the waiters that fit now (caller holds
  // the lock; the grants are called after it is let go).
  void collect_grants(Grants& granted);

  const Limits limits_;
  mutable std::mutex mutex_;
  std::size_t large_used_ = 0;
  std::size_t small_used_ = 0;
  std::uint64_t next_ticket_ = 0;
  std::deque<Waiter> waiters_;
};

}  // namespace asmegress::server
