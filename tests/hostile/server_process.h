#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace asmegress::hostile {

// A server run as a child process: started with its arguments, its port read
// from its output, its memory read from /proc, stopped with SIGTERM.
class ServerProcess {
 public:
  // `port_marker` finds the port in the child's output: the helper prints
  // "port N"; the real executable logs "\"port\":N" in its JSON start-up line.
  ServerProcess(std::string program, std::vector<std::string> arguments, std::string log_file,
                bool port_on_stderr);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // The child's RLIMIT_NOFILE (soft, hard), set between fork and exec.
  void limit_open_files(std::size_t soft, std::size_t hard) { open_files_ = {soft, hard}; }

  // Empty on success, else why it did not start within `timeout`.
  std::string start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running();

  // VmRSS in KiB, 0 when unknown.
  long rss_kib() const;
  // VmHWM in KiB: the peak resident size since start or since reset_peak().
  long peak_kib() const;
  // Starts a new peak from the current resident size (/proc/PID/clear_refs).
  bool reset_peak() const;
  // User plus system CPU time the process has used so far.
  std::chrono::milliseconds cpu_time() const;

  // SIGTERM, then the exit status once it ends (nullopt if it did not end
  // within `timeout`, after which it is killed).
  std::optional<int> terminate(std::chrono::milliseconds timeout, std::chrono::milliseconds* took = nullptr);

  std::string log() const;

 private:
  std::string program_;
  std::vector<std::string> arguments_;
  std::string log_file_;
  bool port_on_stderr_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::optional<std::pair<std::size_t, std::size_t>> open_files_;
};

}  // namespace asmegress::hostile
