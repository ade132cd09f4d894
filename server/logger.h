#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>

namespace asmegress::server {

enum class LogLevel { Debug, Info, Warning, Error };

// Text fields longer than this are cut, with a note of how much is missing.
inline constexpr std::size_t kMaxLogFieldBytes = 4096;

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
// log pipelines in a cluster parse without configuration.
//
// The server logs every review, so a line must cost little on the request
// path: log() formats the line in the calling thread's buffer and appends it
// to a pending batch; a writer thread writes the batch once it is
// kBatchBytes or kBatchDelay old, so under load many lines share one write
// and one wake-up. flush() waits until everything logged is written;
// warnings and errors wait for their own line (they are rare and may precede
// an exit), but at most kWarningWait. If the output stalls, at most
// kMaxPendingBytes wait; lines beyond are dropped and counted, and a line
// says how many once the output moves again: a stuck log pipe must not stall
// admission.
class Logger {
 public:
  static constexpr std::size_t kMaxPendingBytes = 4 * 1024 * 1024;
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  static constexpr std::chrono::milliseconds kBatchDelay{20};
  // How long a warning or an error waits for its line to be written.
  static constexpr std::chrono::milliseconds kWarningWait{1000};

  // verbosity 0 logs info and above; 1 or more adds debug.
  Logger(std::ostream& out, int verbosity);
  // Writes what is pending.
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool enabled(LogLevel level) const { return level != LogLevel::Debug || verbosity_ > 0; }

  void log(LogLevel level, std::string_view msg, LogFields fields = {});
  void debug(std::string_view msg, LogFields fields = {}) {
    if (enabled(LogLevel::Debug)) log(LogLevel::Debug, msg, fields);
  }
  void info(std::string_view msg, LogFields fields = {}) { log(LogLevel::Info, msg, fields); }
  void warning(std::string_view msg, LogFields fields = {}) { log(LogLevel::Warning, msg, fields); }
  void error(std::string_view msg, LogFields fields = {}) { log(LogLevel::Error, msg, fields); }

  // Returns once every line logged before the call is written and flushed.
  void flush();

 private:
  void write_loop();
  // Waits until line `line_number` (0: every line so far) is written, at most
  // `limit`; false when the limit passed first.
  bool wait_written(std::uint64_t line_number, std::chrono::milliseconds limit);

  std::ostream& out_;
  int verbosity_;
  std::mutex mutex_;
  std::condition_variable wake_writer_;  // lines pending, or stopping
  std::condition_variable batch_written_;
  std::string pending_;
  std::uint64_t lines_appended_ = 0;
  std::uint64_t lines_written_ = 0;  // dropped ones count as written
  std::uint64_t lines_dropped_ = 0;  // since the last report
  int flush_waiters_ = 0;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace asmegress::server
