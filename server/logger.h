#pragma once

#include <mutex>
#include <ostream>
#include <string_view>

#include <boost/json/object.hpp>

namespace asmegress::server {

enum class LogLevel { Debug, Info, Warning, Error };

// One JSON object per line (ts, level, msg, then the given fields), the shape
// log pipelines in a cluster parse without configuration. Thread-safe: a line
// is written whole under a lock.
class Logger {
 public:
  // verbosity 0 logs info and above; 1 or more adds debug.
  Logger(std::ostream& out, int verbosity);

  bool enabled(LogLevel level) const { return level != LogLevel::Debug || verbosity_ > 0; }

  void log(LogLevel level, std::string_view msg, const boost::json::object& fields = {});
  void debug(std::string_view msg, const boost::json::object& fields = {}) {
    if (enabled(LogLevel::Debug)) log(LogLevel::Debug, msg, fields);
  }
  void info(std::string_view msg, const boost::json::object& fields = {}) {
    log(LogLevel::Info, msg, fields);
  }
  void warning(std::string_view msg, const boost::json::object& fields = {}) {
    log(LogLevel::Warning, msg, fields);
  }
  void error(std::string_view msg, const boost::json::object& fields = {}) {
    log(LogLevel::Error, msg, fields);
  }

 private:
  std::ostream& out_;
  int verbosity_;
  std::mutex mutex_;
};

}  // namespace asmegress::server
