// validate_policy against policy/README.md, one table row per rule case: a fixture
// and an edit in, the exact list of {ErrorType, field} out (cert-manager's
// certificate_test.go style). The base fixture, policies/explicit-ports.json, is
// valid and earns no warnings:
//   to[0] example-http   HTTP  www.example.com:80  gateway port 10000
//   to[1] example-https  HTTPS api.example.com:443 gateway port 10001
//   to[2] database-tcp   TCP   10.0.0.1:5432       gateway port 10002

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

using ::testing::UnorderedElementsAreArray;

constexpr ErrorType kRequired = ErrorType::Required;
constexpr ErrorType kInvalid = ErrorType::Invalid;
constexpr ErrorType kNotSupported = ErrorType::NotSupported;
constexpr ErrorType kDuplicate = ErrorType::Duplicate;
constexpr ErrorType kForbidden = ErrorType::Forbidden;
constexpr ErrorType kTooLong = ErrorType::TooLong;
constexpr ErrorType kTooMany = ErrorType::TooMany;

const std::string T0 = "/spec/egressRules/0/to/0";
const std::string T1 = "/spec/egressRules/0/to/1";
const std::string T2 = "/spec/egressRules/0/to/2";
const std::string F0 = "/spec/egressRules/0/from/0";
const std::string t0 = "spec.egressRules[0].to[0]";
const std::string t1 = "spec.egressRules[0].to[1]";
const std::string t2 = "spec.egressRules[0].to[2]";
const std::string f0 = "spec.egressRules[0].from[0]";

Settings literal_names() {
  Settings s;
  s.name_rule = NameRule::Literal;
  return s;
}

Settings namespace_setting(std::string ns) {
  Settings s;
  s.policy_namespace = std::move(ns);
  return s;
}

Settings reserving(std::uint32_t port) {
  Settings s;
  s.reserved_ports.insert(port);
  return s;
}

std::string label(std::size_t n) { return std::string(n, 'g'); }

json hosts(std::size_t n) {
  json out = json::array();
  for (std::size_t i = 0; i < n; ++i) out.push_back("h" + std::to_string(i) + ".example.com");
  return out;
}

// A lowercase DNS subdomain of exactly n characters (labels of at most 63).
std::string host_of_length(std::size_t n) {
  std::string out;
  while (out.size() < n) {
    if (!out.empty()) out += '.';
    const std::size_t left = n - out.size();
    // Never leave a single character for a label after a dot at the end.
    std::size_t take = std::min<std::size_t>(63, left);
    if (left > 63 && left - take == 1) take = 62;
    out += std::string(take, 'a');
  }
  return out;
}

json entry(const std::string& name, const std::string& protocol, json host_list, int number,
           std::optional<int> gateway_port) {
  json e = {{"name", name},
            {"hosts", std::move(host_list)},
            {"port", {{"name", "p"}, {"number", number}, {"protocol", protocol}}}};
  if (gateway_port) e["byEgressGateway"] = {{"port", *gateway_port}};
  return e;
}

json second_rule(json to_entry) {
  return json{{"from", json::array({{{"namespace", "other"}}})}, {"to", json::array({to_entry})}};
}

struct Case {
  std::string name;
  std::string fixture;
  std::vector<json> edits;  // RFC 6902 operations applied to the fixture first
  std::vector<Err> want;
  std::function<Settings()> settings = [] { return Settings{}; };
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  const std::string E = kExplicitPorts;
  std::vector<Case> c;
  auto add = [&c](std::string name, const std::string& fixture, std::vector<json> edits, std::vector<Err> want,
                  std::function<Settings()> settings = [] { return Settings{}; }) {
    c.push_back({std::move(name), fixture, std::move(edits), std::move(want), std::move(settings)});
  };
  const std::vector<json> none;

  add("base_fixture_is_valid", E, none, {});

  // 1. apiVersion and kind.
  add("api_version_wrong", E, {op_add("/apiVersion", "istio.alibabacloud.com/v1")},
      {{kNotSupported, "apiVersion"}});
  add("kind_wrong", E, {op_add("/kind", "EgressTrafficPolicy")}, {{kNotSupported, "kind"}});
  add("api_version_and_kind_wrong", E,
      {op_add("/apiVersion", "networking.istio.io/v1beta1"), op_add("/kind", "ServiceEntry")},
      {{kNotSupported, "apiVersion"}, {kNotSupported, "kind"}});

  // 2. Namespace.
  add("namespace_wrong", E, {op_add("/metadata/namespace", "default")},
      {{kInvalid, "metadata.namespace"}});
  add("namespace_absent", E, {op_remove("/metadata/namespace")},
      {{kRequired, "metadata.namespace"}});
  add("namespace_null_is_absent", E, {op_add("/metadata/namespace", nullptr)},
      {{kRequired, "metadata.namespace"}});
  add("namespace_setting_rejects_default", E, none, {{kInvalid, "metadata.namespace"}},
      [] { return namespace_setting("mesh-egress"); });
  add("namespace_setting_accepts_its_own", E, {op_add("/metadata/namespace", "mesh-egress")}, {},
      [] { return namespace_setting("mesh-egress"); });

  // 3. Name rule.
  add("name_mismatch", E, {op_add("/metadata/name", "egress-by-other")},
      {{kInvalid, "metadata.name"}});
  add("name_literal_gateway_rejected_by_default", E, {op_add("/metadata/name", "egressgateway-a")},
      {{kInvalid, "metadata.name"}});
  add("literal_rule_accepts_gateway_name", E, {op_add("/metadata/name", "egressgateway-a")}, {},
      literal_names);
  add("literal_rule_rejects_prefixed_name", E, none, {{kInvalid, "metadata.name"}},
      literal_names);
  add("generate_name_only", E,
      {op_remove("/metadata/name"), op_add("/metadata/generateName", "egress-by-egressgateway-a-")},
      {{kForbidden, "metadata.generateName"}});
  add("name_and_generate_name_absent", E, {op_remove("/metadata/name")},
      {{kRequired, "metadata.name"}});
  add("name_empty_string", E, {op_add("/metadata/name", "")}, {{kRequired, "metadata.name"}});
  add("name_not_checked_when_gateway_name_invalid", E,
      {op_add("/spec/byEgressGateway/name", "Bad_Gateway"), op_add("/metadata/name", "whatever")},
      {{kInvalid, "spec.byEgressGateway.name"}});
  add("name_not_checked_when_gateway_name_absent", E,
      {op_remove("/spec/byEgressGateway/name"), op_add("/metadata/name", "whatever")},
      {{kRequired, "spec.byEgressGateway.name"}});

  // 4. spec and spec.byEgressGateway.
  add("spec_absent", E, {op_remove("/spec")}, {{kRequired, "spec"}});
  add("spec_null_is_absent", E, {op_add("/spec", nullptr)}, {{kRequired, "spec"}});
  add("gateway_absent", E, {op_remove("/spec/byEgressGateway")},
      {{kRequired, "spec.byEgressGateway"}});
  add("gateway_name_absent", E, {op_remove("/spec/byEgressGateway/name")},
      {{kRequired, "spec.byEgressGateway.name"}});
  add("gateway_name_empty", E, {op_add("/spec/byEgressGateway/name", "")},
      {{kRequired, "spec.byEgressGateway.name"}});
  add("gateway_name_32_chars", E,
      {op_add("/spec/byEgressGateway/name", label(32)),
       op_add("/metadata/name", "egress-by-" + label(32))},
      {});
  add("gateway_name_33_chars", E,
      {op_add("/spec/byEgressGateway/name", label(33)),
       op_add("/metadata/name", "egress-by-" + label(33))},
      {{kTooLong, "spec.byEgressGateway.name"}});
  add("gateway_name_uppercase", E,
      {op_add("/spec/byEgressGateway/name", "EgressGW"), op_add("/metadata/name", "egress-by-EgressGW")},
      {{kInvalid, "spec.byEgressGateway.name"}});
  add("gateway_name_underscore", E,
      {op_add("/spec/byEgressGateway/name", "egress_gw"),
       op_add("/metadata/name", "egress-by-egress_gw")},
      {{kInvalid, "spec.byEgressGateway.name"}});
  add("gateway_name_leading_dash", E,
      {op_add("/spec/byEgressGateway/name", "-gw"), op_add("/metadata/name", "egress-by--gw")},
      {{kInvalid, "spec.byEgressGateway.name"}});
  add("gateway_port_forbidden", E, {op_add("/spec/byEgressGateway/port", 80)},
      {{kForbidden, "spec.byEgressGateway.port"}});
  add("gateway_port_null_is_absent", E, {op_add("/spec/byEgressGateway/port", nullptr)}, {});

  // 5. At least one rule, from and to.
  add("egress_rules_absent", E, {op_remove("/spec/egressRules")},
      {{kRequired, "spec.egressRules"}});
  add("egress_rules_empty", E, {op_add("/spec/egressRules", json::array())},
      {{kRequired, "spec.egressRules"}});
  add("from_absent", E, {op_remove("/spec/egressRules/0/from")},
      {{kRequired, "spec.egressRules[0].from"}});
  add("from_empty", E, {op_add("/spec/egressRules/0/from", json::array())},
      {{kRequired, "spec.egressRules[0].from"}});
  add("to_absent", E, {op_remove("/spec/egressRules/0/to")},
      {{kRequired, "spec.egressRules[0].to"}});
  add("to_empty", E, {op_add("/spec/egressRules/0/to", json::array())},
      {{kRequired, "spec.egressRules[0].to"}});

  // 6. from[].
  add("from_namespace_absent", E, {op_remove(F0 + "/namespace")},
      {{kRequired, f0 + ".namespace"}});
  add("from_namespace_empty", E, {op_add(F0 + "/namespace", "")},
      {{kRequired, f0 + ".namespace"}});
  add("from_namespace_invalid", E, {op_add(F0 + "/namespace", "My_Namespace")},
      {{kInvalid, f0 + ".namespace"}});
  add("selector_key_invalid", E, {op_add(F0 + "/workloadSelector", {{"bad key!", "x"}})},
      {{kInvalid, f0 + ".workloadSelector"}});
  add("selector_value_invalid", E, {op_add(F0 + "/workloadSelector", {{"app", "-sleep"}})},
      {{kInvalid, f0 + ".workloadSelector[app]"}});
  add("selector_value_64_chars", E,
      {op_add(F0 + "/workloadSelector", {{"app", std::string(64, 'v')}})},
      {{kInvalid, f0 + ".workloadSelector[app]"}});
  add("selector_value_63_chars", E,
      {op_add(F0 + "/workloadSelector", {{"app", std::string(63, 'v')}})}, {});
  add("selector_prefixed_key_and_empty_value", E,
      {op_add(F0 + "/workloadSelector", {{"app.kubernetes.io/name", "sleep"}, {"version", ""}})},
      {});
  add("selector_absent", E, {op_remove(F0 + "/workloadSelector")}, {});

  // 7. to[].name.
  add("to_name_absent", E, {op_remove(T0 + "/name")}, {{kRequired, t0 + ".name"}});
  add("to_name_empty", E, {op_add(T0 + "/name", "")}, {{kRequired, t0 + ".name"}});
  add("to_name_invalid", E, {op_add(T0 + "/name", "Example_HTTP")}, {{kInvalid, t0 + ".name"}});
  add("to_name_duplicate_in_rule", E, {op_add(T1 + "/name", "example-http")},
      {{kDuplicate, t1 + ".name"}});
  add("to_name_duplicate_across_rules", E,
      {op_add("/spec/egressRules/-",
              second_rule(entry("database-tcp", "TCP", {"10.0.0.2"}, 5433, 10003)))},
      {{kDuplicate, "spec.egressRules[1].to[0].name"}});

  // 8. hosts.
  add("hosts_absent", E, {op_remove(T0 + "/hosts")}, {{kRequired, t0 + ".hosts"}});
  add("hosts_empty", E, {op_add(T0 + "/hosts", json::array())}, {{kRequired, t0 + ".hosts"}});
  add("hosts_50", E, {op_add(T0 + "/hosts", hosts(50))}, {});
  add("hosts_51", E, {op_add(T0 + "/hosts", hosts(51))}, {{kTooMany, t0 + ".hosts"}});
  add("host_uppercase", E, {op_add(T0 + "/hosts", {"WWW.Example.com"})},
      {{kInvalid, t0 + ".hosts[0]"}});
  add("host_underscore", E, {op_add(T0 + "/hosts", {"www.example.com", "ex_ample.com"})},
      {{kInvalid, t0 + ".hosts[1]"}});
  add("host_trailing_dot", E, {op_add(T0 + "/hosts", {"www.example.com."})},
      {{kInvalid, t0 + ".hosts[0]"}});
  add("host_wildcard_http", E, {op_add(T0 + "/hosts", {"*.example.com"})}, {});
  add("host_wildcard_https", E, {op_add(T1 + "/hosts", {"*.example.com"})}, {});
  add("host_wildcard_tcp", E, {op_add(T2 + "/hosts", {"*.example.com"})},
      {{kInvalid, t2 + ".hosts[0]"}});
  add("host_double_wildcard", E, {op_add(T0 + "/hosts", {"*.*.example.com"})},
      {{kInvalid, t0 + ".hosts[0]"}});
  add("host_inner_wildcard", E, {op_add(T0 + "/hosts", {"www.*.example.com"})},
      {{kInvalid, t0 + ".hosts[0]"}});
  add("host_253_chars", E, {op_add(T0 + "/hosts", {host_of_length(253)})}, {});
  add("host_254_chars", E, {op_add(T0 + "/hosts", {host_of_length(254)})},
      {{kInvalid, t0 + ".hosts[0]"}});
  add("host_ipv4_tcp", E, {op_add(T2 + "/hosts", {"192.168.10.20"})}, {});
  add("host_ipv6_tcp", E, {op_add(T2 + "/hosts", {"2001:db8::1"})}, {});
  add("host_duplicate_in_entry", E,
      {op_add(T0 + "/hosts", {"www.example.com", "cdn.example.com", "www.example.com"})},
      {{kDuplicate, t0 + ".hosts[2]"}});

  // 9. port.
  add("port_absent", E, {op_remove(T1 + "/port")}, {{kRequired, t1 + ".port"}});
  add("port_name_absent", E, {op_remove(T0 + "/port/name")}, {{kRequired, t0 + ".port.name"}});
  add("port_name_empty", E, {op_add(T0 + "/port/name", "")}, {{kRequired, t0 + ".port.name"}});
  add("port_number_absent", E, {op_remove(T0 + "/port/number")},
      {{kRequired, t0 + ".port.number"}});
  add("port_number_0", E, {op_add(T0 + "/port/number", 0)}, {{kInvalid, t0 + ".port.number"}});
  add("port_number_65536", E, {op_add(T0 + "/port/number", 65536)},
      {{kInvalid, t0 + ".port.number"}});
  add("port_number_1", E, {op_add(T0 + "/port/number", 1)}, {});
  add("port_number_65535", E, {op_add(T0 + "/port/number", 65535)}, {});
  add("protocol_absent", E, {op_remove(T1 + "/port/protocol")},
      {{kRequired, t1 + ".port.protocol"}});
  add("protocol_ftp", E, {op_add(T1 + "/port/protocol", "FTP")},
      {{kNotSupported, t1 + ".port.protocol"}});
  add("protocol_lowercase", E, {op_add(T1 + "/port/protocol", "https")},
      {{kNotSupported, t1 + ".port.protocol"}});

  // 10. to[].byEgressGateway.
  add("to_gateway_name_forbidden", E, {op_add(T0 + "/byEgressGateway/name", "egressgateway-b")},
      {{kForbidden, t0 + ".byEgressGateway.name"}});
  add("to_gateway_port_65536", E, {op_add(T1 + "/byEgressGateway/port", 65536)},
      {{kInvalid, t1 + ".byEgressGateway.port"}});
  add("to_gateway_port_negative", E, {op_add(T1 + "/byEgressGateway/port", -1)},
      {{kInvalid, t1 + ".byEgressGateway.port"}});
  add("to_gateway_port_beyond_uint32", E, {op_add(T1 + "/byEgressGateway/port", 4294967296LL)},
      {{kInvalid, t1 + ".byEgressGateway.port"}});
  add("to_gateway_port_65535", E, {op_add(T1 + "/byEgressGateway/port", 65535)}, {});
  add("to_gateway_port_below_range", E, {op_add(T1 + "/byEgressGateway/port", 444)}, {});
  add("to_gateway_port_reserved", E, {op_add(T1 + "/byEgressGateway/port", 15001)},
      {{kInvalid, t1 + ".byEgressGateway.port"}});
  add("to_gateway_port_reserved_by_setting", E, none, {{kInvalid, t1 + ".byEgressGateway.port"}},
      [] { return reserving(10001); });

  // 11. All or none.
  add("mixed_gateway_absent", E, {op_remove(T1 + "/byEgressGateway")},
      {{kRequired, t1 + ".byEgressGateway.port"}});
  add("mixed_gateway_null", E, {op_add(T1 + "/byEgressGateway", nullptr)},
      {{kRequired, t1 + ".byEgressGateway.port"}});
  add("mixed_gateway_empty_object", E, {op_add(T1 + "/byEgressGateway", json::object())},
      {{kRequired, t1 + ".byEgressGateway.port"}});
  add("mixed_gateway_port_0", E, {op_add(T1 + "/byEgressGateway/port", 0)},
      {{kRequired, t1 + ".byEgressGateway.port"}});
  add("mixed_gateway_port_null", E, {op_add(T1 + "/byEgressGateway/port", nullptr)},
      {{kRequired, t1 + ".byEgressGateway.port"}});
  add("mixed_two_blank", E, {op_remove(T0 + "/byEgressGateway"), op_remove(T2 + "/byEgressGateway")},
      {{kRequired, t0 + ".byEgressGateway.port"}, {kRequired, t2 + ".byEgressGateway.port"}});
  add("mixed_across_rules", E,
      {op_add("/spec/egressRules/-",
              second_rule(entry("other-https", "HTTPS", {"other.example.com"}, 443, std::nullopt)))},
      {{kRequired, "spec.egressRules[1].to[0].byEgressGateway.port"}});
  add("all_blank", E,
      {op_remove(T0 + "/byEgressGateway"), op_add(T1 + "/byEgressGateway", nullptr),
       op_add(T2 + "/byEgressGateway/port", 0)},
      {});

  // 12. Sharing a gateway port.
  add("https_share_disjoint_hosts", E,
      {op_add("/spec/egressRules/0/to/-", entry("other-https", "HTTPS", {"api.example.org"}, 443, 10001))},
      {});
  add("https_share_common_host", E,
      {op_add("/spec/egressRules/0/to/-",
              entry("cdn-https", "HTTPS", {"cdn.example.com", "api.example.com"}, 443, 10001))},
      {{kInvalid, "spec.egressRules[0].to[3].byEgressGateway.port"}});
  add("http_shares_with_https", E, {op_add(T1 + "/byEgressGateway/port", 10000)},
      {{kInvalid, t1 + ".byEgressGateway.port"}});
  add("tcp_shares_with_https", E, {op_add(T2 + "/byEgressGateway/port", 10001)},
      {{kInvalid, t2 + ".byEgressGateway.port"}});
  add("tcp_shares_with_tcp", E,
      {op_add("/spec/egressRules/0/to/-", entry("cache-tcp", "TCP", {"10.0.0.2"}, 6379, 10002))},
      {{kInvalid, "spec.egressRules[0].to[3].byEgressGateway.port"}});
  add("http_same_host_other_number", E,
      {op_add("/spec/egressRules/0/to/-", entry("alt-http", "HTTP", {"www.example.com"}, 8080, 10000))},
      {{kInvalid, "spec.egressRules[0].to[3].byEgressGateway.port"}});
  add("http_host_in_common_other_destination", E,
      {op_add("/spec/egressRules/0/to/-",
              entry("cdn-http", "HTTP", {"cdn.example.com", "www.example.com"}, 80, 10000))},
      {{kInvalid, "spec.egressRules[0].to[3].byEgressGateway.port"}});
  add("http_disjoint_hosts_share", E,
      {op_add("/spec/egressRules/0/to/-", entry("org-http", "HTTP", {"www.example.org"}, 80, 10000))},
      {});
  add("http_same_destination_two_rules", E,
      {op_add("/spec/egressRules/-",
              second_rule(entry("example-http-b", "HTTP", {"www.example.com"}, 80, 10000)))},
      {});
  add("tcp_same_destination_two_rules", E,
      {op_add("/spec/egressRules/-",
              second_rule(entry("database-tcp-b", "TCP", {"10.0.0.1"}, 5432, 10002)))},
      {});
  add("tcp_shares_across_rules_later_reported", E,
      {op_add("/spec/egressRules/-",
              second_rule(entry("other-tcp", "TCP", {"10.0.0.9"}, 5432, 10002)))},
      {{kInvalid, "spec.egressRules[1].to[0].byEgressGateway.port"}});

  // 13. httpsUpgrade.
  add("https_upgrade_on_https", E, {op_add(T1 + "/httpsUpgrade", {{"enabled", true}, {"port", 443}})},
      {{kForbidden, t1 + ".httpsUpgrade"}});
  add("https_upgrade_on_tcp", E, {op_add(T2 + "/httpsUpgrade", {{"enabled", true}, {"port", 443}})},
      {{kForbidden, t2 + ".httpsUpgrade"}});
  add("https_upgrade_enabled_absent", E, {op_add(T0 + "/httpsUpgrade", {{"port", 443}})},
      {{kRequired, t0 + ".httpsUpgrade.enabled"}});
  add("https_upgrade_port_absent", E, {op_add(T0 + "/httpsUpgrade", {{"enabled", true}})},
      {{kRequired, t0 + ".httpsUpgrade.port"}});
  add("https_upgrade_port_0", E, {op_add(T0 + "/httpsUpgrade", {{"enabled", true}, {"port", 0}})},
      {{kInvalid, t0 + ".httpsUpgrade.port"}});
  add("https_upgrade_port_65536", E,
      {op_add(T0 + "/httpsUpgrade", {{"enabled", true}, {"port", 65536}})},
      {{kInvalid, t0 + ".httpsUpgrade.port"}});
  add("https_upgrade_enabled", E, {op_add(T0 + "/httpsUpgrade", {{"enabled", true}, {"port", 443}})},
      {});
  add("https_upgrade_disabled_with_port", E,
      {op_add(T0 + "/httpsUpgrade", {{"enabled", false}, {"port", 443}})}, {});
  add("https_upgrade_disabled", E, {op_add(T0 + "/httpsUpgrade", {{"enabled", false}})}, {});

  // Type errors from decoding.
  add("type_port_number_string", E, {op_add(T0 + "/port/number", "80")},
      {{kInvalid, t0 + ".port.number"}});
  add("type_port_number_fraction", E, {op_add(T0 + "/port/number", 80.5)},
      {{kInvalid, t0 + ".port.number"}});
  add("type_port_number_integral_float", E, {op_add(T0 + "/port/number", 80.0)},
      {{kInvalid, t0 + ".port.number"}});
  add("type_gateway_port_string", E, {op_add(T1 + "/byEgressGateway/port", "10001")},
      {{kInvalid, t1 + ".byEgressGateway.port"}});
  add("type_hosts_string", E, {op_add(T0 + "/hosts", "www.example.com")},
      {{kInvalid, t0 + ".hosts"}});
  add("type_host_number", E, {op_add(T0 + "/hosts", {42})}, {{kInvalid, t0 + ".hosts[0]"}});
  add("type_port_string", E, {op_add(T0 + "/port", "80")}, {{kInvalid, t0 + ".port"}});
  add("type_to_name_number", E, {op_add(T0 + "/name", 5)}, {{kInvalid, t0 + ".name"}});
  add("type_https_upgrade_enabled_string", E,
      {op_add(T0 + "/httpsUpgrade", {{"enabled", "true"}, {"port", 443}})},
      {{kInvalid, t0 + ".httpsUpgrade.enabled"}});
  add("type_egress_rules_object", E, {op_add("/spec/egressRules", json::object())},
      {{kInvalid, "spec.egressRules"}});
  add("type_spec_string", E, {op_add("/spec", "spec")}, {{kInvalid, "spec"}});
  add("type_to_item_string", E, {op_add("/spec/egressRules/0/to/-", "svc")},
      {{kInvalid, "spec.egressRules[0].to[3]"}});
  add("type_selector_value_number", E, {op_add(F0 + "/workloadSelector", {{"app", 5}})},
      {{kInvalid, f0 + ".workloadSelector[app]"}});

  // More edges of the same rules.
  add("metadata_absent", E, {op_remove("/metadata")},
      {{kRequired, "metadata.namespace"}, {kRequired, "metadata.name"}});
  add("literal_rule_gateway_name_32_chars", E,
      {op_add("/spec/byEgressGateway/name", label(32)), op_add("/metadata/name", label(32))}, {},
      literal_names);
  add("selector_key_name_63_chars", E,
      {op_add(F0 + "/workloadSelector", {{std::string(63, 'k'), "v"}})}, {});
  add("selector_key_name_64_chars", E,
      {op_add(F0 + "/workloadSelector", {{std::string(64, 'k'), "v"}})},
      {{kInvalid, f0 + ".workloadSelector"}});
  add("selector_key_empty_name_after_prefix", E,
      {op_add(F0 + "/workloadSelector", {{"example.com/", "v"}})},
      {{kInvalid, f0 + ".workloadSelector"}});
  add("selector_key_prefix_not_dns", E,
      {op_add(F0 + "/workloadSelector", {{"Example_Com/app", "v"}})},
      {{kInvalid, f0 + ".workloadSelector"}});
  add("to_name_duplicate_twice", E,
      {op_add(T1 + "/name", "example-http"), op_add(T2 + "/name", "example-http")},
      {{kDuplicate, t1 + ".name"}, {kDuplicate, t2 + ".name"}});
  add("host_ipv6_malformed", E, {op_add(T2 + "/hosts", {"2001:db8::1::2"})},
      {{kInvalid, t2 + ".hosts[0]"}});
  add("host_ipv6_bracketed", E, {op_add(T2 + "/hosts", {"[2001:db8::1]"})},
      {{kInvalid, t2 + ".hosts[0]"}});
  add("host_ipv4_mapped_ipv6", E, {op_add(T2 + "/hosts", {"::ffff:10.0.0.1"})}, {});
  add("host_bare_wildcard", E, {op_add(T0 + "/hosts", {"*"})}, {{kInvalid, t0 + ".hosts[0]"}});
  add("host_with_port", E, {op_add(T0 + "/hosts", {"www.example.com:80"})},
      {{kInvalid, t0 + ".hosts[0]"}});
  add("host_label_64_chars", E, {op_add(T0 + "/hosts", {std::string(64, 'a') + ".com"})},
      {{kInvalid, t0 + ".hosts[0]"}});
  add("https_upgrade_null_is_absent", E, {op_add(T0 + "/httpsUpgrade", nullptr)}, {});
  add("https_three_on_one_port", E,
      {op_add("/spec/egressRules/0/to/-", entry("b-https", "HTTPS", {"b.example.com"}, 443, 10001)),
       op_add("/spec/egressRules/0/to/-",
              entry("api-alt-https", "HTTPS", {"api.example.com"}, 8443, 10001))},
      {{kInvalid, "spec.egressRules[0].to[4].byEgressGateway.port"}});
  add("https_same_destination_other_extra_hosts", E,
      {op_add("/spec/egressRules/-",
              second_rule(entry("example-https-b", "HTTPS", {"api.example.com", "x.example.com"},
                                443, 10001)))},
      {});
  add("type_gateway_port_uint64_max", E,
      {op_add(T1 + "/byEgressGateway/port", 18446744073709551615ULL)},
      {{kInvalid, t1 + ".byEgressGateway.port"}});
  add("type_port_number_negative", E, {op_add(T0 + "/port/number", -80)},
      {{kInvalid, t0 + ".port.number"}});
  add("type_https_upgrade_port_string", E,
      {op_add(T0 + "/httpsUpgrade", {{"enabled", true}, {"port", "443"}})},
      {{kInvalid, t0 + ".httpsUpgrade.port"}});
  add("type_to_gateway_string", E, {op_add(T1 + "/byEgressGateway", "10001")},
      {{kInvalid, t1 + ".byEgressGateway"}});
  add("type_metadata_name_number", E, {op_add("/metadata/name", 7)}, {{kInvalid, "metadata.name"}});

  add("unknown_fields_ignored", E,
      {op_add("/status", {{"message", "ok"}}), op_add(T0 + "/comment", "x"),
       op_add("/spec/extra", {1, 2, 3})},
      {});

  // Several errors at once.
  add("many_errors_fixture", kManyErrors, none,
      {{kInvalid, "metadata.namespace"},
       {kNotSupported, t0 + ".port.protocol"},
       {kRequired, t1 + ".hosts"},
       {kInvalid, t2 + ".byEgressGateway.port"}});
  return c;
}

class ValidationTable : public ::testing::TestWithParam<Case> {};

TEST_P(ValidationTable, ReportsExactlyTheExpectedErrors) {
  const Case& tc = GetParam();
  const json object = edited(load_json(tc.fixture), tc.edits);
  const boost::json::value value = to_boost(object);
  const ValidationResult result =
      validate_policy(value, nullptr, Operation::Create, tc.settings());
  EXPECT_THAT(errs_of(result.errors), UnorderedElementsAreArray(tc.want))
      << "errors reported:\n"
      << describe(result.errors);
  for (const auto& w : result.warnings) EXPECT_LE(w.size(), 120U) << w;
}

INSTANTIATE_TEST_SUITE_P(Rules, ValidationTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param) { return param.param.name; });

// ---------------------------------------------------------------------------

ValidationResult validate_file(const std::string& fixture, const std::vector<json>& edits = {},
                               const Settings& settings = Settings{}) {
  const json object = edited(load_json(fixture), edits);
  return validate_policy(to_boost(object), nullptr, Operation::Create, settings);
}

class SeedExamples : public ::testing::TestWithParam<const char*> {};

TEST_P(SeedExamples, AdmittedUnderDefaultSettings) {
  const ValidationResult r = validate_file(GetParam());
  EXPECT_TRUE(r.errors.empty()) << describe(r.errors);
  for (const auto& w : r.warnings) EXPECT_LE(w.size(), 120U) << w;
}

TEST_P(SeedExamples, AdmittedAsUpdateOfItself) {
  const boost::json::value v = load_boost(GetParam());
  const ValidationResult r = validate_policy(v, &v, Operation::Update, Settings{});
  EXPECT_TRUE(r.errors.empty()) << describe(r.errors);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SeedExamples,
                         ::testing::Values(kSeedAutoPorts, kSeedHttp, kSeedHttpsUpgrade));

TEST(Validation, EveryDefaultReservedPortIsRejectedAsExplicitPort) {
  ASSERT_EQ(Settings{}.reserved_ports.size(), 16U);
  for (const std::uint32_t port : {15000U, 15001U, 15002U, 15004U, 15006U, 15008U, 15009U, 15010U,
                                   15012U, 15014U, 15017U, 15020U, 15021U, 15053U, 15090U,
                                   15443U}) {
    EXPECT_EQ(Settings{}.reserved_ports.count(port), 1U) << port;
    const ValidationResult r =
        validate_file(kExplicitPorts, {op_add(T1 + "/byEgressGateway/port", port)});
    EXPECT_THAT(errs_of(r.errors),
                UnorderedElementsAreArray(std::vector<Err>{{kInvalid, t1 + ".byEgressGateway.port"}}))
        << "port " << port << "\n"
        << describe(r.errors);
  }
  // The neighbours of reserved ports are fine.
  for (const int port : {14999, 15003, 15005, 15444}) {
    const ValidationResult r =
        validate_file(kExplicitPorts, {op_add(T1 + "/byEgressGateway/port", port)});
    EXPECT_TRUE(r.errors.empty()) << "port " << port << "\n" << describe(r.errors);
  }
}

TEST(Validation, PortNumberStringMessage) {
  const ValidationResult r = validate_file(kExplicitPorts, {op_add(T0 + "/port/number", "80")});
  ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
  EXPECT_EQ(r.errors[0].message(),
            "spec.egressRules[0].to[0].port.number: Invalid value: \"80\": must be an integer");
}

struct TypeCase {
  std::vector<json> edits;
  std::string field;
  std::string detail;
};

TEST(Validation, TypeErrorDetails) {
  const std::vector<TypeCase> table = {
      {{op_add(T0 + "/port/number", "80")}, t0 + ".port.number", "must be an integer"},
      {{op_add(T0 + "/port/number", 80.5)}, t0 + ".port.number", "must be an integer"},
      {{op_add(T0 + "/port/number", 80.0)}, t0 + ".port.number", "must be an integer"},
      {{op_add(T0 + "/port/number", true)}, t0 + ".port.number", "must be an integer"},
      {{op_add(T0 + "/name", 5)}, t0 + ".name", "must be a string"},
      {{op_add(T0 + "/port", "80")}, t0 + ".port", "must be an object"},
      {{op_add(T0 + "/hosts", "www.example.com")}, t0 + ".hosts", "must be an array"},
      {{op_add(T0 + "/httpsUpgrade", {{"enabled", "yes"}, {"port", 443}})},
       t0 + ".httpsUpgrade.enabled", "must be a boolean"},
  };
  for (const auto& tc : table) {
    const ValidationResult r = validate_file(kExplicitPorts, tc.edits);
    ASSERT_EQ(r.errors.size(), 1U) << json(tc.edits).dump() << "\n" << describe(r.errors);
    EXPECT_EQ(r.errors[0].type, kInvalid) << json(tc.edits).dump();
    EXPECT_EQ(r.errors[0].field, tc.field) << json(tc.edits).dump();
    EXPECT_EQ(r.errors[0].detail, tc.detail) << json(tc.edits).dump();
  }
}

TEST(Validation, UnsupportedProtocolMessageListsTheSupportedValues) {
  const ValidationResult r = validate_file(kExplicitPorts, {op_add(T1 + "/port/protocol", "FTP")});
  ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
  EXPECT_EQ(r.errors[0].message(), t1 +
                                       ".port.protocol: Unsupported value: \"FTP\": supported "
                                       "values: \"HTTP\", \"HTTPS\", \"TCP\"");
}

TEST(Validation, TooManyHostsMessage) {
  const ValidationResult r = validate_file(kExplicitPorts, {op_add(T0 + "/hosts", hosts(51))});
  ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
  EXPECT_EQ(r.errors[0].body(), "Too many: 51: must have at most 50 items");
}

TEST(Validation, DuplicateNameMessage) {
  const ValidationResult r = validate_file(kExplicitPorts, {op_add(T1 + "/name", "example-http")});
  ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
  EXPECT_EQ(r.errors[0].message(), t1 + ".name: Duplicate value: \"example-http\"");
}

TEST(Validation, NameMismatchNamesTheExpectedName) {
  {
    const ValidationResult r =
        validate_file(kExplicitPorts, {op_add("/metadata/name", "egress-by-other")});
    ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
    EXPECT_THAT(r.errors[0].detail, ::testing::HasSubstr("\"egress-by-egressgateway-a\""));
  }
  {
    Settings literal;
    literal.name_rule = NameRule::Literal;
    const ValidationResult r = validate_file(kExplicitPorts, {}, literal);
    ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
    EXPECT_THAT(r.errors[0].detail, ::testing::HasSubstr("\"egressgateway-a\""));
  }
  {
    const ValidationResult r = validate_file(
        kExplicitPorts,
        {op_remove("/metadata/name"), op_add("/metadata/generateName", "egress-by-")});
    ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
    EXPECT_EQ(r.errors[0].field, "metadata.generateName");
    EXPECT_THAT(r.errors[0].detail, ::testing::HasSubstr("egress-by-egressgateway-a"));
  }
}

TEST(Validation, ManyErrorsAreAllReportedWithTheirMessages) {
  const ValidationResult r = validate_file(kManyErrors);
  std::vector<std::string> messages;
  for (const auto& e : r.errors) messages.push_back(e.message());
  EXPECT_THAT(messages, ::testing::Contains(t0 +
                                            ".port.protocol: Unsupported value: \"FTP\": "
                                            "supported values: \"HTTP\", \"HTTPS\", \"TCP\""));
  // Kubernetes' Required errors may carry a detail after the body.
  EXPECT_THAT(messages, ::testing::Contains(::testing::StartsWith(t1 + ".hosts: Required value")));
  EXPECT_THAT(messages, ::testing::Contains(::testing::StartsWith(
                            "metadata.namespace: Invalid value: \"default\"")));
  EXPECT_THAT(messages, ::testing::Contains(::testing::StartsWith(
                            t2 + ".byEgressGateway.port: Invalid value: 15001")));
}

// 14. Warnings.
struct WarningCase {
  std::string name;
  std::vector<json> edits;
  std::size_t count;
  std::string mentions;  // a word the warning should carry (case-insensitive), or ""
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

TEST(Validation, Warnings) {
  const std::vector<WarningCase> table = {
      {"none_on_base", {}, 0, ""},
      {"tcp_domain_host", {op_add(T2 + "/hosts", {"db.example.com"})}, 1, "dns"},
      {"tcp_ipv6_host", {op_add(T2 + "/hosts", {"2001:db8::1"})}, 0, ""},
      {"several_hosts", {op_add(T0 + "/hosts", {"www.example.com", "example.com"})}, 1, ""},
      {"several_ip_hosts_tcp", {op_add(T2 + "/hosts", {"10.0.0.1", "10.0.0.2"})}, 1, ""},
      {"https_upgrade_disabled_with_port",
       {op_add(T0 + "/httpsUpgrade", {{"enabled", false}, {"port", 443}})}, 1, ""},
      {"https_upgrade_enabled", {op_add(T0 + "/httpsUpgrade", {{"enabled", true}, {"port", 443}})},
       0, ""},
  };
  for (const auto& tc : table) {
    const ValidationResult r = validate_file(kExplicitPorts, tc.edits);
    EXPECT_TRUE(r.errors.empty()) << tc.name << "\n" << describe(r.errors);
    EXPECT_EQ(r.warnings.size(), tc.count) << tc.name;
    for (const auto& w : r.warnings) {
      EXPECT_LE(w.size(), 120U) << tc.name << ": " << w;
      EXPECT_FALSE(w.empty()) << tc.name;
      if (!tc.mentions.empty()) {
        EXPECT_THAT(lower(w), ::testing::HasSubstr(tc.mentions)) << w;
      }
    }
  }
}

TEST(Validation, WarningsStayShortWithLongNamesAndHosts) {
  const std::string long_name = std::string(63, 'n');
  const std::string long_host = host_of_length(253);
  const ValidationResult r = validate_file(
      kExplicitPorts,
      {op_add(T2 + "/name", long_name), op_add(T2 + "/hosts", {long_host, "b" + long_host.substr(1)}),
       op_add(T0 + "/name", std::string(62, 'm')),
       op_add(T0 + "/hosts", {long_host, "c" + long_host.substr(1)}),
       op_add(T0 + "/httpsUpgrade", {{"enabled", false}, {"port", 443}})});
  EXPECT_TRUE(r.errors.empty()) << describe(r.errors);
  // TCP domain + several hosts on to[2], several hosts and a disabled upgrade port on to[0].
  EXPECT_GE(r.warnings.size(), 3U);
  for (const auto& w : r.warnings) EXPECT_LE(w.size(), 120U) << w;
}

TEST(Validation, SeedWarnings) {
  // The auto-ports seed reaches test-tcp.com over TCP; the http seed lists two hosts.
  EXPECT_GE(validate_file(kSeedAutoPorts).warnings.size(), 1U);
  EXPECT_GE(validate_file(kSeedHttp).warnings.size(), 1U);
}

TEST(Validation, ErrorsAreReportedWhateverTheOperation) {
  const boost::json::value bad =
      to_boost(edited(load_json(kExplicitPorts), {op_add(T1 + "/port/protocol", "FTP")}));
  const boost::json::value good = load_boost(kExplicitPorts);
  const ValidationResult r = validate_policy(bad, &good, Operation::Update, Settings{});
  EXPECT_THAT(errs_of(r.errors),
              UnorderedElementsAreArray(std::vector<Err>{{kNotSupported, t1 + ".port.protocol"}}));
}

TEST(InvalidMessage, OneErrorAndSeveral) {
  const FieldError a = FieldError::required(FieldPath("spec").child("egressRules"));
  const FieldError b = FieldError::invalid(FieldPath("metadata").child("namespace"),
                                           std::string_view("default"), "must be istio-egress");
  EXPECT_EQ(invalid_message("egress-by-gw", {a}),
            "ASMEgressTrafficPolicy.istio.alibabacloud.com \"egress-by-gw\" is invalid: "
            "spec.egressRules: Required value");
  EXPECT_EQ(invalid_message("egress-by-gw", {a, b}),
            "ASMEgressTrafficPolicy.istio.alibabacloud.com \"egress-by-gw\" is invalid: "
            "[spec.egressRules: Required value, metadata.namespace: Invalid value: \"default\": "
            "must be istio-egress]");
}

TEST(InvalidMessage, NamesTheObjectInFull) {
  // Object names run up to 253 characters; the message names the object as is.
  const std::string name = "egress-by-" + std::string(200, 'x');
  const FieldError a = FieldError::required(FieldPath("spec").child("egressRules"));
  EXPECT_EQ(invalid_message(name, {a}),
            "ASMEgressTrafficPolicy.istio.alibabacloud.com \"" + name +
                "\" is invalid: spec.egressRules: Required value");
}

TEST(IsEgressPolicy, ByGroupAndKind) {
  EXPECT_TRUE(is_egress_policy(load_boost(kExplicitPorts)));
  EXPECT_FALSE(is_egress_policy(
      to_boost(edited(load_json(kExplicitPorts), {op_add("/kind", "ServiceEntry")}))));
  EXPECT_FALSE(is_egress_policy(to_boost(
      edited(load_json(kExplicitPorts), {op_add("/apiVersion", "networking.istio.io/v1")}))));
  EXPECT_FALSE(is_egress_policy(boost::json::value(nullptr)));
  EXPECT_FALSE(is_egress_policy(boost::json::value("x")));
}

}  // namespace
}  // namespace asmegress::policy::test
