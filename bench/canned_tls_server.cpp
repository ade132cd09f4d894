// The transport's limit on this machine: a trivial Beast TLS server, built like
// the webhook (same compiler flags, same TLS context, same certificates), that
// answers every request with the same canned response and does no other work.
//
//   canned_tls_server CERT_DIR THREADS [RESPONSE_FILE]
//
// Listens on 127.0.0.1 on a free port and prints {"port":N} on stderr.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "server/certificate_generator.h"
#include "server/tls_context.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class CannedSession : public std::enable_shared_from_this<CannedSession> {
 public:
  CannedSession(tcp::socket&& socket, asio::ssl::context& context, const std::string& body)
      : stream_(std::move(socket), context), body_(body) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self](beast::error_code ec) {
                                      if (!ec) self->read();
                                    });
    });
  }

 private:
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return;
                       self->write();
                     });
  }

  void write() {
    response_ = {http::status::ok, request_.version()};
    response_.set(http::field::content_type, "application/json");
    response_.body() = body_;
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (!ec && self->response_.keep_alive()) self->read();
                      });
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  const std::string& body_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(tcp::acceptor& acceptor, asio::io_context& io_context, asio::ssl::context& context,
            const std::string& body) {
  acceptor.async_accept(asio::make_strand(io_context),
                        [&](beast::error_code ec, tcp::socket socket) {
                          if (!ec) {
                            socket.set_option(tcp::no_delay(true));
                            std::make_shared<CannedSession>(std::move(socket), context, body)->start();
                          }
                          accept(acceptor, io_context, context, body);
                        });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: canned_tls_server CERT_DIR THREADS [RESPONSE_FILE]\n";
    return 2;
  }
  std::string error;
  const auto files = asmegress::server::ensure_serving_certificate(argv[1], error);
  if (!files) {
    std::cerr << error << "\n";
    return 1;
  }
  asmegress::server::TlsMaterial material{read_file(files->certificate.string()),
                                          read_file(files->private_key.string()), {}};
  auto serving = asmegress::server::make_serving_context(
      material, asmegress::server::TlsMinVersion::Tls12, error);
  if (!serving) {
    std::cerr << error << "\n";
    return 1;
  }
  const std::string body = argc > 3 ? read_file(argv[3]) : std::string(900, 'x');
  const int threads = std::max(1, std::stoi(argv[2]));

  asio::io_context io_context;
  tcp::acceptor acceptor(io_context, {asio::ip::make_address("127.0.0.1"), 0});
  std::cerr << "{\"msg\":\"canned server listening\",\"port\":" << acceptor.local_endpoint().port()
            << "}" << std::endl;
  accept(acceptor, io_context, *serving->context, body);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back([&] { io_context.run(); });
  for (auto& worker : workers) worker.join();
}
