#pragma once

#include <string>

#include <CLI/App.hpp>

#include "kube/cluster_access.h"
#include "server/self_certificate_config.h"

namespace asmegress::cli {

// --certificate-secret, --inject-ca-into, --tls-san, --certificate-validity
// and --kubeconfig: certificates the server keeps itself in the Kubernetes
// API. Call after --tls-cert-file and --tls-private-key-file are declared
// (they exclude each other).
void add_self_certificate_flags(CLI::App& serve, server::SelfCertificateConfig& config,
                                std::string& kubeconfig);

// The API server's address and credentials: the current context of the
// kubeconfig file when one is named, else the pod's service account.
bool resolve_cluster_access(const std::string& kubeconfig, kube::ClusterAccess& access,
                            std::string& error);

}  // namespace asmegress::cli
