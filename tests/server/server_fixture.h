#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "policy/settings.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/server_config.h"
#include "tests/server/test_client.h"

namespace asmegress::server::testing {

// A fresh directory under /tmp, removed with everything in it.
class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& path);
std::string testdata(const std::string& name);

// Waits for `condition` for at most `timeout`, checking every few ms.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The configuration tests start from: a free port on loopback, certificates
// generated into a temporary folder, short drain and poll intervals.
ServerConfig test_config(const std::filesystem::path& directory);

// The real server, in this process, on a free port.
class RunningServer {
 public:
  explicit RunningServer(const std::function<void(ServerConfig&)>& configure = {},
                         const policy::Settings& settings = {});
  ~RunningServer();

  std::uint16_t port() const { return server_->port(); }
  Server& server() { return *server_; }
  Metrics& metrics() { return metrics_; }
  const ServerConfig& config() const { return config_; }
  const std::filesystem::path& directory() const { return directory_.path(); }
  std::string logs() const;
  // The CA that signed the serving certificate (the generated ca.crt unless
  // the test gave its own files).
  std::string ca_pem() const;
  std::unique_ptr<TlsClient> client(std::optional<PemPair> client_certificate = {}) const;

  // Stops the server now and waits for it (the destructor does it otherwise).
  void stop();

 private:
  TemporaryDirectory directory_;
  ServerConfig config_;
  policy::Settings settings_;
  Metrics metrics_;
  std::ofstream log_file_;
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<Server> server_;
  bool stopped_ = false;
};

}  // namespace asmegress::server::testing
