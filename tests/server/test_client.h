#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/certificate_generator.h"

namespace asmegress::server::testing {

using ClientResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A blocking HTTPS client that behaves like the API server calling a webhook:
// it verifies the serving certificate against a CA bundle and the host name,
// optionally presents a client certificate, and keeps the connection alive.
// Every socket operation times out, so a broken server fails a test instead
// of hanging it.
class TlsClient {
 public:
  struct Options {
    std::string ca_pem;
    std::optional<PemPair> client_certificate;
    std::string host_name = "localhost";
  };

  TlsClient(std::uint16_t port, Options options);
  ~TlsClient();

  // Throws boost::system::system_error when TCP or TLS fails.
  void connect();
  bool connected() const { return stream_ != nullptr; }
  void close();

  // Sends one request and reads its response.
  ClientResponse request(std::string_view method, std::string_view target,
                         std::string_view body = {},
                         std::string_view content_type = "application/json");
  ClientResponse post_review(std::string_view path, std::string_view body) {
    return request("POST", path, body);
  }

  // Raw access, for requests the typed interface cannot produce.
  void write_raw(std::string_view bytes);
  ClientResponse read_response();

  // The serving certificate of the current connection, PEM.
  std::string peer_certificate_pem() const;

 private:
  std::uint16_t port_;
  Options options_;
  boost::asio::io_context io_context_;
  boost::asio::ssl::context tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream_;
  boost::beast::flat_buffer buffer_;
};

// A review request line plus headers plus body, for raw writes.
std::string raw_post(std::string_view target, std::string_view body,
                     std::string_view extra_headers = {});

}  // namespace asmegress::server::testing
