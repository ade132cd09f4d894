#include "server/connection_tracker.h"

#include <vector>

#include "server/session.h"

namespace asmegress::server {

std::uint64_t ConnectionTracker::add(const std::shared_ptr<Session>& session) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t id = ++next_id_;
  sessions_.emplace(id, session);
  return id;
}

void ConnectionTracker::remove(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  sessions_.erase(id);
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
    for (const auto& [id, weak] : sessions_) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  // Outside the lock: a session released here may unregister itself.
  for (const auto& session : live) session->close_when_idle();
}

}  // namespace asmegress::server
