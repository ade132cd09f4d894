// Where the API server is and how to authenticate: server URLs, kubeconfigs
// (as the JSON value of their YAML) and the pod's service account.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <boost/json/parse.hpp>

#include "kube/cluster_access.h"
#include "kube/objects.h"

namespace asmegress::kube {
namespace {

namespace fs = std::filesystem;

TEST(ServerUrl, HostPortAndPrefix) {
  struct Case {
    const char* url;
    const char* host;
    const char* port;
    const char* prefix;
  };
  for (const Case& c : {Case{"https://10.96.0.1:443", "10.96.0.1", "443", ""},
                        Case{"https://api.example.com", "api.example.com", "443", ""},
                        Case{"https://[fd00::1]:6443/", "fd00::1", "6443", ""},
                        Case{"https://[::1]", "::1", "443", ""},
                        Case{"https://rancher.example/k8s/clusters/c-1", "rancher.example", "443",
                             "/k8s/clusters/c-1"}}) {
    ClusterAccess access;
    std::string error;
    ASSERT_TRUE(parse_server_url(c.url, access, error)) << c.url << ": " << error;
    EXPECT_EQ(access.host, c.host) << c.url;
    EXPECT_EQ(access.port, c.port) << c.url;
    EXPECT_EQ(access.base_path, c.prefix) << c.url;
  }
  for (const char* bad : {"http://10.0.0.1", "10.0.0.1:443", "https://", "https://[::1",
                          "https://host:http", "https://user@host", "https://host:123456"}) {
    ClusterAccess access;
    std::string error;
    EXPECT_FALSE(parse_server_url(bad, access, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

class KubeconfigTest : public ::testing::Test {
 protected:
  KubeconfigTest() : directory_(fs::path(::testing::TempDir()) / ("kubeconfig-" + std::to_string(::getpid()))) {
    fs::create_directories(directory_);
  }
  ~KubeconfigTest() override { fs::remove_all(directory_); }

  std::optional<ClusterAccess> read(const std::string& json_text, std::string& error) const {
    return kubeconfig_access(boost::json::parse(json_text), directory_, error);
  }

  fs::path directory_;
};

TEST_F(KubeconfigTest, TheCurrentContextsClusterAndUser) {
  const std::string config = R"({
    "current-context": "b",
    "contexts": [{"name": "a", "context": {"cluster": "one", "user": "x"}},
                 {"name": "b", "context": {"cluster": "two", "user": "y"}}],
    "clusters": [{"name": "one", "cluster": {"server": "https://one:1"}},
                 {"name": "two", "cluster": {"server": "https://two.example:6443",
                   "certificate-authority-data": ")" + base64_encode("CA PEM") + R"(",
                   "tls-server-name": "kubernetes"}}],
    "users": [{"name": "x", "user": {"token": "wrong"}},
              {"name": "y", "user": {"token": "right"}}]})";
  std::string error;
  const auto access = read(config, error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->host, "two.example");
  EXPECT_EQ(access->port, "6443");
  EXPECT_EQ(access->ca_pem, "CA PEM");
  EXPECT_EQ(access->server_name, "kubernetes");
  EXPECT_EQ(access->token, "right");
  EXPECT_NE(access->origin.find("\"b\""), std::string::npos);
}

TEST_F(KubeconfigTest, FilesAreRelativeToTheKubeconfig) {
  std::ofstream(directory_ / "ca.crt") << "CA FROM FILE";
  std::ofstream(directory_ / "client.crt") << "CERT";
  std::ofstream(directory_ / "client.key") << "KEY";
  std::string error;
  const auto access = read(R"({"current-context": "c",
    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    "clusters": [{"name": "k", "cluster": {"server": "https://k:443", "certificate-authority": "ca.crt"}}],
    "users": [{"name": "u", "user": {"client-certificate": "client.crt", "client-key": "client.key",
                                     "tokenFile": "token"}}]})",
                           error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->ca_pem, "CA FROM FILE");
  EXPECT_EQ(access->client_certificate_pem, "CERT");
  EXPECT_EQ(access->client_key_pem, "KEY");
  EXPECT_EQ(access->token_file, (directory_ / "token").string());
}

TEST_F(KubeconfigTest, WhatTheClientCannotDoIsRefusedWithAReason) {
  const std::string start = R"({"current-context": "c",
    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],)";
  struct Case {
    std::string rest;
    std::string expected;
  };
  for (const Case& c : {
           Case{R"("clusters": [{"name": "k", "cluster": {"server": "https://k", "insecure-skip-tls-verify": true}}],
                  "users": [{"name": "u", "user": {"token": "t"}}]})",
                "insecure-skip-tls-verify"},
           Case{R"("clusters": [{"name": "k", "cluster": {"server": "https://k"}}],
                  "users": [{"name": "u", "user": {"exec": {"command": "aws"}}}]})",
                "uses exec"},
           Case{R"("clusters": [{"name": "k", "cluster": {"server": "http://k"}}],
                  "users": [{"name": "u", "user": {"token": "t"}}]})",
                "must start with https://"},
           Case{R"("clusters": [{"name": "other", "cluster": {"server": "https://k"}}],
                  "users": [{"name": "u", "user": {"token": "t"}}]})",
                "no cluster \"k\""},
           Case{R"("clusters": [{"name": "k", "cluster": {"server": "https://k", "certificate-authority": "missing.crt"}}],
                  "users": [{"name": "u", "user": {"token": "t"}}]})",
                "cannot read"},
       }) {
    std::string error;
    EXPECT_FALSE(read(start + c.rest, error)) << c.rest;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
  std::string error;
  EXPECT_FALSE(read(R"({"contexts": []})", error));
  EXPECT_NE(error.find("current-context"), std::string::npos);
}

TEST(InCluster, TheServiceAccountsTokenAndCa) {
  const fs::path directory =
      fs::path(::testing::TempDir()) / ("serviceaccount-" + std::to_string(::getpid()));
  fs::create_directories(directory);
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  std::string error;
  EXPECT_FALSE(in_cluster_access(error, directory));
  EXPECT_NE(error.find("--kubeconfig"), std::string::npos);

  ::setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  EXPECT_FALSE(in_cluster_access(error, directory));
  EXPECT_NE(error.find("automountServiceAccountToken"), std::string::npos);

  std::ofstream(directory / "ca.crt") << "CLUSTER CA";
  std::ofstream(directory / "token") << "TOKEN";
  const auto access = in_cluster_access(error, directory);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->host, "fd00:10:96::1");
  EXPECT_EQ(access->port, "443");
  EXPECT_EQ(access->ca_pem, "CLUSTER CA");
  EXPECT_EQ(access->token_file, (directory / "token").string());
  EXPECT_TRUE(access->token.empty());  // read from the file at every call
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  fs::remove_all(directory);
}

}  // namespace
}  // namespace asmegress::kube
