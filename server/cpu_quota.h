#pragma once

#include <filesystem>
#include <optional>

namespace asmegress::server {

// The CPUs the process's cgroup lets it use: its CPU quota over its period,
// rounded up (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us),
// the smallest along the cgroup's ancestors. Nullopt when no quota is set or
// none can be read. `root` is "/" but in tests.
std::optional<unsigned> cgroup_cpu_limit(const std::filesystem::path& root = "/");

// Worker threads when --threads is not given: the cgroup's CPU limit (a pod's
// `limits.cpu`, as automaxprocs gives Go programs), at most the cores, at
// least one. A 500m pod on a 32-core node runs one thread, not 32 parses at
// once in half a CPU.
unsigned default_thread_count(const std::filesystem::path& root = "/");

}  // namespace asmegress::server
