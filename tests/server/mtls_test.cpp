// With --client-ca-file: the webhook paths need a verified client certificate
// (the API server's), the probes do not (the kubelet has none).
#include <gtest/gtest.h>

#include "server/certificate_generator.h"
#include "tests/server/server_fixture.h"

namespace asmegress::server::testing {
namespace {

PemPair client_certificate(const PemPair& ca) {
  CertificateRequest request;
  request.common_name = "kube-apiserver";
  request.use = CertificateUse::ClientAuth;
  std::string error;
  auto pair = issue_certificate(ca, request, error);
  if (!pair) throw std::runtime_error(error);
  return *pair;
}

PemPair new_ca(const std::string& name) {
  std::string error;
  auto ca = generate_certificate_authority(name, std::chrono::hours(24), error);
  if (!ca) throw std::runtime_error(error);
  return *ca;
}

class MutualTlsTest : public ::testing::TestWithParam<TlsMinVersion> {
 protected:
  MutualTlsTest() {
    std::ofstream(files_.path() / "client-ca.crt") << client_ca_.certificate;
    server_ = std::make_unique<RunningServer>([this](ServerConfig& config) {
      config.client_ca_file = (files_.path() / "client-ca.crt").string();
      config.tls_min_version = GetParam();
    });
  }

  TemporaryDirectory files_;
  PemPair client_ca_ = new_ca("api-server-client-ca");
  std::unique_ptr<RunningServer> server_;
  std::string review_ = testdata("review-create-auto-ports.json");
};

TEST_P(MutualTlsTest, ClientCertificateFromTheClientCaIsAccepted) {
  auto client = server_->client(client_certificate(client_ca_));
  const auto response = client->post_review("/mutate?timeout=10s", review_);
  EXPECT_EQ(response.result_int(), 200u) << response.body();
  EXPECT_EQ(client->post_review("/validate", review_).result_int(), 200u);
}

TEST_P(MutualTlsTest, NoClientCertificateIs401OnWebhooksButProbesWork) {
  auto client = server_->client();
  EXPECT_EQ(client->post_review("/mutate", review_).result_int(), 401u);
  EXPECT_EQ(client->post_review("/validate", review_).result_int(), 401u);
  EXPECT_EQ(client->request("GET", "/healthz", {}, {}).result_int(), 200u);
  EXPECT_EQ(client->request("GET", "/readyz", {}, {}).result_int(), 200u);
  EXPECT_EQ(client->request("GET", "/metrics", {}, {}).result_int(), 200u);
  EXPECT_EQ(server_->metrics().requests(WebhookPath::Mutate, 401), 1u);
}

TEST_P(MutualTlsTest, ClientCertificateFromAnotherCaIsRefused) {
  const PemPair stranger = client_certificate(new_ca("some-other-ca"));
  auto client = server_->client(stranger);
  // With TLS 1.2 the handshake fails; with TLS 1.3 the client's handshake
  // completes before the server has checked its certificate, and the refusal
  // arrives as an alert on the first read. Either way: no answer.
  bool refused = false;
  try {
    const auto response = client->post_review("/mutate", review_);
    ADD_FAILURE() << "answered " << response.result_int();
  } catch (const boost::system::system_error&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(eventually([&] { return server_->metrics().tls_handshake_failures() >= 1; }));
}

INSTANTIATE_TEST_SUITE_P(TlsVersions, MutualTlsTest,
                         ::testing::Values(TlsMinVersion::Tls12, TlsMinVersion::Tls13),
                         [](const ::testing::TestParamInfo<TlsMinVersion>& param_info) {
                           return param_info.param == TlsMinVersion::Tls12 ? "MinTls12" : "MinTls13";
                         });

}  // namespace
}  // namespace asmegress::server::testing
