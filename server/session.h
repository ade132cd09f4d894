#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/connection_tracker.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/server_config.h"

namespace asmegress::server {

// What every session shares with the server.
struct SessionEnvironment {
  const ServerConfig& config;
  Router& router;
  Metrics& metrics;
  Logger& logger;
  const std::atomic<bool>& draining;
  ConnectionTracker& tracker;
};

// One TLS connection: handshake, then requests one after another (keep-alive,
// and pipelined ones in order), each step under its own timeout. The session
// is the one place exceptions from answering a request are caught.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket&& socket,
          std::shared_ptr<boost::asio::ssl::context> tls_context,
          const SessionEnvironment& environment);
  ~Session();

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start(std::uint64_t tracker_id);
  // Shutdown: close now if no request is under way, else after its response.
  void close_when_idle();

 private:
  void on_handshake(const boost::system::error_code& ec);
  void wait_for_request();
  void on_first_bytes(const boost::system::error_code& ec, std::size_t bytes);
  // Parses buffered bytes up to the end of the header, or of the whole
  // request with `whole`: true when there (ec clear) or malformed (ec says
  // how); false when more bytes are needed.
  bool parse_buffered(bool whole, boost::system::error_code& ec);
  void read_header();
  void on_header(const boost::system::error_code& ec);
  void read_body();
  void on_body(const boost::system::error_code& ec);
  void answer(Response&& response, bool close);
  void reject_and_close(Response&& response);
  void on_write(bool close, const boost::system::error_code& ec);
  void discard_then_close();
  void shutdown_tls();

  // Kept alive by the session: the stream's SSL object refers to it.
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  const SessionEnvironment& environment_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<Response> response_;
  std::uint64_t tracker_id_ = 0;
  bool client_certificate_verified_ = false;
  std::uint64_t requests_ = 0;  // requests read on this connection
  bool release_memory_after_write_ = false;
  bool idle_ = true;      // no request under way (handshaking, or between requests)
  bool closing_ = false;  // the server is stopping: no further requests
  bool discard_after_reject_ = false;
  std::size_t discarded_ = 0;
};

}  // namespace asmegress::server
