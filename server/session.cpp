#include "server/session.h"

#include <malloc.h>

#include <algorithm>
#include <exception>
#include <string>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server/duration.h"

namespace asmegress::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Want = TlsStream::Want;

namespace {

constexpr std::size_t header_limit = 16 * 1024;
// The API server sends about ten fields; a header of thousands of tiny ones
// would be thousands of allocations per connection.
constexpr std::size_t header_field_limit = 100;
constexpr std::size_t read_chunk = 16 * 1024;
// A header may take header_limit before it is refused; one more read fits.
constexpr std::size_t buffer_limit = header_limit + read_chunk;
// Bodies from this size on are followed by giving freed memory back to the OS.
constexpr std::size_t large_body_bytes = 1024 * 1024;
// Answers up to this size go out in one write with their header.
constexpr std::size_t body_in_head_limit = 16 * 1024;
// After a refusal the client may still be sending its body. Reading (and
// dropping) a bounded amount of it before closing keeps the kernel from
// answering the unread bytes with a reset that would destroy our response.
constexpr std::chrono::seconds discard_timeout{2};
constexpr std::chrono::seconds linger_timeout{2};
constexpr std::size_t linger_limit = 64 * 1024;
// Once the server stops, how long a new connection has to send its request.
constexpr std::chrono::seconds first_request_after_stop{2};
// A body waiting for the budget gives up after this, or after the request's
// own ?timeout=, whichever is shorter: the API server stops waiting then.
constexpr std::chrono::seconds budget_wait_limit{10};
// Pipelined requests answered without waiting for the socket, before the
// connection lets others have the thread.
constexpr unsigned max_answers_in_a_row = 16;

std::string remote_address(const asio::ip::tcp::socket& socket) {
  error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("unknown")
            : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// The status line and fields, as Beast's serializer writes them.
std::string response_head(const Response& response) {
  std::string out;
  out.reserve(160);
  out += response.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(response.result_int());
  out += ' ';
  const auto reason = response.reason();
  out += reason.empty() ? http::obsolete_reason(response.result()) : reason;
  out += "\r\n";
  for (const auto& field : response) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

// The request's ?timeout= (the API server's own deadline), if it has one.
std::optional<Clock::duration> request_timeout(std::string_view target) {
  const auto query = target.find('?');
  if (query == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(query + 1);
  while (!rest.empty()) {
    const auto end = rest.find('&');
    const std::string_view pair = rest.substr(0, end);
    if (pair.starts_with("timeout=")) {
      if (auto parsed = parse_duration(pair.substr(8))) return *parsed;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return std::nullopt;
}

}  // namespace

Session::Session(asio::ip::tcp::socket&& socket, std::shared_ptr<asio::ssl::context> tls_context,
                 const SessionEnvironment& environment)
    : tls_context_(std::move(tls_context)),
      stream_(std::move(socket)),
      environment_(environment),
      timer_(stream_.socket().get_executor()),
      buffer_(buffer_limit),
      reader_({header_limit, header_field_limit, environment.config.max_request_bytes}) {}

Session::~Session() {
  if (tracker_id_ != 0) environment_.tracker.remove(tracker_id_);
  release_budget();
}

void Session::start(std::uint64_t tracker_id) {
  tracker_id_ = tracker_id;
  // Run on the connection's strand from the first operation on. The client's
  // first bytes are waited for before any TLS state is made.
  asio::dispatch(stream_.socket().get_executor(), [self = shared_from_this()] {
    self->set_deadline(self->environment_.config.handshake_timeout);
    self->wait(Want::Read);
  });
}

void Session::close_when_idle() {
  asio::post(stream_.socket().get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    // A request under way finishes, and its response closes the connection.
    if (!self->idle_ || self->phase_ == Phase::Closed) return;
    if (self->requests_ == 0) {
      // A connection that has not sent its first request yet (it may still be
      // handshaking) was opened to send one, likely during the drain: let it,
      // rather than lose it, but only briefly.
      self->set_deadline(first_request_after_stop);
      return;
    }
    // Bytes already here or waiting in the kernel are a request too.
    error_code ec;
    const bool waiting = self->stream_.socket().available(ec) > 0 && !ec;
    if (waiting || self->stream_.has_pending() || self->buffer_.size() > 0) return;
    self->end();
  });
}

void Session::evict() {
  asio::post(stream_.socket().get_executor(), [self = shared_from_this()] {
    if (self->phase_ == Phase::Closed) return;
    // In a flood of connections, no address is looked up for a line not written.
    if (self->environment_.logger.enabled(LogLevel::Debug)) {
      self->environment_.logger.debug(
          "connection limit reached; closed a connection that had not sent a whole request",
          {{"remote", remote_address(self->stream_.socket())},
           {"limit", self->environment_.config.max_connections}});
    }
    self->end();
  });
}

void Session::wait(Want want) {
  const auto type = want == Want::Write ? asio::ip::tcp::socket::wait_write
                                        : asio::ip::tcp::socket::wait_read;
  stream_.socket().async_wait(type, [self = shared_from_this()](const error_code& ec) {
    if (ec) {
      self->end();  // closed by a deadline, an eviction or the server stopping
      return;
    }
    self->run();
  });
}

// What a step throws ends its connection, not the thread serving it.
template <typename Step>
void Session::guarded(Step&& step) {
  try {
    step();
  } catch (const std::exception& e) {
    environment_.metrics.handler_exception();
    environment_.logger.error("a connection failed", {{"error", e.what()}});
    end();
  } catch (...) {
    environment_.metrics.handler_exception();
    environment_.logger.error("a connection failed", {{"error", "unknown exception"}});
    end();
  }
}

void Session::run() {
  guarded([this] { advance(); });
}

// Each step does what it can without waiting; one that must wait for the
// socket, a deadline or the budget returns false after arranging to be run
// again. A loop rather than calls from step to step, so pipelined requests
// do not deepen the stack.
void Session::advance() {
  for (;;) {
    bool go_on = false;
    switch (phase_) {
      case Phase::ClientHello: {
        error_code ec;
        if (!stream_.attach(tls_context_->native_handle(), ec)) {
          environment_.logger.warning("cannot start TLS on a connection", {{"error", ec.message()}});
          end();
          return;
        }
        phase_ = Phase::Handshake;
        go_on = true;
        break;
      }
      case Phase::Handshake: go_on = handshake_step(); break;
      case Phase::NextRequest: go_on = next_request_step(); break;
      case Phase::Reading: go_on = reading_step(); break;
      case Phase::Budget: return;  // the grant or the deadline runs it again
      case Phase::Writing: go_on = writing_step(); break;
      case Phase::Discarding: go_on = discarding_step(); break;
      case Phase::Closing: go_on = closing_step(); break;
      case Phase::Lingering: go_on = lingering_step(); break;
      case Phase::Closed: return;
    }
    if (!go_on) return;
  }
}

bool Session::handshake_step() {
  error_code ec;
  const Want want = stream_.handshake(ec);
  if (want != Want::Nothing) {
    wait(want);
    return false;
  }
  if (ec) {
    if (!closing_) {
      // Load balancers and probes that open TCP and leave are routine: debug.
      environment_.metrics.tls_handshake_failed();
      if (environment_.logger.enabled(LogLevel::Debug)) {
        environment_.logger.debug("TLS handshake failed", {{"remote", remote_address(stream_.socket())},
                                                            {"error", ec.message()}});
      }
    }
    end();
    return false;
  }
  SSL* ssl = stream_.native_handle();
  client_certificate_verified_ =
      SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
  phase_ = Phase::NextRequest;
  return true;
}

bool Session::next_request_step() {
  if (closing_ && requests_ > 0) {
    begin_close();
    return true;
  }
  reader_.reset();
  phase_ = Phase::Reading;
  if (buffer_.size() > 0 || stream_.has_pending()) {
    // A pipelined request is here already.
    idle_ = false;
    set_deadline(environment_.config.header_timeout);
    if (++answered_in_a_row_ >= max_answers_in_a_row) {
      answered_in_a_row_ = 0;
      asio::post(stream_.socket().get_executor(), [self = shared_from_this()] { self->run(); });
      return false;
    }
    return true;
  }
  answered_in_a_row_ = 0;
  idle_ = true;
  // No read buffer while nothing is coming.
  buffer_.shrink_to_fit();
  if (head_.capacity() > 4096) head_ = std::string();
  // Before its first request a connection has the header timeout: only a
  // client that has sent one is kept for the idle timeout.
  set_deadline(closing_ ? std::chrono::milliseconds(first_request_after_stop)
               : requests_ == 0 ? environment_.config.header_timeout
                                : environment_.config.idle_timeout);
  wait(Want::Read);
  return false;
}

bool Session::reading_step() {
  for (;;) {
    switch (reader_.parse(buffer_)) {
      case RequestReader::Progress::Header: judge_header(); return true;
      case RequestReader::Progress::Complete: answer_request(); return true;
      case RequestReader::Progress::Failed: {
        const auto& failure = reader_.failure();
        refuse(reader_.header_parsed()
                   ? environment_.router.refusal(reader_.header(), failure.status, failure.message)
                   : text_response(failure.status, 11, failure.message));
        return true;
      }
      case RequestReader::Progress::NeedMore: break;
    }
    const std::size_t room = std::min(read_chunk, buffer_.max_size() - buffer_.size());
    if (room == 0) {  // the reader refuses a header before this
      refuse(text_response(http::status::request_header_fields_too_large, 11,
                           "request header too large\n"));
      return true;
    }
    const auto target = buffer_.prepare(room);
    std::size_t got = 0;
    error_code ec;
    const Want want = stream_.read(target.data(), target.size(), got, ec);
    if (got > 0) {
      buffer_.commit(got);
      if (idle_) {
        idle_ = false;
        set_deadline(environment_.config.header_timeout);
      }
      continue;
    }
    if (want != Want::Nothing) {
      // Readable, but no data (a TLS record of another kind): still no buffer.
      if (idle_ && buffer_.size() == 0) buffer_.shrink_to_fit();
      wait(want);
      return false;
    }
    end();  // closed, reset or broken: nothing to answer
    return false;
  }
}

// The header is whole: decide from it alone whether the body is read.
void Session::judge_header() {
  const RequestHeader& header = reader_.header();
  const std::uint64_t length = reader_.body_length();
  if (auto refusal = environment_.router.refuse(header, {client_certificate_verified_})) {
    if (length > 0) {
      refuse(std::move(*refusal));  // its body is never read: the connection closes
      return;
    }
    // Nothing left unread: the connection goes on as after any answer.
    ++requests_;
    environment_.tracker.busy(tracker_id_);
    respond(std::move(*refusal), !reader_.keep_alive() || closing_ ||
                                     environment_.draining.load(std::memory_order_relaxed));
    return;
  }
  if (length == 0) {
    reader_.allow_body();
    return;
  }
  expect_continue_ = beast::iequals(header[http::field::expect], "100-continue");
  BodyBudget& budget = environment_.budget;
  const auto bytes = static_cast<std::size_t>(length);
  BodyBudget::Share share;
  const bool now = budget.try_acquire(bytes, share) || budget.acquire(
      bytes, share, budget_ticket_,
      [weak = weak_from_this(), executor = stream_.socket().get_executor(),
       budget = &budget](BodyBudget::Share granted) {
        const auto self = weak.lock();
        if (!self) {
          budget->release(granted);
          return;
        }
        asio::post(executor, [self, granted] { self->on_budget_granted(granted); });
      });
  if (now) {
    body_granted(share);
    return;
  }
  phase_ = Phase::Budget;
  Clock::duration wait_limit = std::min<Clock::duration>(budget_wait_limit, environment_.config.body_timeout);
  if (const auto timeout = request_timeout(header.target())) wait_limit = std::min(wait_limit, *timeout);
  set_deadline(wait_limit);
}

void Session::body_granted(const BodyBudget::Share& share) {
  share_ = share;
  budget_ticket_ = 0;
  reader_.allow_body();
  phase_ = Phase::Reading;
  if (expect_continue_ && reader_.body_remaining() > buffer_.size()) {
    // curl and others wait for this before sending a large body; it is sent
    // only for a body that will be read.
    head_ = "HTTP/1.1 100 Continue\r\n\r\n";
    written_ = 0;
    body_in_head_ = true;
    interim_ = true;
    set_deadline(environment_.config.write_timeout);
    phase_ = Phase::Writing;
    return;
  }
  set_deadline(environment_.config.body_timeout);
}

void Session::on_budget_granted(const BodyBudget::Share& share) {
  if (phase_ != Phase::Budget) {  // gave up (deadline) or closed meanwhile
    environment_.budget.release(share);
    return;
  }
  environment_.metrics.body_waited(false);
  body_granted(share);
  run();
}

void Session::answer_request() {
  ++requests_;
  environment_.tracker.busy(tracker_id_);
  Response response;
  bool close = false;
  {
    const Request request = reader_.release();
    release_memory_after_write_ = request.body().size() >= large_body_bytes;
    // The one boundary where exceptions become answers: whatever escaped, the
    // client gets a 500 and the log says why, and the server keeps serving.
    try {
      response = environment_.router.handle(request);
    } catch (const std::exception& e) {
      response = environment_.router.internal_error(request.base(), e.what());
    } catch (...) {
      response = environment_.router.internal_error(request.base(), "unknown exception");
    }
    close = !request.keep_alive() || closing_ ||
            environment_.draining.load(std::memory_order_relaxed);
  }
  // The body is gone: its share of the budget goes back before the write.
  release_budget();
  respond(std::move(response), close);
}

void Session::respond(Response&& response, bool close) {
  response_.emplace(std::move(response));
  response_->keep_alive(!close);
  close_after_write_ = close;
  head_ = response_head(*response_);
  body_in_head_ = response_->body().size() <= body_in_head_limit;
  if (body_in_head_) head_ += response_->body();
  written_ = 0;
  set_deadline(environment_.config.write_timeout);
  phase_ = Phase::Writing;
}

void Session::refuse(Response&& response) {
  discard_after_write_ = true;
  respond(std::move(response), true);
}

bool Session::writing_step() {
  for (;;) {
    std::string_view pending;
    if (written_ < head_.size()) {
      pending = std::string_view(head_).substr(written_);
    } else if (!body_in_head_ && written_ < head_.size() + response_->body().size()) {
      pending = std::string_view(response_->body()).substr(written_ - head_.size());
    } else {
      break;
    }
    std::size_t n = 0;
    error_code ec;
    const Want want = stream_.write(pending.data(), pending.size(), n, ec);
    if (n > 0) {
      written_ += n;
      continue;
    }
    if (want != Want::Nothing) {
      wait(want);
      return false;
    }
    end();
    return false;
  }
  after_write();
  return true;
}

void Session::after_write() {
  if (interim_) {
    interim_ = false;
    head_.clear();
    set_deadline(environment_.config.body_timeout);
    phase_ = Phase::Reading;
    return;
  }
  response_.reset();
  head_.clear();
  if (release_memory_after_write_) {
    // glibc keeps the memory of a multi-megabyte review in its arenas after it
    // is freed, so one large request would raise the resident size for good.
    // Large requests are rare: giving the memory back after each costs little.
    release_memory_after_write_ = false;
    ::malloc_trim(0);
  }
  if (discard_after_write_) {
    discard_after_write_ = false;
    discarded_ = 0;
    set_deadline(discard_timeout);
    phase_ = Phase::Discarding;
    return;
  }
  if (close_after_write_) {
    begin_close();
    return;
  }
  environment_.tracker.idle(tracker_id_);
  phase_ = Phase::NextRequest;
}

bool Session::discarding_step() {
  for (;;) {
    if (discarded_ > environment_.config.max_request_bytes + read_chunk) {
      begin_close();
      return true;
    }
    char scratch[read_chunk];  // thrown away: no buffer is grown for it
    std::size_t got = 0;
    error_code ec;
    const Want want = stream_.read(scratch, sizeof scratch, got, ec);
    if (got > 0) {
      discarded_ += got;
      continue;
    }
    if (want != Want::Nothing) {
      wait(want);
      return false;
    }
    end();  // the client is done: close
    return false;
  }
}

void Session::begin_close() {
  idle_ = false;
  buffer_.clear();
  buffer_.shrink_to_fit();
  set_deadline(linger_timeout);
  phase_ = Phase::Closing;
}

bool Session::closing_step() {
  // close_notify tells the client the response is complete and not truncated.
  error_code ec;
  const Want want = stream_.shutdown(ec);
  if (want != Want::Nothing) {
    wait(want);
    return false;
  }
  if (ec) {
    end();
    return false;
  }
  error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  phase_ = Phase::Lingering;
  discarded_ = 0;
  return true;
}

// The client closes once it has read the answer. Closing first with unread
// bytes from it would send a reset, which can destroy the answer in flight.
bool Session::lingering_step() {
  char scratch[4096];
  while (discarded_ < linger_limit) {
    error_code ec;
    const std::size_t n = stream_.socket().read_some(asio::buffer(scratch), ec);
    if (!ec) {
      discarded_ += n;
      continue;
    }
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      wait(Want::Read);
      return false;
    }
    break;  // closed by the client
  }
  end();
  return false;
}

void Session::set_deadline(Clock::duration after) {
  deadline_ = Clock::now() + after;
  // A timer that fires first waits again for what is left, so most steps
  // only move the deadline and touch no timer.
  if (timer_armed_ && timer_expiry_ <= deadline_) return;
  arm_timer();
}

void Session::arm_timer() {
  timer_expiry_ = deadline_;
  timer_armed_ = true;
  timer_.expires_at(deadline_);  // a wait already pending ends with operation_aborted
  timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->on_timer(ec); });
}

void Session::on_timer(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;  // moved, or the session ended
  timer_armed_ = false;
  if (phase_ == Phase::Closed) return;
  if (Clock::now() < deadline_) {
    arm_timer();
    return;
  }
  guarded([this] { on_deadline(); });
}

void Session::on_deadline() {
  if (phase_ == Phase::ClientHello || phase_ == Phase::Handshake) {
    if (!closing_) {
      environment_.metrics.tls_handshake_failed();
      if (environment_.logger.enabled(LogLevel::Debug)) {
        environment_.logger.debug("TLS handshake timed out",
                                  {{"remote", remote_address(stream_.socket())}});
      }
    }
    end();
    return;
  }
  if (phase_ != Phase::Budget) {
    end();  // too slow a client (or a silent one): its slot goes to others
    return;
  }
  // Waited for the budget long enough. A grant already on its way goes on.
  if (!environment_.budget.withdraw(budget_ticket_)) return;
  budget_ticket_ = 0;
  environment_.metrics.body_waited(true);
  Response busy = environment_.router.refusal(
      reader_.header(), http::status::service_unavailable,
      "too many request bodies are being read at once; try again\n");
  busy.set(http::field::retry_after, "1");
  refuse(std::move(busy));
  run();
}

void Session::end() {
  if (phase_ == Phase::Closed) return;
  phase_ = Phase::Closed;
  idle_ = false;
  timer_.cancel();
  if (budget_ticket_ != 0) {
    // Still queued, or granted meanwhile: on_budget_granted gives that back.
    environment_.budget.withdraw(budget_ticket_);
    budget_ticket_ = 0;
  }
  release_budget();
  stream_.close();
  buffer_.clear();
  buffer_.shrink_to_fit();
  response_.reset();
  head_ = std::string();
}

void Session::release_budget() {
  if (share_.bytes == 0) return;
  environment_.budget.release(share_);
  share_ = {};
}

}  // namespace asmegress::server
