#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "policy/settings.h"
#include "server/body_budget.h"
#include "server/certificate_keeper.h"
#include "server/certificate_reloader.h"
#include "server/connection_tracker.h"
#include "server/listener.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/server_config.h"
#include "server/session.h"

namespace asmegress::server {

// The admission server: TLS listener, worker threads, certificate reload and
// the shutdown sequence. Shutdown (SIGTERM/SIGINT, or shutdown()):
//   1. /readyz fails at once and every response carries Connection: close,
//      while new connections are still accepted for the drain period: the
//      endpoint leaves the Service only after a delay, and the API server
//      reuses keep-alive connections until told otherwise (kubernetes#127335);
//   2. then the listener closes, idle connections close, and requests under
//      way finish;
//   3. run ends when no connection is left, or when the grace period since
//      the signal runs out.
class Server {
 public:
  Server(ServerConfig config, const policy::Settings& settings, Metrics& metrics, Logger& logger);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads (or generates) certificates, binds and starts the worker threads.
  // Throws std::runtime_error with a message for the operator on failure.
  void start();
  // The bound port (useful with secure_port 0).
  std::uint16_t port() const { return port_; }
  // Begins the shutdown sequence. Thread-safe; later calls do nothing.
  void shutdown();
  // Blocks until the shutdown sequence has finished and the threads are joined.
  void wait();

  bool draining() const { return draining_.load(); }

 private:
  void resolve_certificate_files();
  void serve_on_this_thread();
  void schedule_memory_trim();
  void load_certificates();
  void after_drain_period();
  void wait_for_connections();
  void finish();

  ServerConfig config_;
  const policy::Settings& settings_;
  Metrics& metrics_;
  Logger& logger_;

  // What sessions refer to outlives the io_context: sessions still queued when
  // it is destroyed (grace period over) unregister themselves from tracker_.
  ConnectionTracker tracker_;
  std::unique_ptr<BodyBudget> budget_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<SessionEnvironment> environment_;
  std::unique_ptr<CertificateReloader> certificates_;  // reset in ~Server, before io_context_
  std::unique_ptr<CertificateKeeper> certificate_keeper_;  // self-managed certificates only

  boost::asio::io_context io_context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::strand<boost::asio::io_context::executor_type> control_;
  boost::asio::steady_timer shutdown_timer_;
  boost::asio::steady_timer trim_timer_;
  std::optional<boost::asio::signal_set> signals_;

  std::atomic<bool> draining_{false};
  std::atomic<bool> shutdown_requested_{false};
  std::chrono::steady_clock::time_point shutdown_deadline_{};

  std::shared_ptr<Listener> listener_;
  std::uint16_t port_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace asmegress::server
