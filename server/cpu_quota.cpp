#include "server/cpu_quota.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asmegress::server {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<long long> to_number(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used != text.size()) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

unsigned cpus(long long quota, long long period) {
  return static_cast<unsigned>((quota + period - 1) / period);
}

// "50000 100000" (quota, period) or "max 100000".
std::optional<unsigned> v2_limit(const fs::path& directory) {
  const auto line = read_line(directory / "cpu.max");
  if (!line) return std::nullopt;
  std::istringstream fields(*line);
  std::string quota;
  std::string period;
  if (!(fields >> quota >> period) || quota == "max") return std::nullopt;
  const auto q = to_number(quota);
  const auto p = to_number(period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;
  return cpus(*q, *p);
}

std::optional<unsigned> v1_limit(const fs::path& directory) {
  const auto quota = read_line(directory / "cpu.cfs_quota_us");
  const auto period = read_line(directory / "cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  const auto q = to_number(*quota);
  const auto p = to_number(*period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;  // -1: no quota
  return cpus(*q, *p);
}

// The smallest limit from the cgroup's own directory up to the mount's root.
// Inside a container the mount is usually the container's own cgroup, whose
// path in /proc/self/cgroup may not exist under it: then only the root counts.
template <typename Read>
std::optional<unsigned> smallest_along(const fs::path& mount, const std::string& cgroup, Read read) {
  std::optional<unsigned> smallest;
  fs::path relative = fs::path(cgroup).relative_path();
  for (;;) {
    if (const auto limit = read(mount / relative)) {
      smallest = smallest ? std::min(*smallest, *limit) : *limit;
    }
    if (relative.empty()) break;
    relative = relative.parent_path();
  }
  return smallest;
}

}  // namespace

std::optional<unsigned> cgroup_cpu_limit(const fs::path& root) {
  std::ifstream in(root / "proc/self/cgroup");
  std::string line;
  std::optional<unsigned> limit;
  auto keep = [&limit](std::optional<unsigned> found) {
    if (found) limit = limit ? std::min(*limit, *found) : *found;
  };
  const fs::path cgroups = root / "sys/fs/cgroup";
  while (std::getline(in, line)) {
    // hierarchy-ID:controllers:path
    const auto first = line.find(':');
    const auto second = line.find(':', first == std::string::npos ? 0 : first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (controllers.empty()) {
      keep(smallest_along(cgroups, path, v2_limit));  // cgroup v2
      continue;
    }
    std::vector<std::string> names;
    std::istringstream list(controllers);
    for (std::string name; std::getline(list, name, ',');) names.push_back(name);
    if (std::find(names.begin(), names.end(), "cpu") == names.end()) continue;
    for (const fs::path& mount : {cgroups / controllers, cgroups / "cpu"}) {
      if (fs::exists(mount)) {
        keep(smallest_along(mount, path, v1_limit));
        break;
      }
    }
  }
  return limit;
}

unsigned default_thread_count(const fs::path& root) {
  unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0) cores = 1;
  const auto limit = cgroup_cpu_limit(root);
  if (!limit) return cores;
  return std::clamp(*limit, 1U, cores);
}

}  // namespace asmegress::server
