#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/certificate_reloader.h"
#include "server/session.h"

namespace asmegress::server {

// Accepts connections and gives each a Session with the serving context of the
// moment. At the connection limit a new connection takes the place of one
// that has not sent a whole request (ConnectionTracker::evict): a flood of
// idle or half-sent clients can neither grow memory nor lock out the API
// server.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens; throws boost::system::system_error when it cannot.
  Listener(boost::asio::io_context& io_context, const boost::asio::ip::tcp::endpoint& endpoint,
           CertificateReloader& certificates, const SessionEnvironment& environment);

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  void stop();  // stops accepting; open connections are not touched

 private:
  void accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
  void serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  CertificateReloader& certificates_;
  const SessionEnvironment& environment_;
  bool stopped_ = false;
};

}  // namespace asmegress::server
