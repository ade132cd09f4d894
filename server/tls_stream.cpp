#include "server/tls_stream.h"

#include <cerrno>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>

namespace asmegress::server {

namespace asio = boost::asio;
using boost::system::error_code;

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool TlsStream::attach(SSL_CTX* context, error_code& ec) {
  socket_.non_blocking(true, ec);
  if (ec) return false;
  ERR_clear_error();
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) {
    ec = error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category());
    if (!ec) ec = asio::error::no_memory;
    ERR_clear_error();
    return false;
  }
  // Partial writes, so a large answer goes out as the socket takes it; the
  // retried buffer may move (it is the same bytes). Record buffers are freed
  // whenever they are empty: SSL_MODE_RELEASE_BUFFERS, from the context.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_accept_state(ssl_);
  return true;
}

TlsStream::Want TlsStream::result(int ret, error_code& ec) {
  const int reason = SSL_get_error(ssl_, ret);
  switch (reason) {
    case SSL_ERROR_WANT_READ: return Want::Read;
    case SSL_ERROR_WANT_WRITE: return Want::Write;
    case SSL_ERROR_ZERO_RETURN: ec = asio::error::eof; break;
    case SSL_ERROR_SYSCALL: {
      const unsigned long code = ERR_peek_error();
      if (code != 0) {
        ec = error_code(static_cast<int>(code), asio::error::get_ssl_category());
      } else if (errno != 0 && errno != EAGAIN) {
        ec = error_code(errno, boost::system::system_category());
      } else {
        ec = asio::error::eof;  // the client closed without close_notify
      }
      break;
    }
    default: {
      const unsigned long code = ERR_peek_error();
      ec = code != 0 ? error_code(static_cast<int>(code), asio::error::get_ssl_category())
                     : error_code(asio::ssl::error::unspecified_system_error);
      break;
    }
  }
  ERR_clear_error();
  return Want::Nothing;
}

TlsStream::Want TlsStream::handshake(error_code& ec) {
  ec = {};
  ERR_clear_error();
  errno = 0;
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) return Want::Nothing;
  return result(ret, ec);
}

TlsStream::Want TlsStream::read(void* data, std::size_t size, std::size_t& got, error_code& ec) {
  ec = {};
  got = 0;
  ERR_clear_error();
  errno = 0;
  if (SSL_read_ex(ssl_, data, size, &got) == 1) return Want::Nothing;
  got = 0;
  return result(0, ec);
}

TlsStream::Want TlsStream::write(const void* data, std::size_t size, std::size_t& written,
                                 error_code& ec) {
  ec = {};
  written = 0;
  ERR_clear_error();
  errno = 0;
  if (SSL_write_ex(ssl_, data, size, &written) == 1) return Want::Nothing;
  written = 0;
  return result(0, ec);
}

TlsStream::Want TlsStream::shutdown(error_code& ec) {
  ec = {};
  ERR_clear_error();
  errno = 0;
  const int ret = SSL_shutdown(ssl_);
  // 0: close_notify sent, the client's not read; nobody waits for it.
  if (ret >= 0) return Want::Nothing;
  return result(ret, ec);
}

void TlsStream::close() {
  error_code ignored;
  socket_.close(ignored);
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
}

}  // namespace asmegress::server
