#include "server/logger.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>

#include "policy/json_text.h"

namespace asmegress::server {

namespace {

// RFC 3339 in UTC with milliseconds: 2024-05-01T12:00:00.123Z. The part up to
// the seconds is formatted once a second per thread.
void append_timestamp(std::string& line) {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[32];
  thread_local std::size_t cached_length = 0;
  const auto now = std::chrono::system_clock::now();
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  if (seconds != cached_second) {
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    cached_length = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = seconds;
  }
  line += '"';
  line.append(cached, cached_length);
  line += '.';
  line += static_cast<char>('0' + millis / 100);
  line += static_cast<char>('0' + millis / 10 % 10);
  line += static_cast<char>('0' + millis % 10);
  line += "Z\"";
}

template <typename T>
void append_number(std::string& line, T number) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, number);
  line.append(text, result.ptr);
}

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warning:
      return "warning";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

}  // namespace

void LogField::append_to(std::string& line) const {
  line += ',';
  policy::append_json_string(line, key_);
  line += ':';
  switch (kind_) {
    case Kind::Text:
      policy::append_json_string(line, text_);
      break;
    case Kind::Bool:
      line += flag_ ? "true" : "false";
      break;
    case Kind::Signed:
      append_number(line, signed_);
      break;
    case Kind::Unsigned:
      append_number(line, unsigned_);
      break;
    case Kind::Double:
      // JSON has no infinity or NaN.
      if (std::isfinite(double_)) {
        append_number(line, double_);
      } else {
        line += "null";
      }
      break;
  }
}

Logger::Logger(std::ostream& out, int verbosity) : out_(out), verbosity_(verbosity) {}

void Logger::log(LogLevel level, std::string_view msg, LogFields fields) {
  if (!enabled(level)) return;
  thread_local std::string line;
  line.clear();
  line += R"({"ts":)";
  append_timestamp(line);
  line += R"(,"level":")";
  line += level_name(level);
  line += R"(","msg":)";
  policy::append_json_string(line, msg);
  for (const LogField& field : fields) field.append_to(line);
  line += "}\n";
  const std::lock_guard lock(mutex_);
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
  // A rare long line (a long error message) should not stay allocated.
  if (line.capacity() > 64 * 1024) line = std::string();
}

}  // namespace asmegress::server
