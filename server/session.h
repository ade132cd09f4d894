#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "server/body_budget.h"
#include "server/connection_tracker.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/request_reader.h"
#include "server/router.h"
#include "server/server_config.h"
#include "server/tls_stream.h"

namespace asmegress::server {

// What every session shares with the server.
struct SessionEnvironment {
  const ServerConfig& config;
  Router& router;
  Metrics& metrics;
  Logger& logger;
  const std::atomic<bool>& draining;
  ConnectionTracker& tracker;
  BodyBudget& budget;
};

// One TLS connection: handshake, then requests one after another (keep-alive,
// and pipelined ones in order), each step under a deadline.
//
// Nothing is taken before it is needed: no TLS state until the client's
// first bytes, no read buffer while waiting for a request, no body before its
// header has been judged (route, method, Content-Type, client certificate)
// and its size taken from the body budget. A request that is refused is
// answered from its header and the connection closed; its body is never read.
//
// The session is the one place exceptions from answering a request are
// caught: the client gets a 500 and the log says why. Anything else that
// throws in a step ends the connection, never the worker thread.
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
  // Chosen to make room at the connection limit: close now.
  void evict();

 private:
  enum class Phase : unsigned char {
    ClientHello,  // waiting for the client's first bytes
    Handshake,
    NextRequest,  // between requests
    Reading,      // reading a request: its header, or its body once allowed
    Budget,       // the header is judged; the body waits for room in the budget
    Writing,
    Discarding,   // after a refusal: reading and dropping a little, then closing
    Closing,      // sending close_notify
    Lingering,    // waiting briefly for the client to close first
    Closed,
  };

  void run();
  template <typename Step>
  void guarded(Step&& step);
  void advance();
  // Waits for the socket, then runs again.
  void wait(TlsStream::Want want);
  void set_deadline(std::chrono::steady_clock::duration after);
  void arm_timer();
  void on_timer(const boost::system::error_code& ec);
  void on_deadline();

  bool handshake_step();
  bool next_request_step();
  bool reading_step();
  bool writing_step();
  bool discarding_step();
  bool closing_step();
  bool lingering_step();

  void judge_header();
  void body_granted(const BodyBudget::Share& share);
  void on_budget_granted(const BodyBudget::Share& share);
  void answer_request();
  void respond(Response&& response, bool close);
  void refuse(Response&& response);
  void after_write();
  void begin_close();
  void end();
  void release_budget();

  // Kept alive by the session: the stream's SSL object refers to it.
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  TlsStream stream_;
  const SessionEnvironment& environment_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_{};
  std::chrono::steady_clock::time_point timer_expiry_{};
  bool timer_armed_ = false;

  boost::beast::flat_buffer buffer_;
  RequestReader reader_;
  Phase phase_ = Phase::ClientHello;
  BodyBudget::Share share_;
  std::uint64_t budget_ticket_ = 0;
  bool expect_continue_ = false;

  std::optional<Response> response_;
  std::string head_;        // the response's status line and fields (and a small body)
  std::size_t written_ = 0;  // of head_, then of the body
  bool body_in_head_ = false;
  bool interim_ = false;     // writing 100 Continue
  bool close_after_write_ = false;
  bool discard_after_write_ = false;
  std::size_t discarded_ = 0;

  std::uint64_t tracker_id_ = 0;
  bool client_certificate_verified_ = false;
  std::uint64_t requests_ = 0;  // requests read on this connection
  unsigned answered_in_a_row_ = 0;  // without waiting for the socket
  bool release_memory_after_write_ = false;
  bool idle_ = true;      // no request under way (handshaking, or between requests)
  bool closing_ = false;  // the server is stopping: no further requests
};

}  // namespace asmegress::server
