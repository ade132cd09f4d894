#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace asmegress::server {

// A certificate and its private key, both PEM.
struct PemPair {
  std::string certificate;
  std::string private_key;
  bool operator==(const PemPair&) const = default;
};

enum class CertificateUse { ServerAuth, ClientAuth };

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  CertificateUse use = CertificateUse::ServerAuth;
  std::chrono::seconds validity{std::chrono::hours(24 * 365)};
};

// A self-signed CA with an ECDSA P-256 key. Nullopt (and OpenSSL's reason in
// `error`) if OpenSSL fails.
std::optional<PemPair> generate_certificate_authority(const std::string& common_name,
                                                      std::chrono::seconds validity,
                                                      std::string& error);

// A leaf certificate with a new ECDSA P-256 key, signed by `authority`.
std::optional<PemPair> issue_certificate(const PemPair& authority,
                                         const CertificateRequest& request, std::string& error);

// The files of the embedded default serving pair, like kube-apiserver's
// self-signed fallback: ca.crt, tls.crt, tls.key in one folder.
struct GeneratedServingFiles {
  std::filesystem::path ca_certificate;
  std::filesystem::path certificate;
  std::filesystem::path private_key;
  bool reused = false;  // valid files already there were kept
};

// Reuses ca.crt/tls.crt/tls.key in `directory` when they are a matching pair
// valid for at least another day; otherwise writes new ones (the key with mode
// 0600) for localhost, 127.0.0.1 and ::1.
std::optional<GeneratedServingFiles> ensure_serving_certificate(
    const std::filesystem::path& directory, std::string& error);

// Writes `content` to `path` via a temporary file and a rename, so a reader
// never sees half a file; `mode` is applied before the content is written.
bool write_file_atomically(const std::filesystem::path& path, const std::string& content,
                           unsigned mode, std::string& error);

}  // namespace asmegress::server
