#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace asmegress::kube {

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::filesystem::path& path);

// How to reach and authenticate to the API server.
struct ClusterAccess {
  std::string host;         // DNS name or IP address (an IPv6 one without brackets)
  std::string port = "443";
  std::string base_path;    // a prefix before /api and /apis, usually empty
  std::string server_name;  // the name the certificate must carry; empty: host
  std::string ca_pem;       // the API server's CA bundle; empty: the system's trust store
  // Bearer token: read from token_file before every request when set (the
  // kubelet rotates projected service-account tokens in place), else token.
  std::string token;
  std::string token_file;
  // A client certificate, for kubeconfigs that use one.
  std::string client_certificate_pem;
  std::string client_key_pem;
  // Where these settings came from, for log lines.
  std::string origin;
};

// "https://host[:port][/prefix]" into host, port and prefix. Plain http is
// refused: the token must not travel in clear text.
bool parse_server_url(std::string_view url, ClusterAccess& access, std::string& error);

// The pod's own credentials: $KUBERNETES_SERVICE_HOST and _PORT, and the
// token and CA that the kubelet mounts in `account_directory`.
std::optional<ClusterAccess> in_cluster_access(
    std::string& error, const std::filesystem::path& account_directory =
                            "/var/run/secrets/kubernetes.io/serviceaccount");

// The current context of a kubeconfig, given as the JSON value of its YAML.
// Relative file names in it are relative to `directory` (the file's folder).
// Supports server, certificate-authority(-data), tls-server-name, token,
// tokenFile and client certificates; exec and auth-provider plugins and
// insecure-skip-tls-verify are refused with a message saying so.
std::optional<ClusterAccess> kubeconfig_access(const boost::json::value& kubeconfig,
                                               const std::filesystem::path& directory,
                                               std::string& error);

}  // namespace asmegress::kube
