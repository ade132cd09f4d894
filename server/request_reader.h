#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/router.h"

namespace asmegress::server {

// Reads the requests of one connection from the bytes it has received, with
// every limit enforced here rather than left to Beast: Beast 1.81 throws from
// its field container for a field of 64 KiB, does not count chunk headers,
// extensions or trailers against its header limit, and parses a header of
// thousands of tiny fields into thousands of allocations. So:
//   - the header is parsed only once it is whole, and only if it is within
//     `header_bytes` and `header_fields` (431 otherwise);
//   - Transfer-Encoding is refused (411): the API server always sends
//     Content-Length, and no chunk, extension or trailer is ever parsed;
//   - a declared body over `body_bytes` is refused from the header (413);
//   - the body is read only once the caller allows it (allow_body), after
//     deciding from the header whether to read it at all;
//   - nothing Beast throws escapes: it becomes a 400 or a 431.
// Socket-free, so the fuzz target drives the same code as the session.
class RequestReader {
 public:
  struct Limits {
    std::size_t header_bytes = 16 * 1024;
    std::size_t header_fields = 100;
    std::size_t body_bytes = 0;
  };

  enum class Progress {
    NeedMore,  // more bytes are needed for the next step
    Header,    // the header is here (header()); call allow_body() to go on
    Complete,  // the whole request is here (release())
    Failed,    // refused: failure() says how to answer; the connection closes
  };

  struct Failure {
    boost::beast::http::status status = boost::beast::http::status::bad_request;
    std::string message;
  };

  explicit RequestReader(Limits limits) : limits_(limits) {}

  // Starts on the next request of the connection.
  void reset();
  // Parses what `buffer` holds, consuming what belongs to this request.
  Progress parse(boost::beast::flat_buffer& buffer);
  // After Progress::Header: the body may be read now.
  void allow_body() { body_allowed_ = true; }

  // After Progress::Header (and while reading the body).
  [[nodiscard]] const RequestHeader& header() const { return parser_->get().base(); }
  // The declared body size (0 when there is none).
  [[nodiscard]] std::uint64_t body_length() const;
  // Bytes of the body still to come.
  [[nodiscard]] std::uint64_t body_remaining() const;
  [[nodiscard]] bool keep_alive() const { return parser_->get().keep_alive(); }
  // After Progress::Complete.
  Request release();
  // After Progress::Failed.
  [[nodiscard]] const Failure& failure() const { return failure_; }
  // Whether the header had been parsed when the request failed.
  [[nodiscard]] bool header_parsed() const { return header_done_; }

 private:
  Progress fail(boost::beast::http::status status, std::string message);
  Progress parse_header(boost::beast::flat_buffer& buffer);
  Progress parse_body(boost::beast::flat_buffer& buffer);

  Limits limits_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::size_t scanned_ = 0;  // bytes of the buffer searched for the header's end
  bool header_done_ = false;
  bool body_allowed_ = false;
  Failure failure_;
};

}  // namespace asmegress::server
