// The admission server with its timeouts and limits set from the command
// line, so the hostile suite can cut slow clients in a second instead of the
// production defaults' tens of seconds. The same Server class as `serve`;
// run as a child process so the suite can read its memory and signal it.
//
//   hostile_server CERT_DIR MAX_CONNECTIONS STEP_TIMEOUT_MS IDLE_TIMEOUT_MS [CLIENT_CA]
//
// Prints "port N" on stdout once it serves; logs go to stderr.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "policy/settings.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/server_config.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s CERT_DIR MAX_CONNECTIONS STEP_TIMEOUT_MS IDLE_TIMEOUT_MS [CLIENT_CA]\n",
                 argv[0]);
    return 2;
  }
  asmegress::server::ServerConfig config;
  config.bind_address = "127.0.0.1";
  config.secure_port = 0;
  config.cert_dir = argv[1];
  config.max_connections = std::stoul(argv[2]);
  const std::chrono::milliseconds step{std::stol(argv[3])};
  config.handshake_timeout = step;
  config.header_timeout = step;
  config.body_timeout = step;
  config.write_timeout = std::chrono::seconds(5);
  config.idle_timeout = std::chrono::milliseconds{std::stol(argv[4])};
  if (argc > 5) config.client_ca_file = argv[5];
  config.threads = 2;
  config.shutdown_drain_period = std::chrono::milliseconds(200);
  config.shutdown_grace_period = std::chrono::seconds(5);
  config.handle_signals = true;

  const asmegress::policy::Settings settings;
  asmegress::server::Logger logger(std::cerr, 1);
  asmegress::server::Metrics metrics;
  asmegress::server::Server server(config, settings, metrics, logger);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot start: %s\n", e.what());
    return 1;
  }
  std::printf("port %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  server.wait();
  return 0;
}
