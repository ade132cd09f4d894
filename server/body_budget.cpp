#include "server/body_budget.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace asmegress::server {

bool BodyBudget::take(std::size_t bytes, Share& share) {
  if (is_small(bytes) && small_used_ + bytes <= limits_.small_reserve) {
    small_used_ += bytes;
    share = {bytes, true};
    return true;
  }
  if (large_used_ + bytes <= limits_.bytes) {
    large_used_ += bytes;
    share = {bytes, false};
    return true;
  }
  return false;
}

bool BodyBudget::try_acquire(std::size_t bytes, Share& share) {
  const std::lock_guard lock(mutex_);
  return (is_small(bytes) || waiters_.empty()) && take(bytes, share);
}

bool BodyBudget::acquire(std::size_t bytes, Share& share, std::uint64_t& ticket,
                         std::function<void(Share)> on_grant) {
  const std::lock_guard lock(mutex_);
  // A large request waits its turn behind the large ones already waiting; a
  // small one goes ahead whenever it fits.
  const bool turn = is_small(bytes) || waiters_.empty();
  if (turn && take(bytes, share)) return true;
  ticket = ++next_ticket_;
  waiters_.push_back(Waiter{ticket, bytes, std::move(on_grant)});
  return false;
}

bool BodyBudget::withdraw(std::uint64_t ticket) {
  Grants granted;
  {
    const std::lock_guard lock(mutex_);
    const auto it = std::find_if(waiters_.begin(), waiters_.end(),
                                 [ticket](const Waiter& w) { return w.ticket == ticket; });
    if (it == waiters_.end()) return false;
    waiters_.erase(it);
    // Those that waited only because it was ahead of them may fit now.
    collect_grants(granted);
  }
  for (auto& [on_grant, taken] : granted) on_grant(taken);
  return true;
}

void BodyBudget::release(const Share& share) {
  if (share.bytes == 0) return;
  Grants granted;
  {
    const std::lock_guard lock(mutex_);
    if (share.small) {
      small_used_ -= share.bytes;
    } else {
      large_used_ -= share.bytes;
    }
    collect_grants(granted);
  }
  // Outside the lock: a grant may release at once (its request is gone).
  for (auto& [on_grant, taken] : granted) on_grant(taken);
}

void BodyBudget::collect_grants(Grants& granted) {
  // In order: the first large waiter that does not fit stops the large ones
  // behind it (so none of them starves); small ones behind it still go.
  bool large_blocked = false;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    const bool small = is_small(it->bytes);
    Share taken;
    if ((small || !large_blocked) && take(it->bytes, taken)) {
      granted.emplace_back(std::move(it->on_grant), taken);
      it = waiters_.erase(it);
      continue;
    }
    if (!small) large_blocked = true;
    ++it;
  }
}

std::size_t BodyBudget::bytes_in_use() const {
  const std::lock_guard lock(mutex_);
  return large_used_ + small_used_;
}

std::size_t BodyBudget::waiting() const {
  const std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace asmegress::server
