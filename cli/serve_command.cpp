// `serve`: the HTTPS admission server. Flags follow kube-apiserver's names
// (--secure-port, --tls-cert-file, --cert-dir, ...) so operators recognise them.
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/policy_flags.h"
#include "cli/self_certificate_flags.h"
#include "server/cpu_quota.h"
#include "server/duration.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/server_config.h"

namespace asmegress::cli {

namespace {

// A duration flag in Go's syntax ("25s", "500ms", "1m").
void add_duration_flag(CLI::App& command, const std::string& name,
                       std::chrono::milliseconds& target, const std::string& description,
                       const std::string& default_text) {
  command
      .add_option_function<std::string>(
          name,
          [&target, name](const std::string& text) {
            const auto parsed = server::parse_duration(text);
            if (!parsed) {
              throw CLI::ValidationError(name, "'" + text + "' is not a duration like 10s, 500ms or 1m");
            }
            target = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
          },
          description)
      ->default_str(default_text)
      ->type_name("DURATION");
}

struct ServeFlags {
  server::ServerConfig config;
  std::string kubeconfig;
  int verbosity = 0;
};

}  // namespace

void add_serve_command(CLI::App& app, policy::Settings& settings, int& exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  server::ServerConfig& config = flags->config;
  config.handle_signals = true;

  auto* serve = app.add_subcommand("serve", "Serve /mutate and /validate over HTTPS");
  serve->add_option("--bind-address", config.bind_address, "IP address to listen on")
      ->capture_default_str();
  serve->add_option("--secure-port", config.secure_port,
                    "HTTPS port for webhooks, probes and metrics (0: pick a free port and log it)")
      ->capture_default_str();
  serve->add_option("--tls-cert-file", config.tls_cert_file,
                    "Serving certificate (PEM, with intermediates); reloaded when it changes");
  serve->add_option("--tls-private-key-file", config.tls_private_key_file,
                    "Private key of --tls-cert-file (PEM)");
  serve->add_option("--cert-dir", config.cert_dir,
                    "Without --tls-cert-file: where a self-signed CA (ca.crt) and serving pair "
                    "(tls.crt, tls.key) for localhost are generated or reused")
      ->capture_default_str();
  serve->add_option("--client-ca-file", config.client_ca_file,
                    "Require client certificates signed by this CA on /mutate and /validate "
                    "(probes and /metrics stay reachable without one)");
  static const std::map<std::string, server::TlsMinVersion> versions{
      {"VersionTLS12", server::TlsMinVersion::Tls12},
      {"VersionTLS13", server::TlsMinVersion::Tls13},
  };
  serve->add_option("--tls-min-version", config.tls_min_version,
                    "Minimum TLS version: VersionTLS12 or VersionTLS13")
      ->transform(CLI::CheckedTransformer(versions, CLI::ignore_case))
      ->default_str("VersionTLS12");
  add_duration_flag(*serve, "--shutdown-grace-period", config.shutdown_grace_period,
                    "After SIGTERM, the longest time to finish requests before exiting", "25s");
  add_duration_flag(*serve, "--shutdown-drain-period", config.shutdown_drain_period,
                    "After SIGTERM, how long to keep serving (with Connection: close and "
                    "/readyz failing) before no longer accepting connections",
                    "3s");
  serve->add_option("--threads", config.threads,
                    "Worker threads (0: the cgroup's CPU quota rounded up, else one per core)")
      ->default_str(std::to_string(server::default_thread_count()));
  serve->add_option("--max-request-bytes", config.max_request_bytes,
                    "Largest request body accepted (413 beyond)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  serve->add_option("--max-request-bytes-in-flight", config.max_request_bytes_in_flight,
                    "Request bodies held at once; a body that does not fit waits unread (503 "
                    "after its timeout). Bodies of up to 64 KiB have 4 MiB more of their own")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32));
  serve->add_option("--max-connections", config.max_connections,
                    "Open connections; at the limit a new one takes the place of the oldest "
                    "that has not sent a whole request")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  serve->add_option("-v,--v", flags->verbosity, "Log verbosity: 0 info, 1 or more adds debug")
      ->capture_default_str();
  add_policy_flags(*serve, settings);
  add_self_certificate_flags(*serve, config.self_certificates, flags->kubeconfig);

  serve->callback([flags, &settings, &exit_code] {
    server::Logger logger(std::cerr, flags->verbosity);
    if (flags->config.self_certificates.enabled()) {
      std::string error;
      if (!resolve_cluster_access(flags->kubeconfig, flags->config.self_certificates.cluster,
                                  error)) {
        logger.error("cannot start the server", {{"error", error}});
        exit_code = 1;
        return;
      }
    }
    server::Metrics metrics;
    server::Server admission_server(flags->config, settings, metrics, logger);
    try {
      admission_server.start();
    } catch (const std::exception& e) {
      logger.error("cannot start the server", {{"error", e.what()}});
      exit_code = 1;
      return;
    }
    admission_server.wait();
    exit_code = 0;
  });
}

}  // namespace asmegress::cli
