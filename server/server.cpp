#include "server/server.h"

#include <malloc.h>

#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "server/certificate_generator.h"
#include "server/cpu_quota.h"
#include "server/duration.h"
#include "server/open_files.h"

namespace asmegress::server {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds connection_poll_interval{10};
// How often the server looks whether a burst of connections has gone, to
// give their memory back to the system.
constexpr std::chrono::seconds memory_trim_interval{1};
// Connections that must have gone since the last look for it to trim.
constexpr std::size_t trim_after_connections = 64;

}  // namespace

Server::Server(ServerConfig config, const policy::Settings& settings, Metrics& metrics,
               Logger& logger)
    : config_(std::move(config)),
      settings_(settings),
      metrics_(metrics),
      logger_(logger),
      work_(std::in_place, io_context_.get_executor()),
      control_(io_context_.get_executor()),
      shutdown_timer_(control_),
      trim_timer_(control_) {}

Server::~Server() {
  if (!threads_.empty()) {
    shutdown();
    wait();
  }
  certificate_keeper_.reset();  // it serves through certificates_
  // Its timer must go before the io_context does; no thread runs it any more.
  certificates_.reset();
}

void Server::resolve_certificate_files() {
  if (config_.tls_cert_file.empty() != config_.tls_private_key_file.empty()) {
    throw std::runtime_error("--tls-cert-file and --tls-private-key-file go together");
  }
  if (!config_.tls_cert_file.empty()) return;
  std::string error;
  const auto files = ensure_serving_certificate(config_.cert_dir, error);
  if (!files) throw std::runtime_error("cannot prepare a serving certificate: " + error);
  config_.tls_cert_file = files->certificate.string();
  config_.tls_private_key_file = files->private_key.string();
  logger_.info(files->reused ? "using the self-signed serving certificate in --cert-dir"
                             : "generated a self-signed serving certificate in --cert-dir",
               {{"certDir", config_.cert_dir},
                {"caFile", files->ca_certificate.string()},
                {"certFile", config_.tls_cert_file},
                {"keyFile", config_.tls_private_key_file}});
}

void Server::load_certificates() {
  const SelfCertificateConfig& self = config_.self_certificates;
  if (!self.enabled()) {
    resolve_certificate_files();
    certificates_ = std::make_unique<CertificateReloader>(
        TlsFiles{config_.tls_cert_file, config_.tls_private_key_file, config_.client_ca_file},
        config_.tls_min_version, metrics_, logger_);
    std::string error;
    if (!certificates_->load(error)) {
      throw std::runtime_error("cannot load the serving certificate: " + error);
    }
    return;
  }
  if (!config_.tls_cert_file.empty() || !config_.tls_private_key_file.empty()) {
    throw std::runtime_error("--certificate-secret and --tls-cert-file exclude each other");
  }
  // Until the Secret's pair is served, a throwaway one keeps the port and the
  // probes up; /readyz fails meanwhile.
  certificates_ = std::make_unique<CertificateReloader>(TlsFiles{{}, {}, config_.client_ca_file},
                                                        config_.tls_min_version, metrics_, logger_);
  std::string error;
  const auto placeholder = CertificateKeeper::placeholder_pair(self, error);
  if (!placeholder || !certificates_->serve_pair(*placeholder, error)) {
    throw std::runtime_error("cannot prepare a temporary serving certificate: " + error);
  }
  try {
    certificate_keeper_ =
        std::make_unique<CertificateKeeper>(self, *certificates_, metrics_, logger_);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("cannot use the Kubernetes API credentials: ") + e.what());
  }
}

void Server::start() {
  // glibc serves large blocks from its arenas once its mmap threshold has
  // risen after the first large free, and then keeps them: a handful of
  // multi-megabyte reviews would raise the resident size for good. A fixed
  // threshold keeps blocks of 128 KiB and more (review bodies, JSON arenas)
  // in their own mappings, returned on free. Process-wide, which suits the
  // process whose job this server is.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // OpenSSL writes to the sockets with write(2), which raises SIGPIPE on a
  // connection the client has reset; the error it returns is enough.
  ::signal(SIGPIPE, SIG_IGN);
  if (config_.max_request_bytes_in_flight < config_.max_request_bytes) {
    throw std::runtime_error("--max-request-bytes-in-flight (" +
                             std::to_string(config_.max_request_bytes_in_flight) +
                             ") must be at least --max-request-bytes (" +
                             std::to_string(config_.max_request_bytes) +
                             "), or the largest request could never be read");
  }
  const OpenFileLimit files = raise_open_file_limit();
  const std::size_t connections = connections_within(config_.max_connections, files.now);
  if (connections < config_.max_connections) {
    // Past the descriptors, accept(2) fails and no idle connection can be
    // closed to make room: a lower limit that is kept beats a higher one
    // that locks new clients out.
    logger_.warning("too few open files for --max-connections; holding fewer connections",
                    {{"maxConnections", config_.max_connections},
                     {"openFileLimit", files.now},
                     {"connections", connections},
                     {"fix", "raise the container's RLIMIT_NOFILE (ulimit -n)"}});
    config_.max_connections = connections;
  }
  load_certificates();
  std::function<std::string()> not_ready;
  if (certificate_keeper_) {
    not_ready = [keeper = certificate_keeper_.get()] { return keeper->not_ready_reason(); };
  }
  budget_ = std::make_unique<BodyBudget>(
      BodyBudget::Limits{.bytes = config_.max_request_bytes_in_flight});
  router_ = std::make_unique<Router>(settings_, !config_.client_ca_file.empty(), metrics_,
                                     logger_, draining_, std::move(not_ready));
  environment_ = std::make_unique<SessionEnvironment>(
      SessionEnvironment{config_, *router_, metrics_, logger_, draining_, tracker_, *budget_});

  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config_.bind_address, ec);
  if (ec) throw std::runtime_error("--bind-address " + config_.bind_address + " is not an IP");
  try {
    listener_ = std::make_shared<Listener>(
        io_context_, asio::ip::tcp::endpoint(address, config_.secure_port), *certificates_,
        *environment_);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + config_.bind_address + ":" +
                             std::to_string(config_.secure_port) + ": " + e.code().message());
  }
  port_ = listener_->local_endpoint().port();
  listener_->start();
  certificates_->start(io_context_.get_executor(), config_.certificate_poll_interval);
  if (certificate_keeper_) certificate_keeper_->start();

  if (config_.handle_signals) {
    signals_.emplace(control_, SIGTERM, SIGINT);
    signals_->async_wait([this](const boost::system::error_code& wait_ec, int signal) {
      if (wait_ec) return;
      logger_.info("signal received", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      shutdown();
    });
  }

  const unsigned threads = config_.threads != 0 ? config_.threads : default_thread_count();
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { serve_on_this_thread(); });
  schedule_memory_trim();

  logger_.info("serving admission webhooks",
               {{"address", config_.bind_address},
                {"port", port_},
                {"threads", threads},
                {"clientCertificates", config_.client_ca_file.empty() ? "not requested"
                                                                       : "required on webhooks"},
                {"maxRequestBytes", config_.max_request_bytes},
                {"maxRequestBytesInFlight", config_.max_request_bytes_in_flight},
                {"maxConnections", config_.max_connections},
                {"openFileLimit", files.now}});
}

// Every handler catches what it can throw; should one still escape, the
// thread logs it and goes on serving rather than end and take a share of
// the server's capacity with it.
void Server::serve_on_this_thread() {
  for (;;) {
    try {
      io_context_.run();
      return;
    } catch (const std::exception& e) {
      metrics_.handler_exception();
      logger_.error("an exception escaped a handler; the thread goes on serving",
                    {{"error", e.what()}});
    } catch (...) {
      metrics_.handler_exception();
      logger_.error("an exception escaped a handler; the thread goes on serving",
                    {{"error", "unknown exception"}});
    }
  }
}

// After a burst of connections (a flood of idle clients, thousands of
// handshakes) their small allocations are freed but glibc keeps the pages:
// give them back once the burst is over.
void Server::schedule_memory_trim() {
  trim_timer_.expires_after(memory_trim_interval);
  trim_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    // The most connections open since the last look, however short the
    // burst: a flood can come and go between two looks.
    const std::size_t peak = tracker_.take_peak();
    const std::size_t now = tracker_.size();
    if (now + trim_after_connections <= peak) {
      ::malloc_trim(0);
      logger_.debug("gave the memory of closed connections back",
                    {{"connections", now}, {"peak", peak}});
    }
    schedule_memory_trim();
  });
}

void Server::shutdown() {
  if (shutdown_requested_.exchange(true)) return;
  // The certificate keeper has nothing to do during the drain; it ends after
  // its call in flight, if any, and wait() joins it.
  if (certificate_keeper_) certificate_keeper_->request_stop();
  asio::post(control_, [this] {
    draining_.store(true);
    shutdown_deadline_ = std::chrono::steady_clock::now() + config_.shutdown_grace_period;
    logger_.info("shutting down: draining",
                 {{"drainPeriod", to_seconds(config_.shutdown_drain_period)},
                  {"gracePeriod", to_seconds(config_.shutdown_grace_period)}});
    shutdown_timer_.expires_after(config_.shutdown_drain_period);
    shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) after_drain_period();
    });
  });
}

void Server::after_drain_period() {
  if (listener_) listener_->stop();
  tracker_.close_all_when_idle();
  logger_.info("stopped accepting connections; finishing requests in flight",
               {{"connections", tracker_.size()}});
  wait_for_connections();
}

void Server::wait_for_connections() {
  if (tracker_.size() == 0) {
    finish();
    return;
  }
  if (std::chrono::steady_clock::now() >= shutdown_deadline_) {
    logger_.warning("grace period over; closing the remaining connections",
                    {{"connections", tracker_.size()}});
    finish();
    return;
  }
  shutdown_timer_.expires_after(connection_poll_interval);
  shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) wait_for_connections();
  });
}

void Server::finish() {
  if (certificates_) certificates_->stop();
  trim_timer_.cancel();
  if (signals_) signals_->cancel();
  work_.reset();
  logger_.info("shut down");
  io_context_.stop();
}

void Server::wait() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  if (certificate_keeper_) certificate_keeper_->stop();
}

}  // namespace asmegress::server
