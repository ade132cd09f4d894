#pragma once

#include <cstddef>

namespace asmegress::server {

// Descriptors the server keeps for itself besides its connections: the
// listener, epoll and its wake-ups, the log, certificate files being read,
// the API server's connections in self mode.
inline constexpr std::size_t reserved_descriptors = 64;

struct OpenFileLimit {
  std::size_t before = 0;  // the soft limit the process was started with
  std::size_t now = 0;     // the soft limit after raising it
};

// Raises the soft limit on open files to the hard one, as Go's runtime does
// since 1.19: runtimes such as containerd 2 start containers with a soft
// limit of 1024, below what --max-connections asks for. Returns both limits
// (0 where the limit cannot be read; RLIM_INFINITY as SIZE_MAX).
OpenFileLimit raise_open_file_limit();

// The connections the server can hold with `limit` open files: `wanted`, or
// fewer when the descriptors would run out first. At the limit the server
// makes room by closing an idle connection; once accept(2) fails for lack
// of descriptors, it cannot.
std::size_t connections_within(std::size_t wanted, std::size_t limit);

}  // namespace asmegress::server
