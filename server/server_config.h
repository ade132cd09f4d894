#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/self_certificate_config.h"

namespace asmegress::server {

enum class TlsMinVersion { Tls12, Tls13 };

// Everything the server needs to know, filled from the `serve` flags. The
// engine's own settings travel separately (policy::Settings).
struct ServerConfig {
  std::string bind_address = "0.0.0.0";
  std::uint16_t secure_port = 8443;  // 0: the kernel picks one; it is logged

  // Both empty: generate (or reuse) a CA and a serving pair in cert_dir.
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string cert_dir = "/tmp/asm-egress-webhook/certs";
  // Non-empty: ask for client certificates and require a verified one on the
  // webhook paths (see Router).
  std::string client_ca_file;
  TlsMinVersion tls_min_version = TlsMinVersion::Tls12;

  std::chrono::milliseconds shutdown_grace_period{std::chrono::seconds(25)};
  std::chrono::milliseconds shutdown_drain_period{std::chrono::seconds(3)};

  unsigned threads = 0;  // 0: the cgroup's CPU quota, else the cores
  std::size_t max_request_bytes = 7 * 1024 * 1024;
  // Request bodies held at once, in bytes (see BodyBudget): at least
  // max_request_bytes. Bodies of up to 64 KiB have 4 MiB more of their own.
  std::size_t max_request_bytes_in_flight = 24 * 1024 * 1024;
  // At the limit a new connection evicts one that has not sent a whole
  // request (see ConnectionTracker).
  std::size_t max_connections = 1024;

  // Timeouts on each step of a connection, so a slow or silent client holds a
  // slot only for a bounded time. Before its first request a connection has
  // the header timeout; only one that has sent a request gets the idle one.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(90)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};

  std::chrono::milliseconds certificate_poll_interval{std::chrono::seconds(1)};

  // Enabled: the serving pair and caBundle are kept in the Kubernetes API
  // (no certificate files, no cert_dir).
  SelfCertificateConfig self_certificates;

  // The executable handles SIGTERM/SIGINT; tests embedding the server call
  // Server::shutdown() instead.
  bool handle_signals = false;
};

}  // namespace asmegress::server
