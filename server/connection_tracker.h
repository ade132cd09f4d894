#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace asmegress::server {

class Session;

// The open connections: their number (for the connection limit and for
// knowing when shutdown may finish) and a way to reach each one (to close the
// idle ones when the server stops accepting).
class ConnectionTracker {
 public:
  std::uint64_t add(const std::shared_ptr<Session>& session);
  void remove(std::uint64_t id);
  std::size_t size() const;
  // Asks every open connection to finish: idle ones close now, busy ones after
  // their current response.
  void close_all_when_idle();

 private:
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
};

}  // namespace asmegress::server
