#include "server/open_files.h"

#include <sys/resource.h>

#include <cstdint>
#include <limits>

namespace asmegress::server {
namespace {

std::size_t as_size(rlim_t value) {
  if (value == RLIM_INFINITY || value > std::numeric_limits<std::size_t>::max()) {
    return std::numeric_limits<std::size_t>::max();
  }
  return static_cast<std::size_t>(value);
}

}  // namespace

OpenFileLimit raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  OpenFileLimit result{as_size(limit.rlim_cur), as_size(limit.rlim_cur)};
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) result.now = as_size(raised.rlim_cur);
  }
  return result;
}

std::size_t connections_within(std::size_t wanted, std::size_t limit) {
  if (limit == 0) return wanted;  // unknown: trust the flag
  const std::size_t room = limit > 2 * reserved_descriptors ? limit - reserved_descriptors : limit / 2;
  return wanted < room ? wanted : (room > 0 ? room : 1);
}

}  // namespace asmegress::server
