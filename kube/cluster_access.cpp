#include "kube/cluster_access.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "kube/objects.h"

namespace asmegress::kube {

namespace json = boost::json;

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

// The entry named `name` in a kubeconfig list (clusters, users, contexts),
// and its inner object under `field`.
const json::object* named_entry(const json::object& config, std::string_view list,
                                std::string_view name, std::string_view field) {
  const json::value* entries = config.if_contains(list);
  if (entries == nullptr || !entries->is_array()) return nullptr;
  for (const json::value& entry : entries->get_array()) {
    if (!entry.is_object()) continue;
    const json::object& object = entry.get_object();
    if (string_at(object, "name") != name) continue;
    return object_at(object, field);
  }
  return nullptr;
}

// Inline base64 data or a file; false with `error` when the file cannot be read.
bool data_or_file(const json::object& object, std::string_view data_key, std::string_view file_key,
                  const std::filesystem::path& directory, std::string& out, std::string& error) {
  const std::string data = string_at(object, data_key);
  if (!data.empty()) {
    const auto decoded = base64_decode(data);
    if (!decoded) {
      error = std::string(data_key) + " is not valid base64";
      return false;
    }
    out = *decoded;
    return true;
  }
  const std::string file = string_at(object, file_key);
  if (file.empty()) return true;
  const std::filesystem::path path = std::filesystem::path(file).is_absolute()
                                         ? std::filesystem::path(file)
                                         : directory / file;
  const auto text = read_file(path);
  if (!text) {
    error = "cannot read " + path.string() + " (" + std::string(file_key) + ")";
    return false;
  }
  out = *text;
  return true;
}

}  // namespace

bool parse_server_url(std::string_view url, ClusterAccess& access, std::string& error) {
  constexpr std::string_view scheme = "https://";
  if (url.substr(0, scheme.size()) != scheme) {
    error = "the API server URL \"" + std::string(url) + "\" must start with https://";
    return false;
  }
  std::string_view rest = url.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "the API server URL \"" + std::string(url) + "\" has an unclosed [";
      return false;
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "the API server URL \"" + std::string(url) + "\" is malformed after ]";
        return false;
      }
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty() || authority.find('@') != std::string_view::npos) {
    error = "the API server URL \"" + std::string(url) + "\" has no usable host";
    return false;
  }
  if (port.empty()) port = "443";
  for (const char c : port) {
    if (c < '0' || c > '9' || port.size() > 5) {
      error = "the API server URL \"" + std::string(url) + "\" has a bad port";
      return false;
    }
  }
  access.host = std::string(host);
  access.port = std::string(port);
  access.base_path = std::string(path);
  return true;
}

std::optional<ClusterAccess> in_cluster_access(std::string& error,
                                               const std::filesystem::path& account_directory) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    error =
        "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a "
        "pod; give --kubeconfig";
    return std::nullopt;
  }
  ClusterAccess access;
  std::string url = "https://";
  const std::string_view host_text(host);
  url += host_text.find(':') != std::string_view::npos ? "[" + std::string(host_text) + "]"
                                                       : std::string(host_text);
  url += ":" + std::string(port);
  if (!parse_server_url(url, access, error)) return std::nullopt;
  const auto ca = read_file(account_directory / "ca.crt");
  if (!ca) {
    error = "cannot read " + (account_directory / "ca.crt").string() +
            ": is the service account token mounted (automountServiceAccountToken)?";
    return std::nullopt;
  }
  access.ca_pem = *ca;
  access.token_file = (account_directory / "token").string();
  if (!read_file(access.token_file)) {
    error = "cannot read " + access.token_file +
            ": is the service account token mounted (automountServiceAccountToken)?";
    return std::nullopt;
  }
  access.origin = "in-cluster service account (" + account_directory.string() + ")";
  return access;
}

std::optional<ClusterAccess> kubeconfig_access(const json::value& kubeconfig,
                                               const std::filesystem::path& directory,
                                               std::string& error) {
  if (!kubeconfig.is_object()) {
    error = "the kubeconfig is not a mapping";
    return std::nullopt;
  }
  const json::object& config = kubeconfig.get_object();
  const std::string context_name = string_at(config, "current-context");
  if (context_name.empty()) {
    error = "the kubeconfig has no current-context";
    return std::nullopt;
  }
  const json::object* context = named_entry(config, "contexts", context_name, "context");
  if (context == nullptr) {
    error = "the kubeconfig has no context \"" + context_name + "\"";
    return std::nullopt;
  }
  const std::string cluster_name = string_at(*context, "cluster");
  const std::string user_name = string_at(*context, "user");
  const json::object* cluster = named_entry(config, "clusters", cluster_name, "cluster");
  if (cluster == nullptr) {
    error = "the kubeconfig has no cluster \"" + cluster_name + "\"";
    return std::nullopt;
  }
  ClusterAccess access;
  if (!parse_server_url(string_at(*cluster, "server"), access, error)) return std::nullopt;
  if (const json::value* insecure = cluster->if_contains("insecure-skip-tls-verify");
      insecure != nullptr && insecure->is_bool() && insecure->get_bool()) {
    error = "the kubeconfig sets insecure-skip-tls-verify: the API server's certificate must be "
            "verified; give its CA in certificate-authority-data";
    return std::nullopt;
  }
  access.server_name = string_at(*cluster, "tls-server-name");
  if (!data_or_file(*cluster, "certificate-authority-data", "certificate-authority", directory,
                    access.ca_pem, error)) {
    return std::nullopt;
  }
  if (!user_name.empty()) {
    const json::object* user = named_entry(config, "users", user_name, "user");
    if (user == nullptr) {
      error = "the kubeconfig has no user \"" + user_name + "\"";
      return std::nullopt;
    }
    for (const char* plugin : {"exec", "auth-provider"}) {
      if (user->contains(plugin)) {
        error = std::string("the kubeconfig's user \"") + user_name + "\" uses " + plugin +
                ", which this client does not run; use a token, a token file or a client "
                "certificate";
        return std::nullopt;
      }
    }
    access.token = string_at(*user, "token");
    const std::string token_file = string_at(*user, "tokenFile");
    if (!token_file.empty()) {
      access.token_file = std::filesystem::path(token_file).is_absolute()
                              ? token_file
                              : (directory / token_file).string();
    }
    if (!data_or_file(*user, "client-certificate-data", "client-certificate", directory,
                      access.client_certificate_pem, error) ||
        !data_or_file(*user, "client-key-data", "client-key", directory, access.client_key_pem,
                      error)) {
      return std::nullopt;
    }
    if (access.client_certificate_pem.empty() != access.client_key_pem.empty()) {
      error = "the kubeconfig's user \"" + user_name + "\" has a client certificate or key, "
              "not both";
      return std::nullopt;
    }
  }
  access.origin = "kubeconfig context \"" + context_name + "\"";
  return access;
}

}  // namespace asmegress::kube
