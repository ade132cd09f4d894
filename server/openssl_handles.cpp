#include "server/openssl_handles.h"

#include <ctime>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace asmegress::server {

namespace {

BioHandle memory_bio(const std::string& text) {
  return BioHandle(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace

std::string openssl_error_text() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? std::string("unknown OpenSSL error") : text;
}

CertificateHandle certificate_from_pem(const std::string& pem) {
  const BioHandle bio = memory_bio(pem);
  if (!bio) return nullptr;
  return CertificateHandle(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PrivateKeyHandle private_key_from_pem(const std::string& pem) {
  const BioHandle bio = memory_bio(pem);
  if (!bio) return nullptr;
  return PrivateKeyHandle(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string certificate_to_pem(X509* certificate) {
  const BioHandle bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) return {};
  return drain(bio.get());
}

std::string private_key_to_pem(EVP_PKEY* key) {
  const BioHandle bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  return drain(bio.get());
}

namespace {

long long seconds_since_epoch(const ASN1_TIME* at) {
  std::tm time{};
  if (ASN1_TIME_to_tm(at, &time) != 1) return 0;
  return static_cast<long long>(timegm(&time));
}

}  // namespace

long long certificate_not_after(X509* certificate) {
  return seconds_since_epoch(X509_get0_notAfter(certificate));
}

long long certificate_not_before(X509* certificate) {
  return seconds_since_epoch(X509_get0_notBefore(certificate));
}

}  // namespace asmegress::server
