// Graceful shutdown: /readyz fails and responses say Connection: close during
// the drain period, then the listener closes, and whatever was in flight is
// still answered before the server (or the process, on SIGTERM) ends with 0.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/server/server_fixture.h"

extern char** environ;

namespace asmegress::server::testing {
namespace {

bool refuses_new_connections(std::uint16_t port, const std::string& ca_pem) {
  TlsClient probe(port, {ca_pem, {}});
  try {
    probe.connect();
    return false;
  } catch (const std::exception&) {
    return true;
  }
}

TEST(Shutdown, RequestInFlightIsAnsweredAfterTheListenerCloses) {
  RunningServer server([](ServerConfig& config) {
    config.shutdown_drain_period = std::chrono::milliseconds(300);
  });
  const std::string review = testdata("review-create-auto-ports.json");
  auto idle = server.client();
  ASSERT_EQ(idle->request("GET", "/readyz", {}, {}).result_int(), 200u);

  // Half a request is on the wire when the signal comes.
  auto busy = server.client();
  const std::string request = raw_post("/mutate?timeout=10s", review);
  const std::size_t half = request.size() / 2;
  busy->write_raw(std::string_view(request).substr(0, half));

  server.server().shutdown();
  const auto readyz = idle->request("GET", "/readyz", {}, {});
  EXPECT_EQ(readyz.result_int(), 503u);
  EXPECT_FALSE(readyz.keep_alive());

  ASSERT_TRUE(eventually([&] { return refuses_new_connections(server.port(), server.ca_pem()); }));
  busy->write_raw(std::string_view(request).substr(half));
  const auto response = busy->read_response();
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_FALSE(response.keep_alive());

  const auto started = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(Shutdown, ConnectionOpenedDuringTheDrainIsNotClosedBeforeItsFirstRequest) {
  RunningServer server([](ServerConfig& config) {
    config.shutdown_drain_period = std::chrono::milliseconds(300);
  });
  server.server().shutdown();
  auto late = server.client();
  late->connect();  // accepted during the drain; its request has not arrived yet
  ASSERT_TRUE(eventually([&] { return refuses_new_connections(server.port(), server.ca_pem()); }));
  const auto response = late->post_review("/validate", testdata("review-create-auto-ports.json"));
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_FALSE(response.keep_alive());
}

TEST(Shutdown, GracePeriodBoundsAClientThatNeverFinishes) {
  RunningServer server([](ServerConfig& config) {
    config.shutdown_drain_period = std::chrono::milliseconds(100);
    config.shutdown_grace_period = std::chrono::milliseconds(600);
  });
  auto stuck = server.client();
  stuck->write_raw(raw_post("/mutate", std::string(1000, ' ')).substr(0, 200));
  ASSERT_TRUE(eventually([&] { return server.logs().find("\"port\"") != std::string::npos; }));
  const auto started = std::chrono::steady_clock::now();
  server.stop();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(500));
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_NE(server.logs().find("grace period over"), std::string::npos);
}

TEST(Shutdown, KeepAliveClientsGetEveryAnswerAndAreToldToClose) {
  RunningServer server([](ServerConfig& config) {
    config.shutdown_drain_period = std::chrono::milliseconds(300);
  });
  const std::string review = testdata("review-create-auto-ports.json");
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::atomic<int> told_to_close{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto client = server.client();
      try {
        client->connect();
        while (true) {
          const auto response = client->post_review("/mutate?timeout=10s", review);
          if (response.result_int() != 200) {
            failed++;
            return;
          }
          answered++;
          go = true;
          if (!response.keep_alive()) {
            told_to_close++;
            return;
          }
        }
      } catch (const std::exception&) {
        failed++;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return answered.load() > 100; }));
  server.server().shutdown();
  for (auto& thread : clients) thread.join();
  server.stop();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(told_to_close.load(), 4);
}

TEST(Shutdown, ProcessAnswersInFlightRequestAndExitsZeroOnSigterm) {
  TemporaryDirectory directory;
  const std::string log_path = (directory.path() / "server.log").string();
  const std::string cert_dir = (directory.path() / "certs").string();
  std::vector<std::string> arguments{ASM_EGRESS_WEBHOOK_BINARY, "serve",
                                     "--secure-port", "0",
                                     "--bind-address", "127.0.0.1",
                                     "--cert-dir", cert_dir,
                                     "--threads", "2",
                                     "--shutdown-drain-period", "300ms",
                                     "--shutdown-grace-period", "10s"};
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  std::uint16_t port = 0;
  ASSERT_TRUE(eventually([&] {
    const std::string logs = read_text(log_path);
    const auto field = logs.find("\"port\":");
    if (field == std::string::npos) return false;
    port = static_cast<std::uint16_t>(std::stoi(logs.substr(field + 7)));
    return true;
  })) << read_text(log_path);

  const std::string ca_pem = read_text(std::filesystem::path(cert_dir) / "ca.crt");
  TlsClient busy(port, {ca_pem, {}});
  const std::string request =
      raw_post("/validate?timeout=10s", testdata("review-create-auto-ports.json"));
  const std::size_t half = request.size() / 2;
  busy.write_raw(std::string_view(request).substr(0, half));

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_TRUE(eventually([&] {
    return read_text(log_path).find("stopped accepting connections") != std::string::npos;
  })) << read_text(log_path);
  busy.write_raw(std::string_view(request).substr(half));
  EXPECT_EQ(busy.read_response().result_int(), 200u);

  int status = 0;
  ASSERT_TRUE(eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }))
      << read_text(log_path);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_text(log_path);
  EXPECT_NE(read_text(log_path).find("\"msg\":\"shut down\""), std::string::npos);
}

}  // namespace
}  // namespace asmegress::server::testing
