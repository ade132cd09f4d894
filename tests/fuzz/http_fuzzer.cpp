// The HTTP path in front of the engine, without sockets: the bytes of one
// connection go through Beast's request parser with the server's limits
// (16 KiB of header, --max-request-bytes of body), fed in pieces as TCP
// delivers them, and every complete request (pipelined ones included) goes
// to the server's Router, as Session does. Properties:
//   - no input crashes the parser or the router, and nothing throws;
//   - no answer is a 500 (bad input is never the server's fault);
//   - every answer has a Content-Length equal to its body;
//   - a 200 from /mutate or /validate is an AdmissionReview.
//
// Input layout: byte 0 chooses the piece size and the connection's facts
// (client certificate required/presented, draining); the rest is the stream.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include "policy/settings.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/server_config.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace http = boost::beast::http;
using asmegress::server::Response;

// server/session.cpp's header limit.
constexpr std::size_t header_limit = 16 * 1024;
// Beyond this many requests one input stops being interesting.
constexpr int max_requests = 64;

struct Environment {
  asmegress::policy::Settings settings;
  asmegress::server::Metrics metrics;
  asmegress::server::Logger logger{asmegress::fuzz::null_stream(), 1};
  std::atomic<bool> draining{false};
  asmegress::server::Router plain{settings, false, metrics, logger, draining};
  asmegress::server::Router mutual{settings, true, metrics, logger, draining};
};

Environment& environment() {
  static Environment env;
  return env;
}

void check_response(const Response& response, std::string_view path) {
  ASM_FUZZ_CHECK(response.result_int() != 500, response.body());
  const auto length = response[http::field::content_length];
  ASM_FUZZ_CHECK(length == std::to_string(response.body().size()),
                 "Content-Length " + std::string(length) + " for a body of " +
                     std::to_string(response.body().size()));
  if (response.result_int() == 200 && (path == "/mutate" || path == "/validate")) {
    boost::json::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 512;
    const auto answer = boost::json::parse(response.body(), ec, {}, options);
    ASM_FUZZ_CHECK(!ec && answer.is_object() && answer.get_object().contains("response"),
                   response.body());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  // 1..32 bytes at a time, or everything at once.
  const std::size_t piece = (control & 0x1FU) == 0 ? stream.size() + 1 : (control & 0x1FU);
  const bool mutual_tls = (control & 0x20U) != 0;
  const bool certificate_presented = (control & 0x40U) != 0;
  Environment& env = environment();
  env.draining.store((control & 0x80U) != 0);
  asmegress::server::Router& router = mutual_tls ? env.mutual : env.plain;
  const asmegress::server::ServerConfig config;

  std::size_t offset = 0;
  for (int requests = 0; requests < max_requests && offset < stream.size(); ++requests) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(config.max_request_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    // Bytes received but not yet consumed, starting at `offset`: Beast needs a
    // whole header in one buffer, so unconsumed bytes stay and more are
    // appended, as the session's flat_buffer does.
    std::size_t available = std::min(piece, stream.size() - offset);
    bool incomplete = false;
    while (!parser.is_done()) {
      const std::size_t used =
          parser.put(boost::asio::buffer(stream.data() + offset, available), ec);
      offset += used;
      available -= used;
      if (ec == http::error::need_more || (!ec && available == 0)) {
        ec = {};
        if (offset + available >= stream.size()) {
          incomplete = true;  // the client stopped sending: the session times out
          break;
        }
        available = std::min(available + piece, stream.size() - offset);
        continue;
      }
      if (ec) break;
    }
    if (ec == http::error::body_limit) {
      const Response response = router.payload_too_large(parser.get().base(), config.max_request_bytes);
      ASM_FUZZ_CHECK(response.result_int() == 413, response.body());
      return 0;
    }
    if (ec || incomplete || !parser.is_done()) return 0;  // a 400, or a wait: no router call

    const auto request = parser.release();
    const std::string path(asmegress::server::request_path(request.target()));
    Response response;
    try {
      response = router.handle(request, {certificate_presented});
    } catch (const std::exception& e) {
      asmegress::fuzz::property_failed("the router threw", e.what());
    }
    check_response(response, path);
    if (!request.keep_alive()) return 0;
  }
  return 0;
}
