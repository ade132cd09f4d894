#pragma once

// Large and hostile AdmissionReviews, written as compact JSON text the way the
// API server (or an attacker) sends them: for the tests that bound a review's
// memory and for the scaling benchmark (bench/scaling_bench.cpp), so both
// measure the same shapes.
//
// Families of real shape grow with a count of destinations (or rules, or
// hosts); hostile shapes fill a given number of bytes.

#include <cstddef>
#include <string>
#include <string_view>

namespace asmegress::policy::shapes {

// The server's largest body (--max-request-bytes).
inline constexpr std::size_t kMaxBody = std::size_t{7} << 20;

inline constexpr std::string_view kPolicyKind =
    R"({"group":"istio.alibabacloud.com","version":"v1beta1","kind":"ASMEgressTrafficPolicy"})";

// An AdmissionReview around request members written as JSON text. `kind` is
// request.kind's value.
inline std::string review(std::string_view operation, std::string_view object,
                          std::string_view old_object = "null",
                          std::string_view kind = kPolicyKind) {
  std::string out;
  out.reserve(object.size() + old_object.size() + kind.size() + 600);
  out += R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{)";
  out += R"("uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":)";
  out += kind;
  out += R"(,"resource":{"group":"istio.alibabacloud.com","version":"v1beta1","resource":"asmegresstrafficpolicies"},)";
  out += R"("name":"egress-by-egressgateway-a","namespace":"istio-egress","operation":")";
  out += operation;
  out += R"(","userInfo":{"username":"kubernetes-admin","groups":["system:masters","system:authenticated"]},)";
  out += R"("object":)";
  out += object;
  out += R"(,"oldObject":)";
  out += old_object;
  out += R"(,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}})";
  return out;
}

// A policy with the given text as spec.egressRules (a JSON array) and,
// optionally, more members of spec (text starting with a comma).
inline std::string policy(std::string_view rules, std::string_view more_spec = {},
                          std::string_view annotations = "{}") {
  std::string out;
  out.reserve(rules.size() + more_spec.size() + 400);
  out += R"({"apiVersion":"istio.alibabacloud.com/v1beta1","kind":"ASMEgressTrafficPolicy",)";
  out += R"("metadata":{"name":"egress-by-egressgateway-a","namespace":"istio-egress","annotations":)";
  out += annotations;
  out += R"(},"spec":{"byEgressGateway":{"name":"egressgateway-a"},"egressRules":)";
  out += rules;
  out += more_spec;
  out += "}}";
  return out;
}

inline constexpr std::string_view kSource =
    R"({"namespace":"default","workloadSelector":{"app":"sleep","version":"v1"}})";

// One to[] entry. `hosts` and `gateway_port` are JSON text; gateway_port
// empty leaves byEgressGateway out.
inline std::string destination(std::string_view name, std::string_view hosts, int number,
                               std::string_view protocol, std::string_view gateway_port = {}) {
  std::string out = R"({"name":")";
  out += name;
  out += R"(","hosts":)";
  out += hosts;
  out += R"(,"port":{"name":")";
  out += protocol == "HTTP" ? "http" : protocol == "HTTPS" ? "https" : "tcp";
  out += R"(","number":)";
  out += std::to_string(number);
  out += R"(,"protocol":")";
  out += protocol;
  out += '"';
  out += '}';
  if (!gateway_port.empty()) {
    out += R"(,"byEgressGateway":{"port":)";
    out += gateway_port;
    out += '}';
  }
  out += '}';
  return out;
}

// A host name of realistic length for service `i`, host `k` of it.
inline std::string host(std::size_t i, std::size_t k = 0) {
  return "api" + std::to_string(k) + ".service-" + std::to_string(i) + ".example-corp.com";
}

inline std::string host_list(std::size_t i, std::size_t count) {
  std::string out = "[";
  for (std::size_t k = 0; k < count; ++k) {
    if (k != 0) out += ',';
    out += '"' + host(i, k) + '"';
  }
  return out + ']';
}

// One rule from kSource to the given entries (JSON text, comma-separated).
inline std::string one_rule(std::string_view entries) {
  return R"([{"name":"rule-0","from":[)" + std::string(kSource) + R"(],"to":[)" +
         std::string(entries) + "]}]";
}

template <typename Entry>
std::string entries(std::size_t n, Entry&& entry) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ',';
    out += entry(i);
  }
  return out;
}

// The rule families of the scaling benchmark, each a CREATE of n entries.

// n HTTP services of 50 hosts each, all on the shared gateway port 10000:
// the sharing check compares hosts across every pair.
inline std::string shared_ports(std::size_t n) {
  return review("CREATE", policy(one_rule(entries(n, [](std::size_t i) {
                  return destination("svc-" + std::to_string(i), host_list(i, 50), 80, "HTTP",
                                     "10000");
                }))));
}

// n HTTPS services, each on a gateway port of its own, given.
inline std::string explicit_ports(std::size_t n) {
  return review("CREATE", policy(one_rule(entries(n, [](std::size_t i) {
                  return destination("svc-" + std::to_string(i), host_list(i, 1), 443, "HTTPS",
                                     std::to_string(30001 + i % 30000));
                }))));
}

// n HTTPS and TCP services with blank ports: the mutating webhook assigns
// one each (and runs out of the range past 9,984).
inline std::string auto_allocation(std::size_t n) {
  return review("CREATE", policy(one_rule(entries(n, [](std::size_t i) {
                  return destination("svc-" + std::to_string(i), host_list(i, 1),
                                     i % 2 == 0 ? 443 : 5432, i % 2 == 0 ? "HTTPS" : "TCP");
                }))));
}

// n services of one name: a Duplicate error each.
inline std::string duplicate_names(std::size_t n) {
  return review("CREATE", policy(one_rule(entries(n, [](std::size_t i) {
                  return destination("svc", host_list(i, 1), 443, "HTTPS");
                }))));
}

// n rules of one source and one destination each.
inline std::string many_rules(std::size_t n) {
  std::string rules = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) rules += ',';
    rules += R"({"name":"rule-)" + std::to_string(i) + R"(","from":[)" + std::string(kSource) +
             R"(],"to":[)" +
             destination("svc-" + std::to_string(i), host_list(i, 1), 80, "HTTP") + "]}";
  }
  rules += ']';
  return review("CREATE", policy(rules));
}

// Two HTTP services of n/2 hosts each on port 10000 (over the schema's 50).
inline std::string many_hosts(std::size_t n) {
  return review("CREATE", policy(one_rule(entries(2, [n](std::size_t i) {
                  return destination("svc-" + std::to_string(i), host_list(i, n / 2), 80, "HTTP",
                                     "10000");
                }))));
}

// The largest object the API server stores is about 1.5 MiB (etcd's limit):
// n entries of real shape, with its managedFields and last-applied
// annotation as kubectl apply leaves them, and, when `type_error`, one
// port.number written as a string, so that the object is parsed whole for
// decode_policy rather than decoded as it is read.
inline std::string stored_policy(std::size_t n, bool type_error) {
  const std::string to = entries(n, [type_error, n](std::size_t i) {
    std::string e = destination("service-" + std::to_string(i), host_list(i, 3),
                                i % 3 == 0 ? 80 : 443, i % 3 == 0 ? "HTTP" : "HTTPS",
                                i % 3 == 0 ? "10000" : std::to_string(10001 + i % 9000));
    if (type_error && i == n / 2) {
      const auto at = e.find(R"("number":)");
      e.replace(at, e.find(',', at) - at, R"("number":"80")");
    }
    return e;
  });
  std::string applied = R"({\"apiVersion\":\"istio.alibabacloud.com/v1beta1\",\"spec\":{\"egressRules\":[{\"to\":[)";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) applied += ',';
    applied += R"({\"name\":\"service-)" + std::to_string(i) + R"(\",\"hosts\":[\")" + host(i) +
               R"(\"]})";
  }
  applied += "]}]}}";
  std::string managed = R"([{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"istio.alibabacloud.com/v1beta1","time":"2024-05-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:egressRules":{}}}}])";
  std::string out = R"({"apiVersion":"istio.alibabacloud.com/v1beta1","kind":"ASMEgressTrafficPolicy",)";
  out += R"("metadata":{"name":"egress-by-egressgateway-a","namespace":"istio-egress","uid":"0f6c5e4e-7c2b-4d36-9d55-0d9f4a8e2b11","resourceVersion":"123456","generation":7,"creationTimestamp":"2024-05-01T10:00:00Z",)";
  out += R"("labels":{"app.kubernetes.io/managed-by":"platform"},"annotations":{"kubectl.kubernetes.io/last-applied-configuration":")";
  out += applied;
  out += R"("},"managedFields":)";
  out += managed;
  out += R"(},"spec":{"byEgressGateway":{"name":"egressgateway-a"},"egressRules":[{"name":"rule-0","from":[)";
  out += kSource;
  out += R"(],"to":[)";
  out += to;
  out += R"(]}]},"status":{"message":"ok"}})";
  return out;
}

// The number of entries that makes stored_policy about `bytes` long.
inline std::size_t stored_policy_entries(std::size_t bytes) {
  const std::size_t per_entry = stored_policy(101, false).size() - stored_policy(100, false).size();
  return bytes / per_entry;
}

// Hostile shapes, each about `bytes` long (at most kMaxBody).

// `item` repeated inside `prefix` and `suffix`, comma-separated, to about
// `bytes` in all.
inline std::string filled(std::size_t bytes, std::string_view prefix, std::string_view item,
                          std::string_view suffix) {
  std::string out(prefix);
  out.reserve(bytes);
  const std::size_t room = bytes - prefix.size() - suffix.size();
  for (std::size_t n = 0; out.size() + item.size() + 1 <= prefix.size() + room; ++n) {
    if (n != 0) out += ',';
    out += item;
  }
  out += suffix;
  return out;
}

// A review with "MARK" in it, the marker replaced by `item` repeated inside
// `open` and `close`, to about `bytes` in all.
inline std::string around(std::string_view marked, std::size_t bytes, std::string_view open,
                          std::string_view item, std::string_view close) {
  const auto at = marked.find("MARK");
  const std::string prefix = std::string(marked.substr(0, at)) + std::string(open);
  const std::string suffix = std::string(close) + std::string(marked.substr(at + 4));
  return filled(bytes, prefix, item, suffix);
}

// request.kind an array of zeros: nothing reads it but its type.
inline std::string kind_zeros(std::size_t bytes) {
  return around(review("CREATE", "null", "null", "MARK"), bytes, "[", "0", "]");
}

// One entry with millions of empty hosts.
inline std::string empty_hosts(std::size_t bytes) {
  return around(review("CREATE", policy(one_rule(destination("svc", "MARK", 80, "HTTP")))), bytes,
                "[", R"("")", "]");
}

// Millions of empty entries.
inline std::string empty_destinations(std::size_t bytes) {
  return around(review("CREATE", policy(R"([{"name":"r","from":[)" + std::string(kSource) +
                                        R"(],"to":MARK}])")),
                bytes, "[", "{}", "]");
}

// A source whose selector has hundreds of thousands of labels.
inline std::string many_labels(std::size_t bytes) {
  const std::string marked = review(
      "CREATE", policy(R"([{"name":"r","from":[{"namespace":"default","workloadSelector":MARK}],"to":[)" +
                       destination("svc", host_list(0, 1), 80, "HTTP") + "]}]"));
  const auto at = marked.find("MARK");
  std::string out = marked.substr(0, at) + "{";
  const std::string suffix = "}" + marked.substr(at + 4);
  out.reserve(bytes);
  for (std::size_t i = 0; out.size() + suffix.size() + 16 < bytes; ++i) {
    if (i != 0) out += ',';
    out += "\"k" + std::to_string(i) + "\":\"v\"";
  }
  return out + suffix;
}

// A huge array in a member nobody reads, and a type error elsewhere, so that
// the object is parsed again for decode_policy.
inline std::string unknown_array(std::size_t bytes) {
  std::string entry = destination("svc", host_list(0, 1), 80, "HTTP");
  entry.replace(entry.find(R"("number":80)"), 11, R"("number":"80")");
  return around(review("CREATE", policy(one_rule(entry), R"(,"extra":MARK)")), bytes, "[", "1", "]");
}

// Arrays nested 500 deep (the parser allows 512), over and over, as hosts of
// the wrong type, after more of them in a member nobody reads.
inline std::string deep_nesting(std::size_t bytes) {
  const std::string deep = std::string(500, '[') + std::string(500, ']');
  std::string unread = "[";
  for (int i = 0; i < 100; ++i) unread += (i == 0 ? "" : ",") + deep;
  unread += ']';
  return around(review("CREATE", policy(one_rule(destination("svc", "MARK", 80, "HTTP")),
                                        R"(,"extra":)" + unread)),
                bytes, "[", deep, "]");
}

}  // namespace asmegress::policy::shapes
