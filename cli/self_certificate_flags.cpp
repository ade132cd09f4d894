#include "cli/self_certificate_flags.h"

#include <filesystem>

#include <boost/asio/ip/address.hpp>
#include <CLI/CLI.hpp>

#include "cli/yaml_document.h"
#include "server/duration.h"

namespace asmegress::cli {

namespace {

// A lowercase RFC 1123 label.
bool is_label(std::string_view text) {
  if (text.empty() || text.size() > 63 || text.front() == '-' || text.back() == '-') return false;
  for (const char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// A DNS subdomain, optionally with a leading "*." wildcard label.
bool is_dns_name(std::string_view text) {
  if (text.substr(0, 2) == "*.") text.remove_prefix(2);
  if (text.empty() || text.size() > 253) return false;
  for (;;) {
    const std::size_t dot = text.find('.');
    if (!is_label(text.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

bool is_ip_address(const std::string& text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(text, ec);
  return !ec;
}

}  // namespace

void add_self_certificate_flags(CLI::App& serve, server::SelfCertificateConfig& config,
                                std::string& kubeconfig) {
  auto* secret = serve.add_option_function<std::string>(
      "--certificate-secret",
      [&config](const std::string& text) {
        const std::size_t slash = text.find('/');
        const std::string namespace_name = text.substr(0, slash);
        const std::string name = slash == std::string::npos ? "" : text.substr(slash + 1);
        if (!is_label(namespace_name) || !is_dns_name(name) || name.front() == '*') {
          throw CLI::ValidationError("--certificate-secret",
                                     "'" + text + "' is not NAMESPACE/NAME of a Secret");
        }
        config.secret_namespace = namespace_name;
        config.secret_name = name;
      },
      "Keep the CA and serving pair in this kubernetes.io/tls Secret (created when absent, "
      "renewed before expiry), shared by every replica: NAMESPACE/NAME");
  secret->type_name("NAMESPACE/NAME");

  auto* inject = serve.add_option_function<std::string>(
      "--inject-ca-into",
      [&config](const std::string& name) {
        if (!is_dns_name(name) || name.front() == '*') {
          throw CLI::ValidationError("--inject-ca-into", "'" + name + "' is not an object name");
        }
        config.webhook_configuration = name;
      },
      "With --certificate-secret: the MutatingWebhookConfiguration and "
      "ValidatingWebhookConfiguration of this name get the CA in every webhook's caBundle, "
      "put back when something else changes it");
  inject->type_name("NAME");

  auto* sans = serve.add_option_function<std::vector<std::string>>(
      "--tls-san",
      [&config](const std::vector<std::string>& names) {
        for (const std::string& name : names) {
          if (name.empty()) continue;
          if (is_ip_address(name)) {
            config.ip_addresses.push_back(name);
          } else if (is_dns_name(name)) {
            config.dns_names.push_back(name);
          } else {
            throw CLI::ValidationError("--tls-san",
                                       "'" + name + "' is neither a DNS name nor an IP address");
          }
        }
      },
      "With --certificate-secret: the DNS names and IP addresses of the serving certificate, "
      "comma-separated (the Service's names: NAME.NAMESPACE.svc, ...)");
  sans->delimiter(',')->type_name("NAMES");

  auto* validity = serve.add_option_function<std::string>(
      "--certificate-validity",
      [&config](const std::string& text) {
        const auto parsed = server::parse_duration(text);
        if (!parsed) {
          throw CLI::ValidationError("--certificate-validity",
                                     "'" + text + "' is not a duration like 90s, 720h or 8760h");
        }
        const auto value = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
        if (value < server::minimum_certificate_validity) {
          throw CLI::ValidationError(
              "--certificate-validity",
              "'" + text + "' is shorter than 90s: renewal starts with a third of the validity "
              "left, which must hold the settle period and two polls");
        }
        config.validity = value;
      },
      "With --certificate-secret: how long each generated CA and serving certificate is valid; "
      "renewed when a third is left");
  validity->type_name("DURATION")->default_str("8760h");

  auto* kubeconfig_option =
      serve.add_option("--kubeconfig", kubeconfig,
                       "With --certificate-secret: reach the API server with this kubeconfig's "
                       "current context instead of the pod's service account");
  kubeconfig_option->type_name("FILE");

  for (const char* file_flag : {"--tls-cert-file", "--tls-private-key-file"}) {
    if (CLI::Option* files = serve.get_option_no_throw(file_flag)) secret->excludes(files);
  }
  secret->needs(inject);
  secret->needs(sans);
  for (CLI::Option* option : {inject, sans, validity, kubeconfig_option}) option->needs(secret);
}

bool resolve_cluster_access(const std::string& kubeconfig, kube::ClusterAccess& access,
                            std::string& error) {
  if (kubeconfig.empty()) {
    auto found = kube::in_cluster_access(error);
    if (!found) return false;
    access = std::move(*found);
    return true;
  }
  const auto text = kube::read_file(kubeconfig);
  if (!text) {
    error = "cannot read --kubeconfig " + kubeconfig;
    return false;
  }
  const auto documents = parse_yaml_documents(*text, kubeconfig);
  if (!documents) {
    error = "--kubeconfig: " + documents.error().to_string();
    return false;
  }
  if (documents->size() != 1) {
    error = "--kubeconfig " + kubeconfig + " must hold one YAML document";
    return false;
  }
  const std::filesystem::path directory = std::filesystem::path(kubeconfig).parent_path();
  auto found = kube::kubeconfig_access(documents->front().value, directory, error);
  if (!found) {
    error = "--kubeconfig " + kubeconfig + ": " + error;
    return false;
  }
  access = std::move(*found);
  access.origin += " in " + kubeconfig;
  return true;
}

}  // namespace asmegress::cli
