#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

namespace asmegress::hostile {

// A connected TCP socket to 127.0.0.1, closed on destruction.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Connects to 127.0.0.1:port (only loopback is ever a target).
Socket connect_loopback(std::uint16_t port);
bool send_all(int fd, std::string_view bytes);
// Reads until the peer closes or resets (true) or `timeout` passes (false);
// whatever arrived is appended to `received` when given.
bool peer_closes_within(int fd, std::chrono::milliseconds timeout, std::string* received = nullptr);

struct TlsOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = 0;       // 0: the highest the library has
  std::string cipher_list;   // TLS 1.2 and below; empty: OpenSSL's default
  std::string ca_file;       // verify the server against this CA; empty: no verification
  std::string certificate_file;  // a client certificate, with its key
  std::string private_key_file;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One blocking TLS client connection with a read timeout on every call.
class TlsConnection {
 public:
  // Nullptr when the TCP connection or the handshake fails; `error` says which.
  static std::unique_ptr<TlsConnection> open(std::uint16_t port, const TlsOptions& options,
                                             std::string& error,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool write(std::string_view bytes);
  // The next response on the connection (pipelined responses come in order).
  std::optional<HttpResponse> read_response();
  // True when the server closes the connection (close_notify, EOF or reset)
  // within `timeout`; any application bytes that arrive first go to `received`.
  bool closed_by_peer_within(std::chrono::milliseconds timeout, std::string* received = nullptr);

  SSL* ssl() const { return ssl_; }
  int fd() const { return socket_.fd(); }
  std::string protocol() const { return SSL_get_version(ssl_); }
  std::string cipher() const { return SSL_get_cipher_name(ssl_); }

 private:
  TlsConnection(Socket socket, SSL_CTX* context, SSL* ssl)
      : socket_(std::move(socket)), context_(context), ssl_(ssl) {}
  bool fill();

  Socket socket_;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// A request with Content-Type: application/json and Content-Length.
std::string http_request(std::string_view method, std::string_view target, std::string_view body,
                         std::string_view extra_headers = {});

// The same request with the body as chunks of `chunk` bytes.
std::string chunked_request(std::string_view target, std::string_view body, std::size_t chunk,
                            std::string_view chunk_extension = {});

}  // namespace asmegress::hostile
