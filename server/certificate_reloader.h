#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/certificate_generator.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/server_config.h"
#include "server/tls_context.h"

namespace asmegress::server {

struct TlsFiles {
  std::string certificate;  // empty (with private_key): the pair comes from serve_pair()
  std::string private_key;
  std::string client_ca;  // empty: none
};

// Keeps the serving context in step with the certificate files. cert-manager
// rotates a mounted Secret by swapping a symlink, which inotify on the file
// path does not see reliably; reading the (small) files every interval and
// comparing bytes does, whatever the mechanism. A changed pair that does not
// load is logged and counted once and the previous context stays in use.
// Handshakes already under way keep the context they started with.
class CertificateReloader {
 public:
  CertificateReloader(TlsFiles files, TlsMinVersion min_version, Metrics& metrics, Logger& logger);

  // Loads the files now. False (with the reason) when they are unusable.
  bool load(std::string& error);

  // Serves `pair` from memory from the next handshake on (the client CA still
  // comes from its file), for certificates the server keeps itself. False,
  // with the reason, when it does not load; the previous pair stays.
  bool serve_pair(const PemPair& pair, std::string& error);

  // The context for the next handshake.
  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Polls the files every `interval` on `executor` until stop().
  void start(const boost::asio::any_io_executor& executor, std::chrono::milliseconds interval);
  void stop();

  // One poll: reloads if the files changed. True when a new context is in use.
  bool poll();

 private:
  std::optional<TlsMaterial> read_material(std::string& error) const;
  void schedule();

  TlsFiles files_;
  TlsMinVersion min_version_;
  Metrics& metrics_;
  Logger& logger_;

  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;

  // poll() runs on one timer chain, serve_pair() on the caller's thread.
  std::mutex material_mutex_;
  TlsMaterial in_use_;
  std::optional<TlsMaterial> failed_;  // the last changed material that did not load
  bool failure_reported_ = false;

  std::chrono::milliseconds interval_{1000};
  std::unique_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace asmegress::server
