#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace asmegress::server {

class Session;

// The open connections: their number (for the connection limit and for
// knowing when shutdown may finish), a way to reach each one (to close the
// idle ones when the server stops accepting), and which one makes room when
// the limit is reached.
//
// At the limit a new connection is not refused: the oldest connection that
// has not sent a whole request yet is closed for it (clients that connect and
// say nothing, or stop halfway through a header); failing that, the one idle
// the longest between requests. A connection answering a request is never
// chosen. So the API server's connection gets in however many idle or
// half-sent ones a hostile pod holds open.
class ConnectionTracker {
 public:
  std::uint64_t add(const std::shared_ptr<Session>& session);
  void remove(std::uint64_t id);
  // A whole request arrived and is being answered: not to be evicted.
  void busy(std::uint64_t id);
  // The answer is written; the connection waits for, or reads, its next request.
  void idle(std::uint64_t id);

  // Takes the connection that makes room out of the count and gives it to
  // the caller to close (`evicted` is null when it was closing already).
  // False when every connection is busy answering a request.
  bool evict(std::shared_ptr<Session>& evicted);

  std::size_t size() const;
  // The most connections open at once since the last call (or the start);
  // the count starts again from those open now.
  std::size_t take_peak();
  // Asks every open connection to finish: idle ones close now, busy ones after
  // their current response.
  void close_all_when_idle();

 private:
  enum class State : unsigned char { New, Busy, Idle };
  struct Entry {
    std::weak_ptr<Session> session;
    State state = State::New;
    std::uint64_t idle_since = 0;  // key in idle_ while Idle
  };
  void leave_state(std::uint64_t id, Entry& entry);

  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 0;
  std::uint64_t next_idle_ = 0;
  std::size_t peak_ = 0;
  std::unordered_map<std::uint64_t, Entry> sessions_;
  // Connections without a whole request yet, oldest first (ids increase).
  std::map<std::uint64_t, std::uint64_t> new_;
  // Idle connections by when they became idle, longest idle first.
  std::map<std::uint64_t, std::uint64_t> idle_;
};

}  // namespace asmegress::server
