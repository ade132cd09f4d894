// Rotation as cert-manager does it: the files change under a running server.
// Requests keep succeeding throughout, new handshakes get the new pair, and a
// broken pair is refused while the old one stays in use.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "server/certificate_generator.h"
#include "tests/server/server_fixture.h"

namespace asmegress::server::testing {
namespace {

PemPair issue_serving(const PemPair& ca) {
  CertificateRequest request;
  request.common_name = "localhost";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  std::string error;
  auto pair = issue_certificate(ca, request, error);
  if (!pair) throw std::runtime_error(error);
  return *pair;
}

void install(const std::filesystem::path& directory, const PemPair& pair) {
  std::string error;
  ASSERT_TRUE(write_file_atomically(directory / "tls.key", pair.private_key, 0600, error)) << error;
  ASSERT_TRUE(write_file_atomically(directory / "tls.crt", pair.certificate, 0644, error)) << error;
}

class CertificateReloadTest : public ::testing::Test {
 protected:
  CertificateReloadTest() {
    std::string error;
    ca_ = *generate_certificate_authority("reload-test-ca", std::chrono::hours(24), error);
    first_ = issue_serving(ca_);
    std::filesystem::create_directories(files_.path());
    install(files_.path(), first_);
    server_ = std::make_unique<RunningServer>([this](ServerConfig& config) {
      config.tls_cert_file = (files_.path() / "tls.crt").string();
      config.tls_private_key_file = (files_.path() / "tls.key").string();
    });
  }

  std::unique_ptr<TlsClient> client() const {
    return std::make_unique<TlsClient>(server_->port(), TlsClient::Options{ca_.certificate, {}});
  }

  std::string served_certificate() const {
    auto probe = client();
    probe->connect();
    return probe->peer_certificate_pem();
  }

  TemporaryDirectory files_;
  PemPair ca_;
  PemPair first_;
  std::unique_ptr<RunningServer> server_;
  std::string review_ = testdata("review-create-auto-ports.json");
};

TEST_F(CertificateReloadTest, RotationUnderLoadFailsNoRequestAndServesTheNewPair) {
  ASSERT_EQ(served_certificate(), first_.certificate);

  std::atomic<bool> stop{false};
  std::atomic<int> succeeded{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      while (!stop.load()) {
        try {
          // Half the clients open a new connection (a new handshake) per
          // request; the others keep theirs, as the API server does.
          auto connection = client();
          const int per_connection = t == 0 ? 20 : 1;
          for (int i = 0; i < per_connection && !stop.load(); ++i) {
            const auto response = connection->post_review("/mutate?timeout=10s", review_);
            (response.result_int() == 200 ? succeeded : failed)++;
          }
        } catch (const std::exception&) {
          failed++;
        }
      }
    });
  }

  ASSERT_TRUE(eventually([&] { return succeeded.load() > 20; }));
  std::vector<PemPair> rotations;
  for (int i = 0; i < 3; ++i) {
    rotations.push_back(issue_serving(ca_));
    install(files_.path(), rotations.back());
    const std::string expected = rotations.back().certificate;
    EXPECT_TRUE(eventually([&] { return served_certificate() == expected; }))
        << "rotation " << i << " not picked up";
    const int before = succeeded.load();
    ASSERT_TRUE(eventually([&] { return succeeded.load() > before + 10; }));
  }
  stop = true;
  for (auto& thread : clients) thread.join();

  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(succeeded.load(), 50);
  EXPECT_EQ(server_->metrics().certificate_reload_failures(), 0u);
  EXPECT_NE(server_->logs().find("serving certificate reloaded"), std::string::npos);
}

TEST_F(CertificateReloadTest, BrokenPairIsRefusedAndTheOldOneKept) {
  // A certificate whose key is not the one in tls.key.
  const PemPair other = issue_serving(ca_);
  std::string error;
  ASSERT_TRUE(write_file_atomically(files_.path() / "tls.crt", other.certificate, 0644, error));
  ASSERT_TRUE(eventually([&] { return server_->metrics().certificate_reload_failures() == 1; }));
  EXPECT_EQ(served_certificate(), first_.certificate);
  EXPECT_EQ(client()->post_review("/validate", review_).result_int(), 200u);

  // Garbage in the key file: still the old pair, and still one failure per change.
  ASSERT_TRUE(write_file_atomically(files_.path() / "tls.key", "not a key", 0600, error));
  ASSERT_TRUE(eventually([&] { return server_->metrics().certificate_reload_failures() == 2; }));
  EXPECT_EQ(served_certificate(), first_.certificate);

  // A good pair again is picked up.
  const PemPair fixed = issue_serving(ca_);
  install(files_.path(), fixed);
  EXPECT_TRUE(eventually([&] { return served_certificate() == fixed.certificate; }));
  EXPECT_EQ(server_->metrics().certificate_reload_failures(), 2u);
  EXPECT_NE(server_->logs().find("keeping the previous pair"), std::string::npos);
}

TEST(CertificateGeneration, GeneratedFilesAreReusedAndTheKeyIsPrivate) {
  TemporaryDirectory directory;
  std::string error;
  const auto first = ensure_serving_certificate(directory.path() / "certs", error);
  ASSERT_TRUE(first) << error;
  EXPECT_FALSE(first->reused);
  const auto permissions = std::filesystem::status(first->private_key).permissions();
  EXPECT_EQ(permissions & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string certificate = read_text(first->certificate);

  const auto second = ensure_serving_certificate(directory.path() / "certs", error);
  ASSERT_TRUE(second) << error;
  EXPECT_TRUE(second->reused);
  EXPECT_EQ(read_text(second->certificate), certificate);

  // A damaged file means a fresh pair.
  std::ofstream(first->private_key) << "damaged";
  const auto third = ensure_serving_certificate(directory.path() / "certs", error);
  ASSERT_TRUE(third) << error;
  EXPECT_FALSE(third->reused);
  EXPECT_NE(read_text(third->certificate), certificate);
}

}  // namespace
}  // namespace asmegress::server::testing
