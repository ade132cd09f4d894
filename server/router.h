#pragma once

#include <atomic>
#include <cstddef>
#include <optional>
#include <functional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "policy/settings.h"
#include "server/logger.h"
#include "server/metrics.h"

namespace asmegress::server {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using RequestHeader = boost::beast::http::request_header<>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// A complete response with a text body (plain text unless told otherwise).
Response text_response(boost::beast::http::status status, unsigned version, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");

// What the connection knows that the request does not say.
struct ConnectionFacts {
  bool client_certificate_verified = false;
};

// The HTTP surface, free of sockets and TLS: a request in, a response out (the
// shape of Beast's handle_request). Method, path, client certificate and
// Content-Type are checked from the header, before the body is even read,
// in the order controller-runtime's admission handler uses.
class Router {
 public:
  // `not_ready`, when given, says why /readyz must fail (empty: ready);
  // self-managed certificates use it until their pair is served and trusted.
  Router(const policy::Settings& settings, bool client_certificate_required, Metrics& metrics,
         Logger& logger, const std::atomic<bool>& draining,
         std::function<std::string()> not_ready = {});

  // What the header alone decides: the refusal (a wrong route, method,
  // Content-Type or missing client certificate, or a body where none is
  // taken), or nullopt when the body is to be read. The session asks before
  // reading a byte of the body.
  std::optional<Response> refuse(const RequestHeader& header, const ConnectionFacts& connection);

  // The whole request, once refuse() has let its header through (the session
  // asks it before reading the body; it is not asked again here).
  Response handle(const Request& request);

  // A refusal for a reason of the connection's (a body too large, a
  // Transfer-Encoding, no room in the body budget), counted like the others.
  Response refusal(const RequestHeader& header, boost::beast::http::status status,
                   std::string message);

  // An exception escaped while answering: the one place it becomes a 500.
  Response internal_error(const RequestHeader& header, std::string_view what);

 private:
  Response review(const Request& request, bool mutating);

  const policy::Settings& settings_;
  bool client_certificate_required_;
  Metrics& metrics_;
  Logger& logger_;
  const std::atomic<bool>& draining_;
  std::function<std::string()> not_ready_;
};

// "/mutate?timeout=10s" -> "/mutate".
std::string_view request_path(std::string_view target);

// True for application/json with or without parameters (charset=utf-8).
bool is_json_content_type(std::string_view content_type);

}  // namespace asmegress::server
