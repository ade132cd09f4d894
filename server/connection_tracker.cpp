#include "server/connection_tracker.h"

#include <algorithm>
#include <vector>

#include "server/session.h"

namespace asmegress::server {

std::uint64_t ConnectionTracker::add(const std::shared_ptr<Session>& session) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t id = ++next_id_;
  sessions_.emplace(id, Entry{session, State::New, 0});
  new_.emplace(id, id);
  peak_ = std::max(peak_, sessions_.size());
  return id;
}

void ConnectionTracker::leave_state(std::uint64_t id, Entry& entry) {
  if (entry.state == State::New) new_.erase(id);
  if (entry.state == State::Idle) idle_.erase(entry.idle_since);
}

void ConnectionTracker::remove(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return;  // evicted earlier
  leave_state(id, it->second);
  sessions_.erase(it);
}

void ConnectionTracker::busy(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  const auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.state == State::Busy) return;
  leave_state(id, it->second);
  it->second.state = State::Busy;
}

void ConnectionTracker::idle(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  const auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.state != State::Busy) return;
  it->second.state = State::Idle;
  it->second.idle_since = ++next_idle_;
  idle_.emplace(it->second.idle_since, id);
}

bool ConnectionTracker::evict(std::shared_ptr<Session>& evicted) {
  const std::lock_guard lock(mutex_);
  for (auto* order : {&new_, &idle_}) {
    while (!order->empty()) {
      const std::uint64_t id = order->begin()->second;
      order->erase(order->begin());
      const auto it = sessions_.find(id);
      if (it == sessions_.end()) continue;
      evicted = it->second.session.lock();
      sessions_.erase(it);
      return true;
    }
  }
  return false;
}

std::size_t ConnectionTracker::take_peak() {
  const std::lock_guard lock(mutex_);
  const std::size_t peak = peak_;
  peak_ = sessions_.size();
  return peak;
}

std::size_t ConnectionTracker::size() const {
  const std::lock_guard lock(mutex_);
  return sessions_.size();
}

void ConnectionTracker::close_all_when_idle() {
  std::vector<std::shared_ptr<Session>> live;
  {
    const std::lock_guard lock(mutex_);
    live.reserve(sessions_.size());
    for (const auto& [id, entry] : sessions_) {
      if (auto session = entry.session.lock()) live.push_back(std::move(session));
    }
  }
  // Outside the lock: a session released here may unregister itself.
  for (const auto& session : live) session->close_when_idle();
}

}  // namespace asmegress::server
