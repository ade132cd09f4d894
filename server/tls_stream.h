#pragma once

#include <cstddef>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

namespace asmegress::server {

// TLS on a non-blocking socket, driven by OpenSSL directly. Each call does
// what it can now and says what it waits for; the caller waits for the
// socket (async_wait) and calls again. Against asio::ssl::stream this keeps
// memory to what a connection uses: no TLS state until the client's first
// bytes arrive (attach), no BIO pair or engine buffers (about 68 KiB per
// connection), and OpenSSL's record buffers given back while the connection
// is idle (SSL_MODE_RELEASE_BUFFERS). Not thread-safe: one strand drives it.
class TlsStream {
 public:
  // What a call waits for: nothing (it finished; see the error), or the
  // socket to become readable or writable before calling again.
  enum class Want : unsigned char { Nothing, Read, Write };

  explicit TlsStream(boost::asio::ip::tcp::socket&& socket) : socket_(std::move(socket)) {}
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  // Null before attach() and after close().
  [[nodiscard]] SSL* native_handle() const { return ssl_; }

  // Makes the connection's TLS state, for the server side of a handshake.
  bool attach(SSL_CTX* context, boost::system::error_code& ec);
  Want handshake(boost::system::error_code& ec);
  // Some bytes into [data, data + size): `got` > 0, or a want, or an error
  // (eof when the client closed).
  Want read(void* data, std::size_t size, std::size_t& got, boost::system::error_code& ec);
  // Some of [data, data + size): `written` > 0, or a want, or an error.
  Want write(const void* data, std::size_t size, std::size_t& written,
             boost::system::error_code& ec);
  // Sends close_notify (without waiting for the client's).
  Want shutdown(boost::system::error_code& ec);
  // Whether read() may give bytes without the socket becoming readable.
  [[nodiscard]] bool has_pending() const { return ssl_ != nullptr && SSL_has_pending(ssl_) == 1; }
  // Frees the TLS state and closes the socket; pending waits end with
  // operation_aborted.
  void close();

 private:
  Want result(int ret, boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_ = nullptr;
};

}  // namespace asmegress::server
