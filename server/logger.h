#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

namespace asmegress::server {

enum class LogLevel { Debug, Info, Warning, Error };

// One field of a log line: a key and a string, boolean or number. Holds views,
// so a line's fields are written without copying them first; build them in
// the call to log() (temporaries live until it returns).
class LogField {
 public:
  LogField(std::string_view key, std::string_view text) : key_(key), kind_(Kind::Text), text_(text) {}
  LogField(std::string_view key, const std::string& text) : LogField(key, std::string_view(text)) {}
  LogField(std::string_view key, const char* text) : LogField(key, std::string_view(text)) {}
  LogField(std::string_view key, bool flag) : key_(key), kind_(Kind::Bool), flag_(flag) {}
  template <std::signed_integral T>
  LogField(std::string_view key, T number)
      : key_(key), kind_(Kind::Signed), signed_(static_cast<std::int64_t>(number)) {}
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  LogField(std::string_view key, T number)
      : key_(key), kind_(Kind::Unsigned), unsigned_(static_cast<std::uint64_t>(number)) {}
  LogField(std::string_view key, double number) : key_(key), kind_(Kind::Double), double_(number) {}

  // Appends ,"key":value to a line being written.
  void append_to(std::string& line) const;

 private:
  enum class Kind { Text, Bool, Signed, Unsigned, Double };
  std::string_view key_;
  Kind kind_;
  union {
    std::string_view text_;
    bool flag_;
    std::int64_t signed_;
    std::uint64_t unsigned_;
    double double_;
  };
};

using LogFields = std::initializer_list<LogField>;

// One JSON object per line (ts, level, msg, then the given fields), the shape
// log pipelines in a cluster parse without configuration. Thread-safe: a line
// is written whole under a lock. A line costs no allocation once a thread has
// written one: the server logs every review.
class Logger {
 public:
  // verbosity 0 logs info and above; 1 or more adds debug.
  Logger(std::ostream& out, int verbosity);

  bool enabled(LogLevel level) const { return level != LogLevel::Debug || verbosity_ > 0; }

  void log(LogLevel level, std::string_view msg, LogFields fields = {});
  void debug(std::string_view msg, LogFields fields = {}) {
    if (enabled(LogLevel::Debug)) log(LogLevel::Debug, msg, fields);
  }
  void info(std::string_view msg, LogFields fields = {}) { log(LogLevel::Info, msg, fields); }
  void warning(std::string_view msg, LogFields fields = {}) { log(LogLevel::Warning, msg, fields); }
  void error(std::string_view msg, LogFields fields = {}) { log(LogLevel::Error, msg, fields); }

 private:
  std::ostream& out_;
  int verbosity_;
  std::mutex mutex_;
};

}  // namespace asmegress::server
