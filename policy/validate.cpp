#include "policy/validate.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include <boost/json/value.hpp>

#include "policy/keyed_hash.h"
#include "policy/names.h"

namespace asmegress::policy {
namespace {

constexpr std::array<std::string_view, 3> kProtocols{"HTTP", "HTTPS", "TCP"};

bool known_protocol(const Field<std::string_view>& p) {
  return p.has() && std::find(kProtocols.begin(), kProtocols.end(), *p.value) != kProtocols.end();
}

// Absent, null or "": a required string that was not given.
bool blank(const Field<std::string_view>& f) { return !f.present || (f.has() && f.value->empty()); }

// The API server passes warnings on verbatim; Kubernetes asks for short ones.
std::string shortened(std::string text) {
  if (text.size() > kMaxWarningLength) {
    text.resize(kMaxWarningLength - 3);
    text += "...";
  }
  return text;
}

// The hosts an entry's sharing of a gateway port is checked with: at most
// the first kMaxHosts (an entry with more is invalid anyway), none of the
// wrong type.
template <typename Visit>
void for_each_host(const Destination& d, Visit&& visit) {
  for (const auto& host : d.hosts) {
    if (host) visit(*host);
  }
}

// In document order.
bool before(const Destination* a, const Destination* b) {
  return a->rule_index < b->rule_index ||
         (a->rule_index == b->rule_index && a->to_index < b->to_index);
}
const Destination* earliest(const Destination* a, const Destination* b) {
  if (a == nullptr) return b;
  if (b == nullptr) return a;
  return before(a, b) ? a : b;
}

// The first entries met that use a port, or a host on a port: the first of
// all, and the first whose destination differs from the first's. Whatever
// destination a later entry has, the earliest of the two that is not that
// destination is the earliest of all that are not.
struct FirstUsers {
  const Destination* first = nullptr;
  const Destination* other = nullptr;
};

class PolicyValidator {
 public:
  PolicyValidator(const Policy& p, const Settings& settings, FieldErrors& errors,
                  Warnings& warnings)
      : settings_(settings),
        errors_(errors),
        warnings_(warnings),
        names_(ArenaAllocator<std::string_view>(p.rules.get_allocator())) {}

  void run(const Policy& p) {
    type_meta(p);
    const bool gateway_ok = gateway(p);
    metadata(p, gateway_ok);
    rules(p);
  }

 private:
  void type_meta(const Policy& p) {
    static constexpr std::array<std::string_view, 1> versions{kApiVersion};
    static constexpr std::array<std::string_view, 1> kinds{kKind};
    if (!p.api_version.present) {
      report([&] { return FieldError::required(FieldPath("apiVersion")); });
    } else if (p.api_version.has() && *p.api_version.value != kApiVersion) {
      report([&] {
        return FieldError::not_supported(FieldPath("apiVersion"),
                                         boost::json::value(*p.api_version.value), versions);
      });
    }
    if (!p.kind.present) {
      report([&] { return FieldError::required(FieldPath("kind")); });
    } else if (p.kind.has() && *p.kind.value != kKind) {
      report([&] {
        return FieldError::not_supported(FieldPath("kind"), boost::json::value(*p.kind.value),
                                         kinds);
      });
    }
  }

  // Returns whether the gateway name is usable for the name rule.
  bool gateway(const Policy& p) {
    const FieldPath spec("spec");
    if (p.spec_presence != Presence::Present) {
      if (p.spec_presence == Presence::Absent) report([&] { return FieldError::required(spec); });
      return false;
    }
    const FieldPath path = spec.child("byEgressGateway");
    if (p.gateway.presence != Presence::Present) {
      if (p.gateway.presence == Presence::Absent) {
        report([&] {
          return FieldError::required(path, "the egress gateway this policy configures");
        });
      }
      return false;
    }
    if (p.gateway.port.present) {
      report([&] {
        return FieldError::forbidden(path.child("port"),
                                     "gateway ports are set on each spec.egressRules[].to[] entry");
      });
    }
    const FieldPath name_path = path.child("name");
    const auto& name = p.gateway.name;
    if (blank(name)) {
      report([&] { return FieldError::required(name_path); });
      return false;
    }
    if (!name.has()) return false;
    if (name.value->size() > kMaxGatewayNameLength) {
      report([&] {
        return FieldError{
            ErrorType::TooLong, name_path.str(), std::nullopt,
            "may not be more than " + std::to_string(kMaxGatewayNameLength) + " characters"};
      });
      return false;
    }
    if (auto e = dns1123_label_error(*name.value); !e.empty()) {
      report([&] { return FieldError::invalid(name_path, *name.value, std::string(e)); });
      return false;
    }
    return true;
  }

  void metadata(const Policy& p, bool gateway_ok) {
    const FieldPath meta("metadata");
    const FieldPath ns_path = meta.child("namespace");
    if (blank(p.namespace_name)) {
      report([&] {
        return FieldError::required(
            ns_path, "policies live in namespace " + quote(settings_.policy_namespace));
      });
    } else if (p.namespace_name.has() && *p.namespace_name.value != settings_.policy_namespace) {
      report([&] {
        return FieldError::invalid(
            ns_path, *p.namespace_name.value,
            "policies must be created in namespace " + quote(settings_.policy_namespace));
      });
    }

    const bool has_name = p.name.has() && !p.name.value->empty();
    const bool has_generate_name = p.generate_name.has() && !p.generate_name.value->empty();
    if (!has_name && !has_generate_name) {
      if (!p.name.present || p.name.has()) {
        report([&] { return FieldError::required(meta.child("name")); });
      }
      return;
    }
    if (!gateway_ok) return;
    const std::string expected = expected_policy_name(settings_, *p.gateway.name.value);
    if (!has_name) {
      // The API server appends a random suffix to generateName, so the result
      // can never be the one name the convention allows.
      report([&] {
        return FieldError::forbidden(
            meta.child("generateName"),
            "a generated name cannot match the gateway; set metadata.name to " + quote(expected));
      });
    } else if (*p.name.value != expected) {
      report([&] {
        return FieldError::invalid(
            meta.child("name"), *p.name.value,
            "must be " + quote(expected) + " to match spec.byEgressGateway.name");
      });
    }
  }

  void rules(const Policy& p) {
    if (p.spec_presence != Presence::Present) return;
    if (missing(p.rules_presence, p.rules.empty())) {
      report([&] {
        return FieldError::required(FieldPath("spec").child("egressRules"), "at least one rule");
      });
    }
    std::size_t with_port = 0;
    std::size_t blank = 0;
    std::size_t destinations = 0;
    for (const auto& r : p.rules) destinations += r.to.size();
    names_.reserve(destinations);
    for (const auto& r : p.rules) {
      if (r.presence == Presence::Present) rule(r);
      for (const auto& d : r.to) {
        if (d.gateway_port() == GatewayPort::Blank) ++blank;
        if (d.gateway_port() == GatewayPort::Set) ++with_port;
      }
    }
    if (with_port > 0 && blank > 0) {
      for (const auto& r : p.rules) {
        for (const auto& d : r.to) {
          if (!d.gateway_port_blank()) continue;
          report([&] {
            return FieldError::required(
                d.path().child("byEgressGateway").child("port"),
                "set a gateway port on every entry, or on none to have them assigned");
          });
        }
      }
    }
    sharing(p);
  }

  void rule(const EgressRule& r) {
    if (missing(r.from_presence, r.from.empty())) {
      report([&] { return FieldError::required(r.path().child("from"), "at least one source"); });
    }
    for (const auto& s : r.from) {
      if (s.presence == Presence::Present) source(s);
    }
    if (missing(r.to_presence, r.to.empty())) {
      report(
          [&] { return FieldError::required(r.path().child("to"), "at least one destination"); });
    }
    // An entry of the wrong type has its error; checking its absent fields
    // would only repeat it.
    for (const auto& d : r.to) {
      if (d.presence == Presence::Present) destination(d);
    }
  }

  // Reports a required DNS-1123 label that is missing or malformed; true when
  // it is a valid one. (A value of the wrong type was reported by decoding.)
  bool required_label(const Field<std::string_view>& f, const FieldPath& path) {
    if (blank(f)) {
      report([&] { return FieldError::required(path); });
      return false;
    }
    if (!f.has()) return false;
    if (auto e = dns1123_label_error(*f.value); !e.empty()) {
      report([&] { return FieldError::invalid(path, *f.value, std::string(e)); });
      return false;
    }
    return true;
  }

  void source(const Source& s) {
    const FieldPath path = s.path();
    required_label(s.namespace_name, path.child("namespace"));
    const FieldPath selector_path = path.child("workloadSelector");
    for (const auto& label : s.selector) {
      // Not a structured binding: clang 14 cannot capture one in a lambda.
      const std::string_view key = label.first;
      const auto& value = label.second;
      if (auto e = label_key_error(key); !e.empty()) {
        report([&] { return FieldError::invalid(selector_path, key, std::string(e)); });
      }
      if (!value) continue;
      if (auto e = label_value_error(*value); !e.empty()) {
        report([&] { return FieldError::invalid(selector_path.key(key), *value, std::string(e)); });
      }
    }
  }

  void destination(const Destination& d) {
    const FieldPath entry = d.path();
    const FieldPath name_path = entry.child("name");
    if (required_label(d.name, name_path) && !names_.insert(*d.name.value).second) {
      report([&] { return FieldError::duplicate(name_path, *d.name.value); });
    }
    const bool http_like = d.port.protocol.has() && (*d.port.protocol.value == "HTTP" ||
                                                      *d.port.protocol.value == "HTTPS");
    hosts(d, entry, http_like);
    service_port(d, entry);
    gateway_port(d, entry);
    https_upgrade(d, entry);
  }

  // `entry` is d.path().
  void hosts(const Destination& d, const FieldPath& entry, bool wildcard_allowed) {
    const FieldPath path = entry.child("hosts");
    if (missing(d.hosts_presence, d.host_count == 0)) {
      report([&] { return FieldError::required(path, "at least one host"); });
    }
    if (d.host_count > kMaxHosts) {
      report([&] { return FieldError::too_many(path, d.host_count, kMaxHosts); });
    }
    // Past the limit one TooMany says it all: an error per host would let a
    // request of repeated hosts grow into an answer many times its size.
    // Decoding keeps no more.
    const std::array<bool, kMaxHosts> repeated = repeated_hosts(d);
    bool any_domain = false;
    for (std::size_t k = 0; k < d.hosts.size(); ++k) {
      if (!d.hosts[k]) continue;
      const std::string_view host = *d.hosts[k];
      const FieldPath host_path = path.index(k);
      if (repeated[k]) {
        report([&] { return FieldError::duplicate(host_path, host); });
        continue;
      }
      if (is_ip_address(host)) continue;
      any_domain = true;
      std::string_view domain = host;
      if (domain.starts_with("*.")) {
        if (!wildcard_allowed && known_protocol(d.port.protocol)) {
          report([&] {
            return FieldError::invalid(
                host_path, host, "wildcard hosts are only allowed for HTTP and HTTPS services");
          });
          continue;
        }
        domain.remove_prefix(2);
      }
      if (auto e = dns1123_subdomain_error(domain); !e.empty()) {
        report([&] {
          return FieldError::invalid(
              host_path, host, "must be an IP address or a lowercase DNS name: " + std::string(e));
        });
      }
    }
    if (any_domain && d.port.protocol.has() && *d.port.protocol.value == "TCP") {
      warn([&] {
        return entry.str() + ": TCP to a domain name needs ASM's DNS proxy to be enabled";
      });
    }
    if (d.host_count > 1) {
      warn([&] { return path.str() + ": all hosts of one entry must resolve to the same IP"; });
    }
  }

  // Which of the hosts kept repeat an earlier one of the entry: sorted on the
  // stack, with no allocation, for the one or two hosts most entries have
  // and the fifty they may have.
  static std::array<bool, kMaxHosts> repeated_hosts(const Destination& d) {
    std::array<bool, kMaxHosts> repeated{};
    if (d.hosts.size() < 2) return repeated;
    std::array<std::pair<std::string_view, std::size_t>, kMaxHosts> sorted;
    std::size_t n = 0;
    for (std::size_t k = 0; k < d.hosts.size(); ++k) {
      if (d.hosts[k]) sorted[n++] = {*d.hosts[k], k};
    }
    std::sort(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::size_t i = 1; i < n; ++i) {
      if (sorted[i].first == sorted[i - 1].first) repeated[sorted[i].second] = true;
    }
    return repeated;
  }

  void port_number(const Field<std::int64_t>& f, const FieldPath& path) {
    if (f.has() && (*f.value < 1 || *f.value > kMaxPort)) {
      report([&] { return FieldError::invalid(path, *f.value, "must be between 1 and 65535"); });
    }
  }

  void service_port(const Destination& d, const FieldPath& entry) {
    const FieldPath path = entry.child("port");
    if (d.port_presence != Presence::Present) {
      if (d.port_presence == Presence::Absent) report([&] { return FieldError::required(path); });
      return;
    }
    if (blank(d.port.name)) {
      report([&] { return FieldError::required(path.child("name")); });
    }
    if (!d.port.number.present) report([&] { return FieldError::required(path.child("number")); });
    port_number(d.port.number, path.child("number"));
    const FieldPath protocol_path = path.child("protocol");
    if (!d.port.protocol.present) {
      report([&] { return FieldError::required(protocol_path, "one of HTTP, HTTPS, TCP"); });
    } else if (d.port.protocol.has() && !known_protocol(d.port.protocol)) {
      report([&] {
        return FieldError::not_supported(protocol_path, boost::json::value(*d.port.protocol.value),
                                         kProtocols);
      });
    }
  }

  void gateway_port(const Destination& d, const FieldPath& entry) {
    const FieldPath path = entry.child("byEgressGateway");
    if (d.gateway.name.present) {
      report([&] {
        return FieldError::forbidden(path.child("name"),
                                     "the gateway is named once, in spec.byEgressGateway.name");
      });
    }
    if (d.gateway_port() != GatewayPort::Set || !d.gateway.port.has()) return;
    const std::int64_t port = *d.gateway.port.value;
    const FieldPath port_path = path.child("port");
    if (port < 1 || port > kMaxPort) {
      report([&] { return FieldError::invalid(port_path, port, "must be between 1 and 65535"); });
    } else if (settings_.reserved_ports.contains(static_cast<std::uint32_t>(port))) {
      report([&] {
        return FieldError::invalid(port_path, port,
                                   "is reserved for the Istio proxy on the gateway");
      });
    }
  }

  void https_upgrade(const Destination& d, const FieldPath& entry) {
    if (d.https_upgrade.presence != Presence::Present) return;
    const FieldPath path = entry.child("httpsUpgrade");
    if (d.port.protocol.has() && *d.port.protocol.value != "HTTP") {
      report([&] {
        return FieldError::forbidden(path, "only HTTP services can be upgraded to HTTPS");
      });
      return;
    }
    const auto& enabled = d.https_upgrade.enabled;
    if (!enabled.present) {
      report([&] { return FieldError::required(path.child("enabled")); });
      return;
    }
    if (!enabled.has()) return;
    const FieldPath port_path = path.child("port");
    if (*enabled.value) {
      if (!d.https_upgrade.port.present) report([&] { return FieldError::required(port_path); });
      port_number(d.https_upgrade.port, port_path);
    } else if (d.https_upgrade.port.present) {
      warn([&] { return port_path.str() + ": ignored while httpsUpgrade.enabled is false"; });
    }
  }

  // Entries that share a gateway port must be told apart by the gateway:
  // HTTP and HTTPS by host, TCP not at all. An entry conflicts with the
  // earliest entry before it on its port that is another destination and
  // either is TCP, or has another protocol, or shares a host with it. Found
  // through the first users of each port, of each protocol on it and of each
  // host on it, so that the check costs the same for every entry, however
  // many share its port.
  void sharing(const Policy& p) {
    std::size_t entries = 0;
    std::size_t host_uses = 0;
    for (const auto& r : p.rules) {
      for (const auto& d : r.to) {
        if (!shares(d)) continue;
        ++entries;
        host_uses += d.hosts.size();
      }
    }
    if (entries == 0) return;
    const ArenaAllocator<char> allocator(p.rules.get_allocator());
    ArenaHashMap<std::int64_t, PortUsers> ports(allocator);
    ArenaHashMap<PortHost, FirstUsers, PortHostHash> hosts_on_ports(allocator);
    // Reserved once: the arena does not reuse what a rehash gives back.
    ports.reserve(entries);
    hosts_on_ports.reserve(host_uses);
    for (const auto& r : p.rules) {
      for (const auto& d : r.to) {
        if (!shares(d)) continue;
        const std::int64_t port = *d.gateway.port.value;
        PortUsers& users = ports[port];
        const Destination* conflict = first_conflict(d, users, port, hosts_on_ports);
        if (conflict != nullptr) {
          report([&] {
            return FieldError::invalid(d.path().child("byEgressGateway").child("port"), port,
                                       conflict_detail(d, *conflict));
          });
        }
        add_user(users.all, d);
        const Destination*& of_protocol = users.by_protocol[protocol_slot(d)];
        if (of_protocol == nullptr) of_protocol = &d;
        for_each_host(d, [&](std::string_view host) {
          add_user(hosts_on_ports[PortHost{port, host}], d);
        });
      }
    }
  }

  // Whether an entry takes part in the sharing check.
  static bool shares(const Destination& d) {
    return d.gateway_port() == GatewayPort::Set && d.gateway.port.has() &&
           known_protocol(d.port.protocol) && !d.hosts.empty() && d.hosts.front();
  }

  struct PortUsers {
    FirstUsers all;
    std::array<const Destination*, kProtocols.size()> by_protocol{};
  };
  using PortHost = std::pair<std::int64_t, std::string_view>;
  struct PortHostHash {
    std::size_t operator()(const PortHost& k) const noexcept {
      return SipHash13{}(k.second) ^ (static_cast<std::size_t>(k.first) * 0x9E3779B97F4A7C15ULL);
    }
  };

  static std::size_t protocol_slot(const Destination& d) {
    return static_cast<std::size_t>(
        std::find(kProtocols.begin(), kProtocols.end(), *d.port.protocol.value) -
        kProtocols.begin());
  }

  static bool same_destination(const Destination& a, const Destination& b) {
    return *a.port.protocol.value == *b.port.protocol.value &&
           *a.hosts.front() == *b.hosts.front() && a.port.number.value == b.port.number.value;
  }

  static void add_user(FirstUsers& users, const Destination& d) {
    if (users.first == nullptr) {
      users.first = &d;
    } else if (users.other == nullptr && !same_destination(*users.first, d)) {
      users.other = &d;
    }
  }

  // The earliest of `users` that is another destination than d.
  static const Destination* other_than(const FirstUsers& users, const Destination& d) {
    if (users.first != nullptr && !same_destination(*users.first, d)) return users.first;
    return users.other;
  }

  static const Destination* first_conflict(
      const Destination& d, const PortUsers& users, std::int64_t port,
      const ArenaHashMap<PortHost, FirstUsers, PortHostHash>& hosts_on_ports) {
    // Every other destination, for a TCP entry.
    if (*d.port.protocol.value == "TCP") return other_than(users.all, d);
    // Any entry of another protocol is another destination.
    const Destination* conflict = nullptr;
    const std::size_t own = protocol_slot(d);
    for (std::size_t slot = 0; slot < users.by_protocol.size(); ++slot) {
      if (slot != own) conflict = earliest(conflict, users.by_protocol[slot]);
    }
    for_each_host(d, [&](std::string_view host) {
      const auto it = hosts_on_ports.find(PortHost{port, host});
      if (it != hosts_on_ports.end()) conflict = earliest(conflict, other_than(it->second, d));
    });
    return conflict;
  }

  // Why d may not share its port with `e`, the entry first_conflict found.
  static std::string conflict_detail(const Destination& d, const Destination& e) {
    const std::string_view protocol = *d.port.protocol.value;
    const std::string_view other = *e.port.protocol.value;
    if (protocol == "TCP" || other == "TCP") {
      return "already used by " + e.path().str() +
             "; a TCP service needs a gateway port of its own";
    }
    if (protocol != other) {
      return "already used by " + e.path().str() + " (" + std::string(other) +
             "); entries sharing a gateway port must have the same protocol";
    }
    // The first host of d that e has: at most fifty by fifty.
    for (const auto& host : d.hosts) {
      if (host && std::find(e.hosts.begin(), e.hosts.end(), host) != e.hosts.end()) {
        return "already used by " + e.path().str() + " for host " + quote(*host) +
               "; entries sharing a gateway port must not share a host";
      }
    }
    return "already used by " + e.path().str();  // not reached: e shares a host
  }

  template <typename Make>
  void report(Make&& make) {
    errors_.report(std::forward<Make>(make));
  }
  template <typename Make>
  void warn(Make&& make) {
    warnings_.report([&] { return shortened(make()); });
  }

  const Settings& settings_;
  FieldErrors& errors_;
  Warnings& warnings_;
  ArenaHashSet<std::string_view, SipHash13> names_;
};

}  // namespace

std::string expected_policy_name(const Settings& settings, std::string_view gateway) {
  if (settings.name_rule == NameRule::Literal) return std::string(gateway);
  return "egress-by-" + std::string(gateway);
}

void validate(const Policy& policy, const Settings& settings, FieldErrors& errors,
              Warnings& warnings) {
  PolicyValidator(policy, settings, errors, warnings).run(policy);
}

}  // namespace asmegress::policy
