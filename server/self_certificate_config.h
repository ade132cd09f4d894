#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kube/cluster_access.h"

namespace asmegress::server {

// certificates.mode self: the server keeps its own CA, serving pair and
// caBundle in the Kubernetes API (see CertificateKeeper). Filled from
// --certificate-secret, --inject-ca-into, --tls-san, --certificate-validity
// and --kubeconfig; off while secret_name is empty.
struct SelfCertificateConfig {
  std::string secret_namespace;
  std::string secret_name;
  // The MutatingWebhookConfiguration and ValidatingWebhookConfiguration of
  // this name get the CA in every webhook's clientConfig.caBundle.
  std::string webhook_configuration;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
  kube::ClusterAccess cluster;

  // How often the Secret and both configurations are read: a caBundle that
  // something else overwrote is put back within this.
  std::chrono::milliseconds poll_interval{std::chrono::seconds(5)};
  // How long a new CA must have been seen in every caBundle before its pair
  // is served: the API server reads webhook configurations through a cache,
  // and a replica with a stale view of the Secret may take one poll to
  // catch up.
  std::chrono::milliseconds settle_period{std::chrono::seconds(15)};
  // Back-off after a failed call: from retry_initial, doubling, to retry_max.
  std::chrono::milliseconds retry_initial{std::chrono::milliseconds(500)};
  std::chrono::milliseconds retry_max{std::chrono::seconds(30)};
  std::chrono::milliseconds api_timeout{std::chrono::seconds(10)};

  bool enabled() const { return !secret_name.empty(); }
};

// The shortest --certificate-validity: renewal starts with a third of it
// left, and that third must hold the settle period and two polls.
inline constexpr std::chrono::seconds minimum_certificate_validity{90};

}  // namespace asmegress::server
