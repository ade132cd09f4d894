#include "tests/server/test_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/pem.h>
#include <openssl/ssl.h>

namespace asmegress::server::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;

TlsClient::TlsClient(std::uint16_t port, Options options)
    : port_(port), options_(std::move(options)), tls_context_(asio::ssl::context::tls_client) {
  tls_context_.set_verify_mode(asio::ssl::verify_peer);
  tls_context_.add_certificate_authority(asio::buffer(options_.ca_pem));
  if (options_.client_certificate) {
    tls_context_.use_certificate_chain(asio::buffer(options_.client_certificate->certificate));
    tls_context_.use_private_key(asio::buffer(options_.client_certificate->private_key),
                                 asio::ssl::context::pem);
  }
}

TlsClient::~TlsClient() { close(); }

void TlsClient::connect() {
  close();
  auto stream = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_context_, tls_context_);
  stream->set_verify_callback(asio::ssl::host_name_verification(options_.host_name));
  SSL_ctrl(stream->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(options_.host_name.c_str()));
  auto& socket = stream->next_layer();
  socket.connect({asio::ip::make_address("127.0.0.1"), port_});
  timeval timeout{10, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  socket.set_option(asio::ip::tcp::no_delay(true));
  stream->handshake(asio::ssl::stream_base::client);
  stream_ = std::move(stream);
  buffer_.clear();
}

void TlsClient::close() {
  if (!stream_) return;
  boost::system::error_code ignored;
  stream_->next_layer().close(ignored);
  stream_.reset();
}

ClientResponse TlsClient::request(std::string_view method, std::string_view target,
                                  std::string_view body, std::string_view content_type) {
  if (!stream_) connect();
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, options_.host_name);
  if (!content_type.empty()) request.set(http::field::content_type, content_type);
  request.body() = std::string(body);
  request.prepare_payload();
  http::write(*stream_, request);
  return read_response();
}

void TlsClient::write_raw(std::string_view bytes) {
  if (!stream_) connect();
  asio::write(*stream_, asio::buffer(bytes.data(), bytes.size()));
}

ClientResponse TlsClient::read_response() {
  ClientResponse response;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(*stream_, buffer_, parser);
  response = parser.release();
  if (!response.keep_alive()) close();
  return response;
}

std::string TlsClient::peer_certificate_pem() const {
  if (!stream_) return {};
  X509* certificate = SSL_get0_peer_certificate(stream_->native_handle());
  if (certificate == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, certificate);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string raw_post(std::string_view target, std::string_view body,
                     std::string_view extra_headers) {
  std::string text = "POST " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n";
  text += "Content-Type: application/json\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  text += extra_headers;
  text += "\r\n";
  text += body;
  return text;
}

}  // namespace asmegress::server::testing
