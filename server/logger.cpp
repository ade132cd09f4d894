#include "server/logger.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <string>
#include <utility>

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
      if (text_.size() <= kMaxLogFieldBytes) {
        policy::append_json_string(line, text_);
      } else {
        // Cut at a character boundary (not inside a UTF-8 sequence), and say
        // how much is missing: a review's uid or name can be megabytes long.
        std::size_t cut = kMaxLogFieldBytes;
        while (cut > 0 && (static_cast<unsigned char>(text_[cut]) & 0xC0U) == 0x80U) --cut;
        std::string shortened(text_.substr(0, cut));
        shortened += "... (";
        shortened += std::to_string(text_.size() - cut);
        shortened += " more bytes)";
        policy::append_json_string(line, shortened);
      }
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

namespace {

// Formats one line into `line` (cleared first).
void format_line(std::string& line, LogLevel level, std::string_view msg, LogFields fields) {
  line.clear();
  line += R"({"ts":)";
  append_timestamp(line);
  line += R"(,"level":")";
  line += level_name(level);
  line += R"(","msg":)";
  policy::append_json_string(line, msg);
  for (const LogField& field : fields) field.append_to(line);
  line += "}\n";
}

}  // namespace

Logger::Logger(std::ostream& out, int verbosity)
    : out_(out), verbosity_(verbosity), writer_([this] { write_loop(); }) {}

Logger::~Logger() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_one();
  writer_.join();
}

void Logger::log(LogLevel level, std::string_view msg, LogFields fields) {
  if (!enabled(level)) return;
  thread_local std::string line;
  format_line(line, level, msg, fields);
  bool wake = false;
  std::uint64_t line_number = 0;
  {
    const std::lock_guard lock(mutex_);
    line_number = ++lines_appended_;
    if (pending_.size() + line.size() > kMaxPendingBytes) {
      ++lines_dropped_;
      wake = true;  // so that the count is reported even if nothing follows
    } else {
      // The writer waits for the first line of a batch, then for a full one.
      wake = pending_.empty() ||
             (pending_.size() < kBatchBytes && pending_.size() + line.size() >= kBatchBytes);
      pending_ += line;
    }
  }
  if (wake) wake_writer_.notify_one();
  // A rare long line (a long error message) should not stay allocated.
  if (line.capacity() > 64 * 1024) line = std::string();
  // Warnings and errors wait for their line, but not for a stalled output:
  // they are logged on the I/O threads too.
  if (level == LogLevel::Warning || level == LogLevel::Error) {
    wait_written(line_number, kWarningWait);
  }
}

void Logger::flush() { wait_written(0, std::chrono::milliseconds::max()); }

bool Logger::wait_written(std::uint64_t line_number, std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = line_number == 0 ? lines_appended_ : line_number;
  if (lines_written_ >= target) return true;
  ++flush_waiters_;
  wake_writer_.notify_one();
  const auto done = [&] { return lines_written_ >= target || stopping_; };
  bool written = true;
  if (limit == std::chrono::milliseconds::max()) {
    batch_written_.wait(lock, done);
  } else {
    written = batch_written_.wait_for(lock, limit, done);
  }
  --flush_waiters_;
  return written;
}

void Logger::write_loop() {
  std::string batch;
  std::string notice;
  std::unique_lock lock(mutex_);
  for (;;) {
    // A batch may be only a count of dropped lines.
    wake_writer_.wait(lock, [&] { return lines_written_ != lines_appended_ || stopping_; });
    if (lines_written_ == lines_appended_) return;  // stopping, nothing left
    // Let the batch gather, so that under load many lines share one write
    // and one wake-up of this thread.
    wake_writer_.wait_for(lock, kBatchDelay, [&] {
      return stopping_ || flush_waiters_ > 0 || pending_.size() >= kBatchBytes;
    });
    batch.swap(pending_);
    const std::uint64_t lines = lines_appended_;
    const std::uint64_t dropped = std::exchange(lines_dropped_, 0);
    lock.unlock();
    if (dropped > 0) {
      format_line(notice, LogLevel::Warning, "log lines dropped: the log output did not keep up",
                  {{"dropped", dropped}});
      batch += notice;
    }
    out_.write(batch.data(), static_cast<std::streamsize>(batch.size()));
    out_.flush();
    batch.clear();
    if (batch.capacity() > 1024 * 1024) batch = std::string();
    lock.lock();
    lines_written_ = lines;
    batch_written_.notify_all();
  }
}

}  // namespace asmegress::server
