#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace asmegress::server {

// Owning handles for the OpenSSL objects this module creates.
struct OpenSslFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* certificate) const { X509_free(certificate); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using PrivateKeyHandle = std::unique_ptr<EVP_PKEY, OpenSslFree>;
using CertificateHandle = std::unique_ptr<X509, OpenSslFree>;
using BioHandle = std::unique_ptr<BIO, OpenSslFree>;

// The reason text of the most recent OpenSSL errors on this thread (and clears
// them), for log lines.
std::string openssl_error_text();

// PEM text <-> objects. Null on malformed input.
CertificateHandle certificate_from_pem(const std::string& pem);
PrivateKeyHandle private_key_from_pem(const std::string& pem);
std::string certificate_to_pem(X509* certificate);
std::string private_key_to_pem(EVP_PKEY* key);

// notAfter as Unix seconds.
long long certificate_not_after(X509* certificate);
long long certificate_not_before(X509* certificate);

}  // namespace asmegress::server
