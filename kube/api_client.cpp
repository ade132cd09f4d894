#include "kube/api_client.h"

#include <optional>
#include <stdexcept>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/throw_exception.hpp>

namespace asmegress::kube {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;

double seconds(std::chrono::milliseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

std::string trimmed(std::string text) {
  const auto not_space = [](char c) { return c != ' ' && c != '\n' && c != '\r' && c != '\t'; };
  while (!text.empty() && !not_space(text.back())) text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && !not_space(text[start])) ++start;
  return text.substr(start);
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

ApiError error(ApiError::Kind kind, std::string message) {
  ApiError e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

}  // namespace

std::string ApiError::summary() const {
  switch (kind) {
    case Kind::Status:
      return std::to_string(status) + (reason.empty() ? "" : " " + reason) + ": " + message;
    case Kind::Timeout:
      return "timeout: " + message;
    case Kind::Connection:
      return "connection failed: " + message;
    case Kind::Malformed:
      return "unexpected answer: " + message;
    case Kind::Credentials:
      return "credentials: " + message;
  }
  return message;
}

std::string ApiError::code_label() const {
  switch (kind) {
    case Kind::Status:
      return std::to_string(status);
    case Kind::Timeout:
      return "timeout";
    case Kind::Connection:
      return "connection";
    case Kind::Malformed:
      return "malformed";
    case Kind::Credentials:
      return "credentials";
  }
  return "unknown";
}

void throw_exception_from_error(const ApiError& error, const boost::source_location& location) {
  boost::throw_exception(std::runtime_error(error.summary()), location);
}

// The TLS context (verification of the API server, the client certificate)
// and the io_context each call runs on, in the calling thread.
class ApiClient::Transport {
 public:
  explicit Transport(const ClusterAccess& access) : tls_(asio::ssl::context::tls_client) {
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
    tls_.set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    if (access.ca_pem.empty()) {
      tls_.set_default_verify_paths(ec);
    } else {
      tls_.add_certificate_authority(asio::buffer(access.ca_pem), ec);
    }
    if (ec) throw std::invalid_argument("the API server's CA does not parse: " + ec.message());
    if (!access.client_certificate_pem.empty()) {
      tls_.use_certificate_chain(asio::buffer(access.client_certificate_pem), ec);
      if (!ec) {
        tls_.use_private_key(asio::buffer(access.client_key_pem), asio::ssl::context::pem, ec);
      }
      if (ec) throw std::invalid_argument("the client certificate does not load: " + ec.message());
    }
  }

  asio::io_context io;
  asio::ssl::context tls_;
};

ApiClient::ApiClient(ClusterAccess access, ClientLimits limits, RequestObserver observer)
    : access_(std::move(access)),
      limits_(limits),
      observer_(std::move(observer)),
      transport_(std::make_unique<Transport>(access_)) {}

ApiClient::~ApiClient() = default;

ApiResult<ApiClient::Answer> ApiClient::send(const ApiCall& call, const std::string& target,
                                             std::string body, std::string_view content_type) {
  auto answer = exchange(call, target, std::move(body), content_type);
  if (observer_) {
    observer_(call, answer ? std::to_string(answer->status) : answer.error().code_label());
  }
  if (answer && (answer->status < 200 || answer->status > 299)) {
    const Status status = status_from_body(answer->body);
    ApiError e;
    e.kind = ApiError::Kind::Status;
    e.status = answer->status;
    e.reason = status.reason;
    e.message = status.message.empty() ? "(no message)" : status.message;
    return e;
  }
  return answer;
}

ApiResult<ApiClient::Answer> ApiClient::exchange(const ApiCall& call, const std::string& target,
                                                 std::string body,
                                                 std::string_view content_type) {
  std::string token = access_.token;
  if (!access_.token_file.empty()) {
    const auto text = read_file(access_.token_file);
    if (!text) return error(ApiError::Kind::Credentials, "cannot read " + access_.token_file);
    token = trimmed(*text);
  }

  http::request<http::string_body> request;
  request.method_string(http_method(call));
  request.target(access_.base_path + target);
  request.version(11);
  const bool bracketed = access_.host.find(':') != std::string::npos;
  request.set(http::field::host, (bracketed ? "[" + access_.host + "]" : access_.host) + ":" +
                                     access_.port);
  request.set(http::field::user_agent, "asm-egress-webhook");
  request.set(http::field::accept, "application/json");
  request.set(http::field::connection, "close");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) request.set(http::field::content_type, content_type);
  request.body() = std::move(body);
  request.prepare_payload();

  asio::io_context& io = transport_->io;
  io.restart();
  tcp::resolver resolver(io);
  asio::ssl::stream<tcp::socket> stream(io, transport_->tls_);
  asio::steady_timer deadline(io);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(max_header_bytes);
  parser.body_limit(limits_.max_response_bytes);

  // Name and address the certificate must carry, and SNI for names.
  const std::string& verify_name = access_.server_name.empty() ? access_.host : access_.server_name;
  SSL* ssl = stream.native_handle();
  if (is_ip_address(verify_name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), verify_name.c_str());
  } else {
    // SSL_set_tlsext_host_name, without the macro's C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(verify_name.c_str()));
    SSL_set1_host(ssl, verify_name.c_str());
  }

  const char* step = "resolving the API server's address";
  std::optional<ApiError> failure;
  bool timed_out = false;
  bool answered = false;
  const auto fail = [&](const boost::system::error_code& ec) {
    if (!failure) {
      failure = timed_out ? error(ApiError::Kind::Timeout,
                                  "no answer within " + std::to_string(seconds(limits_.timeout)) +
                                      " s while " + step)
                          : error(ApiError::Kind::Connection, std::string(step) + ": " + ec.message());
    }
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
    deadline.cancel();
  };

  deadline.expires_after(limits_.timeout);
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    timed_out = true;
    resolver.cancel();
    boost::system::error_code ignored;
    stream.lowest_layer().close(ignored);
  });
  resolver.async_resolve(
      access_.host, access_.port,
      [&](const boost::system::error_code& ec, const tcp::resolver::results_type& endpoints) {
        if (ec || timed_out) return fail(ec);
        step = "connecting to the API server";
        asio::async_connect(
            stream.lowest_layer(), endpoints,
            [&](const boost::system::error_code& connect_ec, const tcp::endpoint&) {
              if (connect_ec || timed_out) return fail(connect_ec);
              step = "in the TLS handshake with the API server";
              stream.async_handshake(
                  asio::ssl::stream_base::client, [&](const boost::system::error_code& tls_ec) {
                    if (tls_ec || timed_out) return fail(tls_ec);
                    step = "sending the request";
                    http::async_write(
                        stream, request,
                        [&](const boost::system::error_code& write_ec, std::size_t) {
                          if (write_ec || timed_out) return fail(write_ec);
                          step = "waiting for the answer";
                          http::async_read(
                              stream, buffer, parser,
                              [&](const boost::system::error_code& read_ec, std::size_t) {
                                if (read_ec == http::error::body_limit ||
                                    read_ec == http::error::header_limit) {
                                  failure = error(ApiError::Kind::Malformed,
                                                  "the answer is larger than " +
                                                      std::to_string(limits_.max_response_bytes) +
                                                      " bytes");
                                }
                                if (read_ec || timed_out) return fail(read_ec);
                                answered = true;
                                boost::system::error_code ignored;
                                stream.lowest_layer().close(ignored);
                                deadline.cancel();
                              });
                        });
                  });
            });
      });
  io.run();

  if (!answered) {
    return failure.value_or(error(ApiError::Kind::Connection, "the call ended without an answer"));
  }
  Answer answer;
  answer.status = parser.get().result_int();
  answer.body = std::move(parser.get().body());
  return answer;
}

namespace {

ApiError malformed(const std::string& what) { return error(ApiError::Kind::Malformed, what); }

std::optional<json::value> parse_body(const std::string& body, std::string& message) {
  json::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) {
    message = "the answer is not JSON: " + ec.message();
    return std::nullopt;
  }
  return value;
}

}  // namespace

namespace {

ApiResult<Secret> secret_answer(const std::string& body) {
  std::string message;
  const auto value = parse_body(body, message);
  if (!value) return malformed(message);
  auto secret = secret_from_json(*value, message);
  if (!secret) return malformed(message);
  return std::move(*secret);
}

ApiResult<WebhookConfiguration> configuration_answer(WebhookConfigurationKind kind,
                                                     const std::string& body) {
  std::string message;
  const auto value = parse_body(body, message);
  if (!value) return malformed(message);
  auto configuration = webhook_configuration_from_json(kind, *value, message);
  if (!configuration) return malformed(message);
  return std::move(*configuration);
}


}  // namespace

Call get_call(WebhookConfigurationKind kind) {
  return kind == WebhookConfigurationKind::Mutating ? Call::GetMutatingWebhookConfiguration
                                                    : Call::GetValidatingWebhookConfiguration;
}

Call patch_call(WebhookConfigurationKind kind) {
  return kind == WebhookConfigurationKind::Mutating ? Call::PatchMutatingWebhookConfiguration
                                                    : Call::PatchValidatingWebhookConfiguration;
}

ApiResult<Secret> ApiClient::get_secret(std::string_view namespace_name, std::string_view name) {
  const ApiCall& call = api_call(Call::GetSecret);
  auto answer = send(call, object_path(call, namespace_name, name), {}, {});
  if (!answer) return answer.error();
  return secret_answer(answer->body);
}

ApiResult<Secret> ApiClient::create_secret(const Secret& secret) {
  const ApiCall& call = api_call(Call::CreateSecret);
  Secret fresh = secret;
  fresh.resource_version.clear();
  // What the API server sets on a new object must not be sent.
  if (json::value* metadata = fresh.object.if_contains("metadata"); metadata && metadata->is_object()) {
    for (const char* owned : {"resourceVersion", "uid", "creationTimestamp", "managedFields"}) {
      metadata->get_object().erase(owned);
    }
  }
  auto answer = send(call, object_path(call, secret.namespace_name, {}), secret_to_json(fresh),
                     "application/json");
  if (!answer) return answer.error();
  return secret_answer(answer->body);
}

ApiResult<Secret> ApiClient::update_secret(const Secret& secret) {
  const ApiCall& call = api_call(Call::UpdateSecret);
  auto answer = send(call, object_path(call, secret.namespace_name, secret.name),
                     secret_to_json(secret), "application/json");
  if (!answer) return answer.error();
  return secret_answer(answer->body);
}

ApiResult<WebhookConfiguration> ApiClient::get_webhook_configuration(WebhookConfigurationKind kind,
                                                                     std::string_view name) {
  const ApiCall& call = api_call(get_call(kind));
  auto answer = send(call, object_path(call, {}, name), {}, {});
  if (!answer) return answer.error();
  return configuration_answer(kind, answer->body);
}

ApiResult<WebhookConfiguration> ApiClient::set_ca_bundles(const WebhookConfiguration& seen,
                                                          std::string_view pem_bundle) {
  const ApiCall& call = api_call(patch_call(seen.kind));
  auto answer = send(call, object_path(call, {}, seen.name), ca_bundle_patch(seen, pem_bundle),
                     "application/json-patch+json");
  if (!answer) return answer.error();
  return configuration_answer(seen.kind, answer->body);
}

}  // namespace asmegress::kube
