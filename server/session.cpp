#include "server/session.h"

#include <malloc.h>

#include <exception>
#include <string>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace asmegress::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t read_chunk = 16 * 1024;
// Bodies from this size on are followed by giving freed memory back to the OS.
constexpr std::size_t large_body_bytes = 1024 * 1024;
// After an early rejection the client may still be sending its body. Reading
// (and dropping) a bounded amount of it before closing keeps the kernel from
// answering the unread bytes with a reset that would destroy our response.
constexpr std::chrono::seconds discard_timeout{2};
constexpr std::chrono::seconds tls_shutdown_timeout{2};
// Once the server stops, how long a new connection has to send its request.
constexpr std::chrono::seconds first_request_after_stop{2};

std::string remote_address(const beast::tcp_stream& stream) {
  boost::system::error_code ec;
  const auto endpoint = stream.socket().remote_endpoint(ec);
  return ec ? std::string("unknown")
            : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::body_limit &&
         ec != http::error::header_limit && ec != http::error::partial_message;
}

}  // namespace

Session::Session(asio::ip::tcp::socket&& socket, std::shared_ptr<asio::ssl::context> tls_context,
                 const SessionEnvironment& environment)
    : tls_context_(std::move(tls_context)),
      stream_(std::move(socket), *tls_context_),
      environment_(environment) {}

Session::~Session() {
  if (tracker_id_ != 0) environment_.tracker.remove(tracker_id_);
}

void Session::start(std::uint64_t tracker_id) {
  tracker_id_ = tracker_id;
  // Run on the connection's strand from the first operation on.
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    beast::get_lowest_layer(self->stream_).expires_after(
        self->environment_.config.handshake_timeout);
    self->stream_.async_handshake(
        asio::ssl::stream_base::server,
        beast::bind_front_handler(&Session::on_handshake, self->shared_from_this()));
  });
}

void Session::close_when_idle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    // A request under way finishes, and its response closes the connection.
    if (!self->idle_) return;
    if (self->requests_ == 0) {
      // A connection that has not sent its first request yet (it may still be
      // handshaking) was opened to send one, likely during the drain: let it,
      // rather than lose it, but only briefly.
      beast::get_lowest_layer(self->stream_).expires_after(first_request_after_stop);
      return;
    }
    // Bytes already waiting in the kernel are a request too.
    boost::system::error_code ec;
    if (beast::get_lowest_layer(self->stream_).socket().available(ec) > 0 && !ec) return;
    // Idle between requests: cancelling the pending read ends the session.
    beast::get_lowest_layer(self->stream_).cancel();
  });
}

void Session::on_handshake(const boost::system::error_code& ec) {
  if (ec) {
    if (closing_) return;  // cut short by shutdown, not a failure
    // Load balancers and probes that open TCP and leave are routine: debug.
    environment_.metrics.tls_handshake_failed();
    environment_.logger.debug("TLS handshake failed",
                              {{"remote", remote_address(beast::get_lowest_layer(stream_))},
                               {"error", ec.message()}});
    return;
  }
  SSL* ssl = stream_.native_handle();
  client_certificate_verified_ =
      SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
  wait_for_request();
}

void Session::wait_for_request() {
  if (closing_ && requests_ > 0) {
    shutdown_tls();
    return;
  }
  // A pipelined request may already be in the buffer.
  if (buffer_.size() > 0) {
    read_header();
    return;
  }
  idle_ = true;
  beast::get_lowest_layer(stream_).expires_after(closing_ ? first_request_after_stop
                                                          : environment_.config.idle_timeout);
  stream_.async_read_some(buffer_.prepare(read_chunk),
                          beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
}

void Session::on_first_bytes(const boost::system::error_code& ec, std::size_t bytes) {
  buffer_.commit(bytes);
  if (ec) return;  // closed, timed out or cancelled by shutdown: nothing to answer
  read_header();
}

// A request usually arrives whole in the first read (one TLS record). Beast's
// read operations would parse it from the buffer too, but hand each step's
// result over through the executor's queue, often to the other thread; the
// bytes already here are parsed on the spot instead, and only a request still
// arriving goes through an asynchronous read.
bool Session::parse_buffered(bool whole, boost::system::error_code& ec) {
  parser_->eager(whole);
  for (;;) {
    if (whole ? parser_->is_done() : parser_->is_header_done()) {
      ec = {};
      return true;
    }
    if (buffer_.size() == 0) return false;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) return false;
    if (ec) return true;
  }
}

void Session::read_header() {
  idle_ = false;
  parser_.emplace();
  parser_->header_limit(header_limit);
  parser_->body_limit(environment_.config.max_request_bytes);
  boost::system::error_code parsed;
  if (parse_buffered(false, parsed)) {
    on_header(parsed);
    return;
  }
  beast::get_lowest_layer(stream_).expires_after(environment_.config.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t) { self->on_header(ec); });
}

void Session::on_header(const boost::system::error_code& ec) {
  // Beast compares Content-Length with the body limit while parsing the
  // header, so an oversized declared body is refused before any of it is read.
  if (ec == http::error::body_limit) {
    reject_and_close(environment_.router.payload_too_large(parser_->get().base(),
                                                           environment_.config.max_request_bytes));
    return;
  }
  if (ec == http::error::header_limit) {
    reject_and_close(text_response(http::status::request_header_fields_too_large, 11,
                                   "request header too large\n"));
    return;
  }
  if (is_parse_error(ec)) {
    reject_and_close(text_response(http::status::bad_request, 11,
                                   "malformed HTTP request: " + ec.message() + "\n"));
    return;
  }
  if (ec) return;  // end of stream, timeout, reset

  const auto& header = parser_->get();
  if (beast::iequals(header[http::field::expect], "100-continue") && !parser_->is_done()) {
    // curl and others wait for this before sending a large body.
    auto self = shared_from_this();
    auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                       header.version());
    beast::get_lowest_layer(stream_).expires_after(environment_.config.write_timeout);
    http::async_write(stream_, *interim,
                      [self, interim](const boost::system::error_code& write_ec, std::size_t) {
                        if (!write_ec) self->read_body();
                      });
    return;
  }
  read_body();
}

void Session::read_body() {
  boost::system::error_code parsed;
  if (parse_buffered(true, parsed)) {
    on_body(parsed);
    return;
  }
  beast::get_lowest_layer(stream_).expires_after(environment_.config.body_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                     self->on_body(ec);
                   });
}

void Session::on_body(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit) {  // chunked bodies reach the limit only here
    reject_and_close(environment_.router.payload_too_large(parser_->get().base(),
                                                           environment_.config.max_request_bytes));
    return;
  }
  if (is_parse_error(ec)) {
    reject_and_close(text_response(http::status::bad_request, 11,
                                   "malformed HTTP request: " + ec.message() + "\n"));
    return;
  }
  if (ec) return;

  ++requests_;
  Request request = parser_->release();
  parser_.reset();
  release_memory_after_write_ = request.body().size() >= large_body_bytes;
  Response response;
  // The one boundary where exceptions become answers: whatever escaped, the
  // client gets a 500 and the log says why, and the server keeps serving.
  try {
    response = environment_.router.handle(request, {client_certificate_verified_});
  } catch (const std::exception& e) {
    response = environment_.router.internal_error(request.base(), e.what());
  } catch (...) {
    response = environment_.router.internal_error(request.base(), "unknown exception");
  }
  const bool close = !request.keep_alive() || closing_ ||
                     environment_.draining.load(std::memory_order_relaxed);
  answer(std::move(response), close);
}

void Session::answer(Response&& response, bool close) {
  response_.emplace(std::move(response));
  response_->keep_alive(!close);
  beast::get_lowest_layer(stream_).expires_after(environment_.config.write_timeout);
  http::async_write(stream_, *response_,
                    [self = shared_from_this(), close](const boost::system::error_code& ec,
                                                       std::size_t) { self->on_write(close, ec); });
}

void Session::reject_and_close(Response&& response) {
  discard_after_reject_ = true;
  answer(std::move(response), true);
}

void Session::on_write(bool close, const boost::system::error_code& ec) {
  response_.reset();
  if (release_memory_after_write_) {
    // glibc keeps the memory of a multi-megabyte review in its arenas after it
    // is freed (its mmap threshold rises after the first large free), so one
    // large request would raise the resident size for good. Large requests are
    // rare: giving the memory back after each costs little.
    release_memory_after_write_ = false;
    ::malloc_trim(0);
  }
  if (ec) return;
  if (discard_after_reject_) {
    buffer_.clear();
    discarded_ = 0;
    beast::get_lowest_layer(stream_).expires_after(discard_timeout);
    discard_then_close();
    return;
  }
  if (close) {
    shutdown_tls();
    return;
  }
  wait_for_request();
}

void Session::discard_then_close() {
  if (discarded_ > environment_.config.max_request_bytes + read_chunk) {
    shutdown_tls();
    return;
  }
  stream_.async_read_some(buffer_.prepare(read_chunk),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t bytes) {
                            self->discarded_ += bytes;
                            self->buffer_.clear();
                            if (ec) return;  // the client is done (or too slow): close
                            self->discard_then_close();
                          });
}

void Session::shutdown_tls() {
  idle_ = false;
  beast::get_lowest_layer(stream_).expires_after(tls_shutdown_timeout);
  // close_notify tells the client the response is complete and not truncated.
  stream_.async_shutdown([self = shared_from_this()](const boost::system::error_code&) {
    beast::get_lowest_layer(self->stream_).close();
  });
}

}  // namespace asmegress::server
