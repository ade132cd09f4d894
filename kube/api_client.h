#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include "kube/api_calls.h"
#include "kube/cluster_access.h"
#include "kube/objects.h"

namespace asmegress::kube {

// The calls that read and patch a webhook configuration of `kind`.
Call get_call(WebhookConfigurationKind kind);
Call patch_call(WebhookConfigurationKind kind);

// Why a call failed.
struct ApiError {
  enum class Kind {
    Status,       // the API server answered with an error status (403, 404, 409, ...)
    Timeout,      // no complete answer within the call's time limit
    Connection,   // resolving, connecting, TLS or the connection dropped
    Malformed,    // an answer that is not what the API promises, or too large
    Credentials,  // the token file cannot be read
  };
  Kind kind = Kind::Connection;
  unsigned status = 0;  // the HTTP status for Kind::Status
  std::string reason;   // metav1.Status reason: Forbidden, Conflict, AlreadyExists, NotFound
  std::string message;

  bool is_status(unsigned code) const { return kind == Kind::Status && status == code; }
  // "403 Forbidden: secrets \"x\" is forbidden: ...", "timeout: ..." for log lines.
  std::string summary() const;
  // The metric label: the HTTP status, or timeout, connection, malformed, credentials.
  std::string code_label() const;
};

// Lets result<T, ApiError>::value() throw; callers normally test the result.
[[noreturn]] void throw_exception_from_error(const ApiError& error,
                                             const boost::source_location& location);

template <class T>
using ApiResult = boost::system::result<T, ApiError>;

struct ClientLimits {
  // The whole of one call: resolving, connecting, TLS, request and answer.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // Larger answers are refused: the objects read here are a few KiB, and
  // the API server caps any object near 1.5 MiB.
  std::size_t max_response_bytes = 3 * 1024 * 1024;
};

// Told about every request once it ended: the call and its code_label()
// ("200", "409", "timeout", ...). For metrics.
using RequestObserver = std::function<void(const ApiCall& call, std::string_view code)>;

// A small, blocking client for the few calls of api_calls.h, over HTTPS with
// the API server's certificate verified (against access.ca_pem) and a bearer
// token or client certificate. One connection per call: the calls are a few
// every several seconds, and a fresh connection never trips over one the
// server or a proxy closed in between. Not thread-safe: one caller thread.
class ApiClient {
 public:
  // Throws std::invalid_argument when the CA or the client certificate do
  // not parse.
  ApiClient(ClusterAccess access, ClientLimits limits = {}, RequestObserver observer = {});
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const ClusterAccess& access() const { return access_; }

  ApiResult<Secret> get_secret(std::string_view namespace_name, std::string_view name);
  // 409 (AlreadyExists) when it is already there.
  ApiResult<Secret> create_secret(const Secret& secret);
  // Replaces the Secret as of secret.resource_version: 409 (Conflict) when it
  // changed since.
  ApiResult<Secret> update_secret(const Secret& secret);

  ApiResult<WebhookConfiguration> get_webhook_configuration(WebhookConfigurationKind kind,
                                                            std::string_view name);
  // Sets every webhook's caBundle to `pem_bundle`, as of seen.resource_version
  // (409 when the configuration changed since).
  ApiResult<WebhookConfiguration> set_ca_bundles(const WebhookConfiguration& seen,
                                                 std::string_view pem_bundle);

 private:
  struct Answer {
    unsigned status = 0;
    std::string body;
  };
  ApiResult<Answer> exchange(const ApiCall& call, const std::string& target, std::string body,
                             std::string_view content_type);
  ApiResult<Answer> send(const ApiCall& call, const std::string& target, std::string body,
                         std::string_view content_type);

  class Transport;
  ClusterAccess access_;
  ClientLimits limits_;
  RequestObserver observer_;
  std::unique_ptr<Transport> transport_;
};

}  // namespace asmegress::kube
