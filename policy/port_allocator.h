#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "policy/field_error.h"
#include "policy/model.h"
#include "policy/settings.h"

namespace asmegress::policy {

// HTTP services all listen on one gateway port and are told apart by host;
// HTTPS and TCP services each get a port of their own from the range.
inline constexpr std::uint32_t kSharedHttpPort = 10000;
inline constexpr std::uint32_t kFirstAllocatedPort = 10001;
inline constexpr std::uint32_t kLastAllocatedPort = 20000;

struct PortAssignment {
  std::size_t rule_index = 0;
  std::size_t to_index = 0;
  std::uint32_t port = 0;
};

struct PortAllocation {
  std::vector<PortAssignment> assignments;  // in document order
  FieldErrors errors;                       // the range ran out
};

// The gateway ports to fill in, by the same rule ASM's own allocator follows:
// only when every to[] is blank (or, once the webhook has allocated for this
// object, for the blank ones), HTTP on 10000, and for HTTPS and TCP one port
// per distinct (hosts[0], port.number), the lowest free in 10001-20000 in
// document order, never a reserved port. On UPDATE a destination keeps the
// port `old_policy` gave it. A pure function of its inputs: every replica and
// every dry run computes the same ports.
PortAllocation allocate_ports(const Policy& policy, const Policy* old_policy,
                              const Settings& settings);

}  // namespace asmegress::policy
