#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "server/server_config.h"

namespace asmegress::server {

// The bytes a serving context is built from, read from the files at one moment.
struct TlsMaterial {
  std::string certificate_chain;  // PEM: the serving certificate, then intermediates
  std::string private_key;        // PEM
  std::string client_ca;          // PEM bundle; empty: no client certificates asked for
  bool operator==(const TlsMaterial&) const = default;
};

// A ready context for new handshakes and what the metrics say about it.
struct ServingContext {
  std::shared_ptr<boost::asio::ssl::context> context;
  long long not_after = 0;  // Unix seconds of the serving certificate's expiry
};

// Builds a server context. Nullopt, with the reason in `error`, when the
// certificate or key does not parse or they do not belong together: callers
// keep whatever context they had.
//
// With a client CA, the context asks every client for a certificate and
// verifies any it gets (a certificate from another CA fails the handshake),
// but a client without one still completes the handshake: the kubelet's
// probes carry none and must reach /healthz, /readyz and /metrics on this one
// port. The webhook paths then answer 401 unless a verified certificate was
// presented (see Router), which is what makes mTLS mandatory where it matters.
std::optional<ServingContext> make_serving_context(const TlsMaterial& material,
                                                   TlsMinVersion min_version, std::string& error);

}  // namespace asmegress::server
