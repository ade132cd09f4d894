#include "policy/port_allocator.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "policy/arena_allocator.h"
#include "policy/keyed_hash.h"
#include "policy/validate.h"

namespace asmegress::policy {
namespace {

using DestinationKey = std::pair<std::string_view, std::int64_t>;  // hosts[0], port.number
struct DestinationKeyHash {
  std::size_t operator()(const DestinationKey& k) const noexcept {
    return SipHash13{}(k.first) ^ (static_cast<std::size_t>(k.second) * 0x9E3779B97F4A7C15ULL);
  }
};
// In the arena of the policy's review, like the policy; sized once, since
// the arena does not reuse what a rehash gives back. Every step costs the
// same however many destinations there are: the allocation is linear in them.
using Ports = ArenaHashSet<std::uint32_t>;
using PortsByKey = ArenaHashMap<DestinationKey, std::uint32_t, DestinationKeyHash>;

enum class Protocol { Http, Dedicated, Unknown };

Protocol protocol_of(const Destination& d) {
  if (!d.port.protocol.has()) return Protocol::Unknown;
  const std::string_view p = *d.port.protocol.value;
  if (p == "HTTP") return Protocol::Http;
  if (p == "HTTPS" || p == "TCP") return Protocol::Dedicated;
  return Protocol::Unknown;
}

std::optional<DestinationKey> key_of(const Destination& d) {
  if (d.hosts.empty() || !d.hosts.front() || !d.port.number.has()) return std::nullopt;
  return DestinationKey{*d.hosts.front(), *d.port.number.value};
}

std::optional<std::uint32_t> usable_port(const Destination& d, const Settings& settings) {
  if (d.gateway_port_blank() || !d.gateway.port.has()) return std::nullopt;
  const std::int64_t port = *d.gateway.port.value;
  if (port < 1 || port > kMaxPort) return std::nullopt;
  const auto p = static_cast<std::uint32_t>(port);
  if (settings.reserved_ports.contains(p)) return std::nullopt;
  return p;
}

bool allocation_applies(const Policy& policy, const Policy* old_policy) {
  std::size_t blank = 0;
  std::size_t set = 0;
  for (const auto& r : policy.rules) {
    for (const auto& d : r.to) {
      switch (d.gateway_port()) {
        case GatewayPort::Blank: ++blank; break;
        case GatewayPort::Set: ++set; break;
        // A broken entry might have been meant to carry a port: guessing
        // would hide the mistake, so the object is left for validation.
        case GatewayPort::Malformed: return false;
      }
    }
  }
  if (blank == 0) return false;
  if (set == 0) return true;
  // A mixed object is the user's mistake unless the webhook allocated before:
  // then it is an update that added entries and left their ports to us.
  return policy.ports_auto_allocated ||
         (old_policy != nullptr && old_policy->ports_auto_allocated);
}

}  // namespace

PortAllocation allocate_ports(const Policy& policy, const Policy* old_policy,
                              const Settings& settings) {
  PortAllocation out;
  if (!allocation_applies(policy, old_policy)) return out;

  std::size_t destinations = 0;
  for (const auto& r : policy.rules) destinations += r.to.size();
  std::size_t old_destinations = 0;
  if (old_policy != nullptr) {
    for (const auto& r : old_policy->rules) old_destinations += r.to.size();
  }
  const ArenaAllocator<char> allocator(policy.rules.get_allocator());
  Ports used(allocator);
  PortsByKey assigned(allocator);
  used.reserve(destinations);
  assigned.reserve(destinations);
  // Ports the object already sets stay as they are; blank entries for the
  // same destination share them.
  for (const auto& r : policy.rules) {
    for (const auto& d : r.to) {
      const auto port = usable_port(d, settings);
      if (!port) continue;
      used.insert(*port);
      if (protocol_of(d) != Protocol::Dedicated) continue;
      if (auto key = key_of(d)) assigned.emplace(*key, *port);
    }
  }

  PortsByKey previous(allocator);
  if (old_policy != nullptr) {
    previous.reserve(old_destinations);
    for (const auto& r : old_policy->rules) {
      for (const auto& d : r.to) {
        const auto port = usable_port(d, settings);
        const auto key = key_of(d);
        if (port && key && protocol_of(d) == Protocol::Dedicated) previous.emplace(*key, *port);
      }
    }
  }

  // Destinations that survive an update keep their ports before any new one
  // is handed out, so that a new entry earlier in the document cannot take
  // the port of an existing one.
  for (const auto& r : policy.rules) {
    for (const auto& d : r.to) {
      if (!d.gateway_port_blank() || protocol_of(d) != Protocol::Dedicated) continue;
      const auto key = key_of(d);
      if (!key || assigned.contains(*key)) continue;
      const auto it = previous.find(*key);
      if (it == previous.end() || used.contains(it->second)) continue;
      used.insert(it->second);
      assigned.emplace(*key, it->second);
    }
  }

  out.assignments.reserve(destinations);
  // The lowest free port only ever rises: over all entries, the search
  // passes each port of the range once.
  std::uint32_t next = kFirstAllocatedPort;
  for (const auto& r : policy.rules) {
    for (const auto& d : r.to) {
      if (!d.gateway_port_blank()) continue;
      const Protocol protocol = protocol_of(d);
      if (protocol == Protocol::Http) {
        out.assignments.push_back({d.rule_index, d.to_index, kSharedHttpPort});
        continue;
      }
      const auto key = key_of(d);
      if (protocol != Protocol::Dedicated || !key) continue;  // validation says why
      if (auto it = assigned.find(*key); it != assigned.end()) {
        out.assignments.push_back({d.rule_index, d.to_index, it->second});
        continue;
      }
      while (next <= kLastAllocatedPort &&
             (used.contains(next) || settings.reserved_ports.contains(next))) {
        ++next;
      }
      if (next > kLastAllocatedPort) {
        out.errors.report([&] {
          return FieldError::forbidden(d.path().child("byEgressGateway").child("port"),
                                       "no free gateway port left in " +
                                           std::to_string(kFirstAllocatedPort) + "-" +
                                           std::to_string(kLastAllocatedPort) + " to assign");
        });
        continue;
      }
      used.insert(next);
      assigned.emplace(*key, next);
      out.assignments.push_back({d.rule_index, d.to_index, next});
    }
  }
  return out;
}

}  // namespace asmegress::policy
