#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server/openssl_handles.h"

namespace asmegress::server {

namespace {

constexpr unsigned char session_id_context[] = "asm-egress-webhook";

// TLS 1.2: ECDHE key exchange with AEAD ciphers only, Mozilla's intermediate
// profile without its DHE suites. Static RSA (no forward secrecy), CBC and
// SHA-1 suites are never negotiated, whichever key the certificate has.
// TLS 1.3 keeps OpenSSL's suites, which are all of that kind.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

BioHandle memory_bio(const std::string& text) {
  return BioHandle(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

bool use_certificate_chain(SSL_CTX* context, const std::string& pem, long long& not_after,
                           std::string& error) {
  const BioHandle bio = memory_bio(pem);
  CertificateHandle leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) {
    error = "the certificate file holds no PEM certificate: " + openssl_error_text();
    return false;
  }
  if (SSL_CTX_use_certificate(context, leaf.get()) != 1) {
    error = "the certificate is not usable: " + openssl_error_text();
    return false;
  }
  not_after = certificate_not_after(leaf.get());
  while (CertificateHandle intermediate{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (SSL_CTX_add1_chain_cert(context, intermediate.get()) != 1) {
      error = "an intermediate certificate is not usable: " + openssl_error_text();
      return false;
    }
  }
  ERR_clear_error();  // the loop ends on "no start line", which is not an error
  return true;
}

bool use_client_ca(SSL_CTX* context, const std::string& pem, std::string& error) {
  const BioHandle bio = memory_bio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  int count = 0;
  while (CertificateHandle ca{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store, ca.get()) != 1) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      error = "a client CA certificate is not usable: " + openssl_error_text();
      return false;
    }
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca.get()));
    if (name != nullptr) sk_X509_NAME_push(names, name);
    ++count;
  }
  ERR_clear_error();
  if (count == 0) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    error = "the client CA file holds no PEM certificate";
    return false;
  }
  SSL_CTX_set_client_CA_list(context, names);  // takes ownership
  // SSL_VERIFY_PEER without SSL_VERIFY_FAIL_IF_NO_PEER_CERT: see the header.
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  return true;
}

}  // namespace

std::optional<ServingContext> make_serving_context(const TlsMaterial& material,
                                                   TlsMinVersion min_version, std::string& error) {
  ERR_clear_error();
  ServingContext serving;
  serving.context =
      std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* context = serving.context->native_handle();

  const int version = min_version == TlsMinVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(context, version);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                   SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(context, tls12_ciphers) != 1) {
    error = "cannot set the TLS 1.2 cipher suites: " + openssl_error_text();
    return std::nullopt;
  }
  // Record buffers only while a record is being read or written: an idle
  // connection keeps none.
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
  // Resumption by session tickets, which the server does not store: a
  // session cache would let every hostile handshake leave an entry behind.
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  // Resumed sessions must be bound to this server, or OpenSSL refuses them
  // when client verification is on.
  SSL_CTX_set_session_id_context(context, session_id_context, sizeof session_id_context - 1);

  if (!use_certificate_chain(context, material.certificate_chain, serving.not_after, error)) {
    return std::nullopt;
  }
  const PrivateKeyHandle key = private_key_from_pem(material.private_key);
  if (!key) {
    error = "the private key file holds no PEM private key: " + openssl_error_text();
    return std::nullopt;
  }
  if (SSL_CTX_use_PrivateKey(context, key.get()) != 1 || SSL_CTX_check_private_key(context) != 1) {
    error = "the private key does not match the certificate: " + openssl_error_text();
    return std::nullopt;
  }
  if (!material.client_ca.empty() && !use_client_ca(context, material.client_ca, error)) {
    return std::nullopt;
  }
  return serving;
}

}  // namespace asmegress::server
