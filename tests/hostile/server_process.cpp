#include "tests/hostile/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>

namespace asmegress::hostile {

ServerProcess::ServerProcess(std::string program, std::vector<std::string> arguments,
                             std::string log_file, bool port_on_stderr)
    : program_(std::move(program)),
      arguments_(std::move(arguments)),
      log_file_(std::move(log_file)),
      port_on_stderr_(port_on_stderr) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string ServerProcess::start(std::chrono::milliseconds timeout) {
  const std::string stdout_file = log_file_ + ".out";
  pid_ = ::fork();
  if (pid_ < 0) return "fork failed";
  if (pid_ == 0) {
    const int out = ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0) ::_exit(127);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (open_files_) {
      const rlimit limit{open_files_->first, open_files_->second};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
    }
    std::vector<char*> argv;
    argv.push_back(program_.data());
    for (auto& argument : arguments_) argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::execv(program_.c_str(), argv.data());
    ::_exit(127);
  }
  const std::regex pattern(port_on_stderr_ ? R"("port":([0-9]+))" : R"(port ([0-9]+))");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_on_stderr_ ? log_file_ : stdout_file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string output = text.str();
    std::smatch match;
    if (std::regex_search(output, match, pattern)) {
      port_ = static_cast<std::uint16_t>(std::stoul(match[1].str()));
      return {};
    }
    if (!running()) return "the server exited: " + log();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "no port within the time limit: " + log();
}

bool ServerProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

namespace {

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return 0;
}

}  // namespace

long ServerProcess::rss_kib() const { return status_kib(pid_, "VmRSS:"); }

long ServerProcess::peak_kib() const { return status_kib(pid_, "VmHWM:"); }

bool ServerProcess::reset_peak() const {
  std::ofstream out("/proc/" + std::to_string(pid_) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::chrono::milliseconds ServerProcess::cpu_time() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at ") ".
  const auto close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  long long utime = 0;
  long long stime = 0;
  // state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return std::chrono::milliseconds((utime + stime) * 1000 / (ticks > 0 ? ticks : 100));
}

std::optional<int> ServerProcess::terminate(std::chrono::milliseconds timeout,
                                            std::chrono::milliseconds* took) {
  if (pid_ <= 0) return std::nullopt;
  const auto started = std::chrono::steady_clock::now();
  ::kill(pid_, SIGTERM);
  const auto deadline = started + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (took != nullptr) {
        *took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return std::nullopt;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_file_);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

}  // namespace asmegress::hostile
