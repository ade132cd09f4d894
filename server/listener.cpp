#include "server/listener.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

namespace asmegress::server {

namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(asio::io_context& io_context, const tcp::endpoint& endpoint,
                   CertificateReloader& certificates, const SessionEnvironment& environment)
    : io_context_(io_context),
      acceptor_(asio::make_strand(io_context)),
      retry_timer_(acceptor_.get_executor()),
      certificates_(certificates),
      environment_(environment) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.protocol() == tcp::v6()) {
    // "::" serves IPv4 too, as Go's listeners do.
    acceptor_.set_option(asio::ip::v6_only(false));
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

tcp::endpoint Listener::local_endpoint() const { return acceptor_.local_endpoint(); }

void Listener::start() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->accept(); });
}

void Listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    // Connections the kernel has completed but nobody accepted yet would be
    // reset when the acceptor closes, after their clients may have sent a
    // review: take them in (they are answered with Connection: close) first.
    boost::system::error_code ec;
    self->acceptor_.non_blocking(true, ec);
    for (std::size_t i = 0; !ec && i < self->environment_.config.max_connections; ++i) {
      tcp::socket socket(asio::make_strand(self->io_context_));
      self->acceptor_.accept(socket, ec);
      if (!ec) self->serve(std::move(socket));
    }
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::accept() {
  if (stopped_) return;
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(asio::make_strand(io_context_),
                         boost::beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (stopped_) {
    // Accepted just before the stop: its client is owed an answer too.
    if (!ec && socket.is_open()) serve(std::move(socket));
    return;
  }
  if (ec) {
    // Typically EMFILE: back off briefly rather than spin on the error.
    environment_.logger.warning("accepting a connection failed", {{"error", ec.message()}});
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& wait_ec) {
      if (!wait_ec) self->accept();
    });
    return;
  }
  serve(std::move(socket));
  accept();
}

void Listener::serve(tcp::socket socket) {
  boost::system::error_code ignored;
  if (environment_.tracker.size() >= environment_.config.max_connections) {
    std::shared_ptr<Session> evicted;
    if (!environment_.tracker.evict(evicted)) {
      // Every connection is answering a request: this one waits its turn in
      // no queue of ours.
      environment_.logger.debug("connection limit reached and every connection is busy; "
                                "closing a new connection",
                                {{"limit", environment_.config.max_connections}});
      socket.close(ignored);
      return;
    }
    environment_.metrics.connection_evicted();
    if (evicted) evicted->evict();
  }
  socket.set_option(tcp::no_delay(true), ignored);
  auto session = std::make_shared<Session>(std::move(socket), certificates_.current(),
                                           environment_);
  session->start(environment_.tracker.add(session));
}

}  // namespace asmegress::server
