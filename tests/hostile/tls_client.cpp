#include "tests/hostile/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include <openssl/err.h>

namespace asmegress::hostile {

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

namespace {

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char line[256];
    ERR_error_string_n(code, line, sizeof line);
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text;
}

}  // namespace

Socket connect_loopback(std::uint16_t port) {
  Socket socket(::socket(AF_INET, SOCK_STREAM, 0));
  if (!socket.valid()) return socket;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  set_timeouts(socket.fd(), std::chrono::seconds(10));
  const int one = 1;
  ::setsockopt(socket.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Socket();
  }
  return socket;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool peer_closes_within(int fd, std::chrono::milliseconds timeout, std::string* received) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return true;  // reset
    }
    if (received != nullptr) received->append(chunk, static_cast<std::size_t>(n));
  }
}

std::unique_ptr<TlsConnection> TlsConnection::open(std::uint16_t port, const TlsOptions& options,
                                                   std::string& error,
                                                   std::chrono::milliseconds timeout) {
  ERR_clear_error();
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr) {
    error = "SSL_CTX_new: " + openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(context, options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(context, options.max_version);
  if (!options.cipher_list.empty() &&
      SSL_CTX_set_cipher_list(context, options.cipher_list.c_str()) != 1) {
    error = "the client cannot offer " + options.cipher_list + ": " + openssl_errors();
    SSL_CTX_free(context);
    return nullptr;
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context, options.ca_file.c_str(), nullptr) != 1) {
      error = "cannot load " + options.ca_file;
      SSL_CTX_free(context);
      return nullptr;
    }
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  }
  if (!options.certificate_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(context, options.certificate_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(context, options.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    error = "cannot load the client certificate: " + openssl_errors();
    SSL_CTX_free(context);
    return nullptr;
  }
  Socket socket = connect_loopback(port);
  if (!socket.valid()) {
    error = "cannot connect";
    SSL_CTX_free(context);
    return nullptr;
  }
  set_timeouts(socket.fd(), timeout);
  SSL* ssl = SSL_new(context);
  SSL_set_fd(ssl, socket.fd());
  // SSL_set_tlsext_host_name is a macro with an old-style cast.
  SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>("localhost"));
  if (!options.ca_file.empty()) SSL_set1_host(ssl, "localhost");
  std::unique_ptr<TlsConnection> connection(new TlsConnection(std::move(socket), context, ssl));
  if (SSL_connect(ssl) != 1) {
    error = "handshake failed: " + openssl_errors();
    return nullptr;
  }
  return connection;
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (context_ != nullptr) SSL_CTX_free(context_);
}

bool TlsConnection::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const int n = SSL_write(ssl_, bytes.data(),
                            static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool TlsConnection::fill() {
  char chunk[16384];
  const int n = SSL_read(ssl_, chunk, sizeof chunk);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<HttpResponse> TlsConnection::read_response() {
  std::size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  HttpResponse response;
  const std::string head = buffer_.substr(0, end);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  response.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos && line_end < head.size()) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos
                                                                              : line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t value_start = colon + 1;
    while (value_start < line.size() && line[value_start] == ' ') ++value_start;
    response.headers[name] = line.substr(value_start);
  }
  buffer_.erase(0, end + 4);
  const std::string length = response.header("content-length");
  const std::size_t body_size = length.empty() ? 0 : std::stoul(length);
  while (buffer_.size() < body_size) {
    if (!fill()) return std::nullopt;
  }
  response.body = buffer_.substr(0, body_size);
  buffer_.erase(0, body_size);
  return response;
}

bool TlsConnection::closed_by_peer_within(std::chrono::milliseconds timeout, std::string* received) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    if (SSL_pending(ssl_) == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{socket_.fd(), POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
    }
    const int n = SSL_read(ssl_, chunk, sizeof chunk);
    if (n > 0) {
      if (received != nullptr) received->append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    const int reason = SSL_get_error(ssl_, n);
    if (reason == SSL_ERROR_WANT_READ) continue;  // a post-handshake message (session ticket)
    ERR_clear_error();
    return true;
  }
  return false;
}

std::string http_request(std::string_view method, std::string_view target, std::string_view body,
                         std::string_view extra_headers) {
  std::string out;
  out.reserve(body.size() + 256);
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
  if (!body.empty() || method == "POST") {
    out.append("Content-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(body.size()))
        .append("\r\n");
  }
  out.append(extra_headers).append("\r\n").append(body);
  return out;
}

std::string chunked_request(std::string_view target, std::string_view body, std::size_t chunk,
                            std::string_view chunk_extension) {
  std::string out = "POST " + std::string(target) +
                    " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
  char size[32];
  for (std::size_t i = 0; i < body.size(); i += chunk) {
    const std::string_view part = body.substr(i, chunk);
    std::snprintf(size, sizeof size, "%zx", part.size());
    out.append(size).append(chunk_extension).append("\r\n").append(part).append("\r\n");
  }
  out.append("0\r\n\r\n");
  return out;
}

}  // namespace asmegress::hostile
