#include "server/request_reader.h"

#include <algorithm>
#include <exception>
#include <new>
#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

namespace asmegress::server {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kHeaderEnd = "\r\n\r\n";

}  // namespace

void RequestReader::reset() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
  parser_->body_limit(limits_.body_bytes);
  scanned_ = 0;
  header_done_ = false;
  body_allowed_ = false;
  failure_ = {};
}

std::uint64_t RequestReader::body_length() const {
  const auto length = parser_->content_length();
  return length ? *length : 0;
}

std::uint64_t RequestReader::body_remaining() const {
  const auto remaining = parser_->content_length_remaining();
  return remaining ? *remaining : 0;
}

Request RequestReader::release() { return parser_->release(); }

RequestReader::Progress RequestReader::fail(http::status status, std::string message) {
  failure_.status = status;
  failure_.message = std::move(message);
  return Progress::Failed;
}

RequestReader::Progress RequestReader::parse(boost::beast::flat_buffer& buffer) {
  // Whatever Beast throws (its field container's std::length_error, a
  // failed allocation) ends this request, never the server.
  try {
    if (!header_done_) return parse_header(buffer);
    if (!body_allowed_) return Progress::Header;
    return parse_body(buffer);
  } catch (const std::length_error& e) {
    return fail(http::status::request_header_fields_too_large,
                std::string("request header too large: ") + e.what() + "\n");
  } catch (const std::bad_alloc&) {
    return fail(http::status::service_unavailable, "out of memory for this request\n");
  } catch (const std::exception& e) {
    return fail(http::status::bad_request, std::string("malformed HTTP request: ") + e.what() + "\n");
  }
}

RequestReader::Progress RequestReader::parse_header(boost::beast::flat_buffer& buffer) {
  // The end of the header, searched for once over each byte (a header
  // dripped a byte at a time costs no more than one sent whole); the header
  // goes to Beast only once it is whole and within both limits.
  const auto* data = static_cast<const char*>(buffer.data().data());
  const std::size_t size = std::min(buffer.size(), limits_.header_bytes);
  const std::string_view text(data, size);
  const std::size_t from = scanned_ >= kHeaderEnd.size() ? scanned_ - (kHeaderEnd.size() - 1) : 0;
  const std::size_t end = text.find(kHeaderEnd, from);
  scanned_ = size;
  if (end == std::string_view::npos) {
    if (buffer.size() >= limits_.header_bytes) {
      return fail(http::status::request_header_fields_too_large, "request header too large\n");
    }
    return Progress::NeedMore;
  }
  // Line ends before the header's last: one per field (the start line's,
  // and every field's but the last).
  const std::size_t header_lines =
      static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
  if (header_lines > limits_.header_fields) {
    return fail(http::status::request_header_fields_too_large,
                "too many request header fields: the limit is " +
                    std::to_string(limits_.header_fields) + "\n");
  }

  parser_->eager(false);
  boost::beast::error_code ec;
  const std::size_t used = parser_->put(
      boost::asio::buffer(data, end + kHeaderEnd.size()), ec);
  buffer.consume(used);
  header_done_ = parser_->is_header_done();
  if (ec == http::error::body_limit) {
    header_done_ = true;  // every field is parsed: the answer can name the path
    return fail(http::status::payload_too_large, "request body too large: the limit is " +
                                                     std::to_string(limits_.body_bytes) +
                                                     " bytes\n");
  }
  if (ec == http::error::header_limit) {
    return fail(http::status::request_header_fields_too_large, "request header too large\n");
  }
  if (ec || !header_done_) {
    return fail(http::status::bad_request,
                "malformed HTTP request: " + (ec ? ec.message() : std::string("incomplete header")) +
                    "\n");
  }
  const auto& header = parser_->get();
  if (parser_->chunked() || header.find(http::field::transfer_encoding) != header.end()) {
    return fail(http::status::length_required,
                "Transfer-Encoding is not accepted: send the body with a Content-Length\n");
  }
  return Progress::Header;
}

RequestReader::Progress RequestReader::parse_body(boost::beast::flat_buffer& buffer) {
  parser_->eager(true);
  while (!parser_->is_done()) {
    if (buffer.size() == 0) return Progress::NeedMore;
    boost::beast::error_code ec;
    const std::size_t used = parser_->put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) return Progress::NeedMore;
    if (ec) return fail(http::status::bad_request, "malformed HTTP request: " + ec.message() + "\n");
  }
  return Progress::Complete;
}

}  // namespace asmegress::server
