// Every field of a decoded Policy as text, one per line, so that two decodings
// of the same object (a DOM through decode_policy, the parser's events
// through PolicyStream) can be compared whole, and a difference read.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "policy/model.h"

namespace asmegress::policy::testing {

namespace policy_text_detail {

template <typename T>
void put(std::ostringstream& out, std::string_view name, const Field<T>& f) {
  out << name << '=';
  if (!f.present) {
    out << "absent";
  } else if (!f.value) {
    out << "wrong-type";
  } else {
    out << '[' << *f.value << ']';
  }
  out << ' ';
}

inline void put(std::ostringstream& out, std::string_view name, Presence p) {
  out << name << '=' << static_cast<int>(p) << ' ';
}

inline void put(std::ostringstream& out, std::string_view name, Member m) {
  out << name << '=' << static_cast<int>(m) << ' ';
}

inline void put(std::ostringstream& out, std::string_view name, const GatewayRef& g) {
  put(out, name, g.presence);
  put(out, "name", g.name);
  put(out, "port", g.port);
}

}  // namespace policy_text_detail

inline std::string policy_text(const Policy& p) {
  using policy_text_detail::put;
  std::ostringstream out;
  out << std::boolalpha;
  put(out, "object", p.presence);
  put(out, "apiVersion", p.api_version);
  put(out, "kind", p.kind);
  put(out, "name", p.name);
  put(out, "generateName", p.generate_name);
  put(out, "namespace", p.namespace_name);
  out << "\nauto=" << p.ports_auto_allocated << " deleting=" << p.deleting << ' ';
  put(out, "metadata", p.metadata_member);
  put(out, "annotations", p.annotations_member);
  out << "marker=" << p.allocation_marker_member << " metadataFirst=" << p.metadata_before_spec
      << ' ';
  put(out, "spec", p.spec_presence);
  put(out, "gateway", p.gateway);
  put(out, "rules", p.rules_presence);
  out << "count=" << p.rules.size() << '\n';
  for (const EgressRule& r : p.rules) {
    out << r.path().str() << ' ';
    put(out, "presence", r.presence);
    put(out, "name", r.name);
    put(out, "from", r.from_presence);
    put(out, "to", r.to_presence);
    out << '\n';
    for (const Source& s : r.from) {
      out << "  " << s.path().str() << ' ';
      put(out, "presence", s.presence);
      put(out, "namespace", s.namespace_name);
      out << "selector=";
      for (const auto& [key, value] : s.selector) {
        out << '[' << key << "]=" << (value ? "[" + std::string(*value) + "]" : "wrong-type")
            << ',';
      }
      out << '\n';
    }
    for (const Destination& d : r.to) {
      out << "  " << d.path().str() << ' ' << d.rule_index << '/' << d.to_index << ' ';
      put(out, "presence", d.presence);
      put(out, "name", d.name);
      put(out, "hosts", d.hosts_presence);
      out << "hostCount=" << d.host_count << ' ';
      for (const auto& host : d.hosts) out << (host ? "[" + std::string(*host) + "]" : "wrong-type") << ',';
      out << ' ';
      put(out, "port", d.port_presence);
      put(out, "portName", d.port.name);
      put(out, "number", d.port.number);
      put(out, "protocol", d.port.protocol);
      put(out, "gateway", d.gateway);
      put(out, "upgrade", d.https_upgrade.presence);
      put(out, "enabled", d.https_upgrade.enabled);
      put(out, "upgradePort", d.https_upgrade.port);
      put(out, "gatewayMember", d.gateway_member);
      out << "gatewayPortMember=" << d.gateway_port_member << '\n';
    }
  }
  return out.str();
}

}  // namespace asmegress::policy::testing
