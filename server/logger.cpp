#include "server/logger.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <boost/json/serialize.hpp>

namespace asmegress::server {

namespace {

// RFC 3339 in UTC with milliseconds: 2024-05-01T12:00:00.123Z.
std::string timestamp_now() {
  const auto now = std::chrono::system_clock::now();
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char full[48];
  std::snprintf(full, sizeof full, "%.*s.%03dZ", static_cast<int>(length), text,
                static_cast<int>(millis));
  return full;
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

Logger::Logger(std::ostream& out, int verbosity) : out_(out), verbosity_(verbosity) {}

void Logger::log(LogLevel level, std::string_view msg, const boost::json::object& fields) {
  if (!enabled(level)) return;
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["ts"] = timestamp_now();
  line["level"] = level_name(level);
  line["msg"] = msg;
  for (const auto& field : fields) line[field.key()] = field.value();
  std::string text = boost::json::serialize(line);
  text += '\n';
  const std::lock_guard lock(mutex_);
  out_ << text;
  out_.flush();
}

}  // namespace asmegress::server
