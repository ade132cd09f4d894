#include "tests/server/server_fixture.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace asmegress::server::testing {

TemporaryDirectory::TemporaryDirectory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "asm-egress-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string testdata(const std::string& name) {
  return read_text(std::filesystem::path(ASM_EGRESS_TESTDATA_DIR) / name);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

ServerConfig test_config(const std::filesystem::path& directory) {
  ServerConfig config;
  config.bind_address = "127.0.0.1";
  config.secure_port = 0;
  config.cert_dir = (directory / "certs").string();
  config.threads = 2;
  config.shutdown_drain_period = std::chrono::milliseconds(200);
  config.shutdown_grace_period = std::chrono::seconds(10);
  config.certificate_poll_interval = std::chrono::milliseconds(50);
  return config;
}

RunningServer::RunningServer(const std::function<void(ServerConfig&)>& configure,
                             const policy::Settings& settings)
    : config_(test_config(directory_.path())),
      settings_(settings),
      log_file_(directory_.path() / "server.log") {
  if (configure) configure(config_);
  logger_ = std::make_unique<Logger>(log_file_, 1);
  server_ = std::make_unique<Server>(config_, settings_, metrics_, *logger_);
  server_->start();
}

RunningServer::~RunningServer() { stop(); }

void RunningServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  server_->shutdown();
  server_->wait();
}

std::string RunningServer::logs() const {
  logger_->flush();
  return read_text(directory_.path() / "server.log");
}

std::string RunningServer::ca_pem() const {
  return read_text(std::filesystem::path(config_.cert_dir) / "ca.crt");
}

std::unique_ptr<TlsClient> RunningServer::client(std::optional<PemPair> client_certificate) const {
  return std::make_unique<TlsClient>(port(),
                                     TlsClient::Options{ca_pem(), std::move(client_certificate)});
}

}  // namespace asmegress::server::testing
