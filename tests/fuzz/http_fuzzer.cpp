// The HTTP path in front of the engine, without sockets: the bytes of one
// connection go through the session's own RequestReader (the header and body
// limits, the refusal of Transfer-Encoding), fed in pieces as TCP delivers
// them, each header is judged by Router::refuse before its body is allowed,
// and every complete request (pipelined ones included) goes to the Router,
// as Session does. The limits are the server's, except the body limit, which
// is small here so that inputs of fuzzing size reach past it too. Properties:
//   - no input crashes the reader or the router, and nothing throws;
//   - no answer is a 500 (bad input is never the server's fault);
//   - every answer has a Content-Length equal to its body;
//   - a refusal of the reader is a 4xx, and ends the connection;
//   - a body is never read past the limit, and never for a refused header;
//   - a 200 from /mutate or /validate is an AdmissionReview.
//
// Input layout: byte 0 chooses the piece size and the connection's facts
// (client certificate required/presented, draining); the rest is the stream.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/json/parse.hpp>

#include "policy/settings.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/request_reader.h"
#include "server/router.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace http = boost::beast::http;
using asmegress::server::RequestReader;
using asmegress::server::Response;

// server/session.cpp's limits; the body's is small (see above).
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t header_field_limit = 100;
constexpr std::size_t body_limit = 4096;
constexpr std::size_t buffer_limit = header_limit + 16 * 1024;
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
  // 1..32 bytes at a time, or up to 16 KiB (a TLS record) at a time.
  const std::size_t piece = (control & 0x1FU) == 0 ? 16 * 1024 : (control & 0x1FU);
  const bool mutual_tls = (control & 0x20U) != 0;
  const bool certificate_presented = (control & 0x40U) != 0;
  Environment& env = environment();
  env.draining.store((control & 0x80U) != 0);
  asmegress::server::Router& router = mutual_tls ? env.mutual : env.plain;

  RequestReader reader({header_limit, header_field_limit, body_limit});
  boost::beast::flat_buffer buffer(buffer_limit);
  std::size_t offset = 0;
  // Moves the next piece of the stream into the buffer, as a read would;
  // false when the client has nothing more to send.
  auto receive = [&] {
    if (offset >= stream.size()) return false;
    const std::size_t room = std::min(piece, buffer.max_size() - buffer.size());
    ASM_FUZZ_CHECK(room > 0, "the reader let the buffer fill up");
    const std::size_t n = std::min(room, stream.size() - offset);
    const auto target = buffer.prepare(n);
    std::memcpy(target.data(), stream.data() + offset, n);
    buffer.commit(n);
    offset += n;
    return true;
  };

  for (int requests = 0; requests < max_requests; ++requests) {
    reader.reset();
    bool judged = false;
    for (;;) {
      const RequestReader::Progress progress = reader.parse(buffer);
      if (progress == RequestReader::Progress::Failed) {
        const auto status = static_cast<unsigned>(reader.failure().status);
        ASM_FUZZ_CHECK(status >= 400 && status < 500 && status != 404,
                       "the reader refused with " + std::to_string(status));
        return 0;  // the session answers and closes
      }
      if (progress == RequestReader::Progress::Header) {
        ASM_FUZZ_CHECK(!judged, "a header judged twice");
        judged = true;
        ASM_FUZZ_CHECK(reader.body_length() <= body_limit, "a body over the limit was allowed");
        if (auto refusal = router.refuse(reader.header(), {certificate_presented})) {
          const std::string path(asmegress::server::request_path(reader.header().target()));
          check_response(*refusal, path);
          ASM_FUZZ_CHECK(refusal->result_int() >= 400, refusal->body());
          if (reader.body_length() > 0 || !reader.keep_alive()) return 0;  // closed, body unread
          break;  // answered; the next request follows
        }
        reader.allow_body();
        continue;
      }
      if (progress == RequestReader::Progress::Complete) {
        ASM_FUZZ_CHECK(judged, "a request completed without its header being judged");
        const auto request = reader.release();
        ASM_FUZZ_CHECK(request.body().size() <= body_limit, "a body read past the limit");
        const std::string path(asmegress::server::request_path(request.target()));
        Response response;
        try {
          response = router.handle(request);
        } catch (const std::exception& e) {
          asmegress::fuzz::property_failed("the router threw", e.what());
        }
        check_response(response, path);
        if (!request.keep_alive()) return 0;
        break;
      }
      if (!receive()) return 0;  // the client stopped sending: the session times out
    }
  }
  return 0;
}
