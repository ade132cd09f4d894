#include "server/certificate_generator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "kube/cluster_access.h"
#include "server/openssl_handles.h"

namespace asmegress::server {

namespace {

PrivateKeyHandle new_p256_key() { return PrivateKeyHandle(EVP_EC_gen("P-256")); }

bool set_random_serial(X509* certificate) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7F;  // a positive serial, as RFC 5280 asks
  BIGNUM* number = BN_bin2bn(bytes, sizeof bytes, nullptr);
  if (number == nullptr) return false;
  const bool ok = BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nullptr;
  BN_free(number);
  return ok;
}

bool add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return false;
  const bool ok = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok;
}

// Fields shared by CA and leaf certificates.
CertificateHandle new_certificate(const std::string& common_name, EVP_PKEY* key,
                                  std::chrono::seconds validity) {
  CertificateHandle certificate(X509_new());
  if (!certificate) return nullptr;
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
  if (X509_set_version(certificate.get(), 2) != 1 || !set_random_serial(certificate.get()) ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()),
                      static_cast<long>(validity.count())) == nullptr ||
      X509_set_pubkey(certificate.get(), key) != 1) {
    return nullptr;
  }
  return certificate;
}

std::string join_subject_alt_names(const CertificateRequest& request) {
  std::string names;
  for (const auto& dns : request.dns_names) names += (names.empty() ? "" : ",") + ("DNS:" + dns);
  for (const auto& ip : request.ip_addresses) names += (names.empty() ? "" : ",") + ("IP:" + ip);
  return names;
}

// The existing pair is worth keeping: it parses, matches, chains to the CA and
// is valid for at least another day.
bool existing_files_usable(const GeneratedServingFiles& files) {
  const auto ca_pem = kube::read_file(files.ca_certificate);
  const auto cert_pem = kube::read_file(files.certificate);
  const auto key_pem = kube::read_file(files.private_key);
  if (!ca_pem || !cert_pem || !key_pem) return false;
  const CertificateHandle ca = certificate_from_pem(*ca_pem);
  const CertificateHandle certificate = certificate_from_pem(*cert_pem);
  const PrivateKeyHandle key = private_key_from_pem(*key_pem);
  if (!ca || !certificate || !key) return false;
  if (X509_check_private_key(certificate.get(), key.get()) != 1) return false;
  EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
  if (ca_key == nullptr || X509_verify(certificate.get(), ca_key) != 1) return false;
  const long long day_from_now = static_cast<long long>(std::time(nullptr)) + 24 * 3600;
  return certificate_not_after(certificate.get()) > day_from_now &&
         certificate_not_after(ca.get()) > day_from_now;
}

}  // namespace

std::optional<PemPair> generate_certificate_authority(const std::string& common_name,
                                                      std::chrono::seconds validity,
                                                      std::string& error) {
  const PrivateKeyHandle key = new_p256_key();
  CertificateHandle certificate = key ? new_certificate(common_name, key.get(), validity) : nullptr;
  if (!certificate ||
      X509_set_issuer_name(certificate.get(), X509_get_subject_name(certificate.get())) != 1 ||
      !add_extension(certificate.get(), certificate.get(), NID_basic_constraints,
                     "critical,CA:TRUE") ||
      !add_extension(certificate.get(), certificate.get(), NID_key_usage,
                     "critical,keyCertSign,cRLSign,digitalSignature") ||
      !add_extension(certificate.get(), certificate.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    error = "generating a CA: " + openssl_error_text();
    return std::nullopt;
  }
  return PemPair{certificate_to_pem(certificate.get()), private_key_to_pem(key.get())};
}

std::optional<PemPair> issue_certificate(const PemPair& authority,
                                         const CertificateRequest& request, std::string& error) {
  const CertificateHandle ca = certificate_from_pem(authority.certificate);
  const PrivateKeyHandle ca_key = private_key_from_pem(authority.private_key);
  if (!ca || !ca_key) {
    error = "the CA's certificate or key does not parse: " + openssl_error_text();
    return std::nullopt;
  }
  const PrivateKeyHandle key = new_p256_key();
  CertificateHandle certificate =
      key ? new_certificate(request.common_name, key.get(), request.validity) : nullptr;
  const std::string names = join_subject_alt_names(request);
  const char* usage = request.use == CertificateUse::ServerAuth ? "serverAuth" : "clientAuth";
  if (!certificate || X509_set_issuer_name(certificate.get(), X509_get_subject_name(ca.get())) != 1 ||
      !add_extension(certificate.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(certificate.get(), ca.get(), NID_key_usage,
                     "critical,digitalSignature,keyEncipherment") ||
      !add_extension(certificate.get(), ca.get(), NID_ext_key_usage, usage) ||
      !add_extension(certificate.get(), ca.get(), NID_subject_key_identifier, "hash") ||
      !add_extension(certificate.get(), ca.get(), NID_authority_key_identifier, "keyid:always") ||
      (!names.empty() &&
       !add_extension(certificate.get(), ca.get(), NID_subject_alt_name, names)) ||
      X509_sign(certificate.get(), ca_key.get(), EVP_sha256()) == 0) {
    error = "issuing a certificate for " + request.common_name + ": " + openssl_error_text();
    return std::nullopt;
  }
  return PemPair{certificate_to_pem(certificate.get()), private_key_to_pem(key.get())};
}

bool write_file_atomically(const std::filesystem::path& path, const std::string& content,
                           unsigned mode, std::string& error) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                        static_cast<mode_t>(mode));
  if (fd < 0) {
    error = "creating " + temporary.string() + ": " + std::strerror(errno);
    return false;
  }
  // open() honours the umask; the mode must be exact, so set it explicitly.
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  std::size_t written = 0;
  while (ok && written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<std::size_t>(n);
  }
  ok = ::close(fd) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "writing " + path.string() + ": " + std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return false;
  }
  return true;
}

std::optional<GeneratedServingFiles> ensure_serving_certificate(
    const std::filesystem::path& directory, std::string& error) {
  GeneratedServingFiles files{directory / "ca.crt", directory / "tls.crt", directory / "tls.key",
                              false};
  if (existing_files_usable(files)) {
    files.reused = true;
    return files;
  }
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    error = "creating " + directory.string() + ": " + ec.message();
    return std::nullopt;
  }
  const auto ca = generate_certificate_authority("asm-egress-webhook-ca", std::chrono::hours(24 * 3650), error);
  if (!ca) return std::nullopt;
  CertificateRequest request;
  request.common_name = "localhost";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  const auto serving = issue_certificate(*ca, request, error);
  if (!serving) return std::nullopt;
  // The key first, so the certificate never names a key that is not there yet.
  if (!write_file_atomically(files.private_key, serving->private_key, 0600, error) ||
      !write_file_atomically(files.certificate, serving->certificate, 0644, error) ||
      !write_file_atomically(files.ca_certificate, ca->certificate, 0644, error)) {
    return std::nullopt;
  }
  return files;
}

}  // namespace asmegress::server
