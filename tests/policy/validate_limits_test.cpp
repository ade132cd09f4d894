// Validation at scale: the sharing check (rule 12) against the quadratic
// check it replaced, written here over the JSON as an independent oracle, on
// thousands of random policies; hosts past the schema's 50; and the bounds on
// what a decision reports (errors counted past a thousand, answers of at most
// 30 warnings).

#include <algorithm>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/decode.h"
#include "policy/validate.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

using ::testing::HasSubstr;

// --- Rule 12, the quadratic way ----------------------------------------------

struct Entry {
  std::string path;
  std::string protocol;
  std::vector<std::optional<std::string>> hosts;  // the first 50; nullopt: not a string
  std::optional<std::int64_t> number;
  std::int64_t gateway_port = 0;
};

bool same_destination(const Entry& a, const Entry& b) {
  return a.protocol == b.protocol && *a.hosts.front() == *b.hosts.front() && a.number == b.number;
}

// Every later entry checked against every earlier one on its port, in
// document order, as validate.cpp did before it kept first users by hash.
std::vector<std::pair<std::string, std::string>> oracle(const json& policy) {
  std::vector<Entry> earlier;
  std::vector<std::pair<std::string, std::string>> out;
  const json& rules = policy["spec"]["egressRules"];
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const json& to = rules[i]["to"];
    for (std::size_t j = 0; j < to.size(); ++j) {
      const json& e = to[j];
      const json* port = e.contains("byEgressGateway") ? &e["byEgressGateway"]["port"] : nullptr;
      if (port == nullptr || !port->is_number_integer() || port->get<std::int64_t>() == 0) continue;
      const std::string protocol = e["port"]["protocol"];
      if (protocol != "HTTP" && protocol != "HTTPS" && protocol != "TCP") continue;
      const json& hosts = e["hosts"];
      if (!hosts.is_array() || hosts.empty() || !hosts[0].is_string()) continue;
      Entry d;
      d.path = "spec.egressRules[" + std::to_string(i) + "].to[" + std::to_string(j) + "]";
      d.protocol = protocol;
      for (std::size_t k = 0; k < std::min<std::size_t>(hosts.size(), 50); ++k) {
        d.hosts.push_back(hosts[k].is_string() ? std::optional(hosts[k].get<std::string>())
                                               : std::nullopt);
      }
      if (e["port"].contains("number")) d.number = e["port"]["number"].get<std::int64_t>();
      d.gateway_port = port->get<std::int64_t>();
      std::string conflict;
      for (const Entry& o : earlier) {
        if (o.gateway_port != d.gateway_port || same_destination(d, o)) continue;
        if (d.protocol == "TCP" || o.protocol == "TCP") {
          conflict =
              "already used by " + o.path + "; a TCP service needs a gateway port of its own";
        } else if (d.protocol != o.protocol) {
          conflict = "already used by " + o.path + " (" + o.protocol +
                     "); entries sharing a gateway port must have the same protocol";
        } else {
          for (const auto& h : d.hosts) {
            if (h && std::find(o.hosts.begin(), o.hosts.end(), h) != o.hosts.end()) {
              conflict = "already used by " + o.path + " for host \"" + *h +
                         "\"; entries sharing a gateway port must not share a host";
              break;
            }
          }
        }
        if (!conflict.empty()) break;
      }
      if (!conflict.empty()) {
        out.emplace_back(d.path + ".byEgressGateway.port",
                         "Invalid value: " + std::to_string(d.gateway_port) + ": " + conflict);
      }
      earlier.push_back(d);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> sharing_errors(const FieldErrors& errors) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FieldError& e : errors) {
    if (e.detail.starts_with("already used by")) out.emplace_back(e.field, e.body());
  }
  return out;
}

json random_policy(std::mt19937& random) {
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  static const std::vector<std::string> pool = {"a.example.com", "b.example.com", "c.example.com",
                                                "d.example.com", "10.0.0.1",      "e.example.com"};
  static const std::vector<std::string> protocols = {"HTTP",  "HTTP", "HTTPS",
                                                     "HTTPS", "TCP",  "FTP"};
  static const std::vector<int> ports = {10000, 10000, 10001, 10001, 10002, 0};
  std::vector<std::vector<json>> rules(static_cast<std::size_t>(1 + pick(3)));
  int serial = 0;
  for (auto& rule : rules) {
    const int n = 1 + pick(12);
    for (int i = 0; i < n; ++i) {
      json hosts = json::array();
      const int count = pick(20) == 0 ? 55 : 1 + pick(4);
      for (int k = 0; k < count; ++k) {
        if (pick(30) == 0) {
          hosts.push_back(7);
        } else {
          hosts.push_back(count > 50 ? "h" + std::to_string(k) + ".example.com"
                                     : pool[static_cast<std::size_t>(pick(6))]);
        }
      }
      if (count > 50 && pick(2) == 0) hosts[52] = pool[static_cast<std::size_t>(pick(6))];
      const int port = ports[static_cast<std::size_t>(pick(6))];
      json entry =
          make_entry("e" + std::to_string(serial++), protocols[static_cast<std::size_t>(pick(6))],
                     hosts, pick(2) == 0 ? 80 : 443,
                     port == 0 ? std::nullopt : std::optional<json>(json{{"port", port}}));
      if (pick(15) == 0) entry["port"].erase("number");
      rule.push_back(entry);
    }
  }
  return make_policy(rules);
}

// The errors of rule 12 are those the quadratic check gives, in the same
// order with the same messages, on thousands of policies crowded onto three
// ports with hosts from a pool of six.
TEST(Sharing, AgreesWithTheQuadraticCheck) {
  std::mt19937 random(12);
  std::size_t conflicts = 0;
  for (int round = 0; round < 4000; ++round) {
    const json policy = random_policy(random);
    const ValidationResult r = validate_policy(to_boost(policy), nullptr, Operation::Create, {});
    const auto want = oracle(policy);
    conflicts += want.size();
    if (r.errors.size() >= kMaxReportedErrors) continue;  // some not shown
    ASSERT_EQ(sharing_errors(r.errors), want) << policy.dump();
  }
  EXPECT_GT(conflicts, 4000U) << "the generator makes too few conflicts to test anything";
}

// Past the schema's 50 hosts an entry is invalid whatever they are: they are
// counted, and neither checked nor compared.
TEST(Sharing, HostsPastTheFiftiethAreNotCompared) {
  json hosts = json::array();
  for (int k = 0; k < 60; ++k) hosts.push_back("h" + std::to_string(k) + ".example.com");
  hosts[55] = "www.example.com";
  hosts[56] = "h3.example.com";  // a repeat, past the limit
  const json policy =
      make_policy({{make_entry("a", "HTTP", {"www.example.com"}, 80, json{{"port", 10000}}),
                    make_entry("b", "HTTP", hosts, 80, json{{"port", 10000}})}});
  const ValidationResult r = validate_policy(to_boost(policy), nullptr, Operation::Create, {});
  ASSERT_EQ(r.errors.size(), 1U) << describe(r.errors);
  EXPECT_EQ(r.errors[0].message(),
            "spec.egressRules[0].to[1].hosts: Too many: 60: must have at most 50 items");
}

// --- Allocation at scale -----------------------------------------------------

// The whole range handed out, lowest first: 9,984 services of their own
// fill it (16 of its ports are Istio's); 16 more are refused, one error
// each.
TEST(Allocation, TheWholeRangeThenOneErrorPerServiceLeft) {
  auto services = [](int n) {
    std::vector<json> to;
    for (int i = 0; i < n; ++i) {
      to.push_back(make_entry("svc-" + std::to_string(i), i % 2 == 0 ? "HTTPS" : "TCP",
                              {"s" + std::to_string(i) + ".example.com"}, 443));
    }
    return make_policy({to});
  };
  const MutationResult full = mutate_policy(to_boost(services(9984)), nullptr, {});
  ASSERT_TRUE(full.errors.empty()) << describe(full.errors);
  EXPECT_EQ(full.ports_allocated, 9984U);
  const json result = to_nl(full.object);
  EXPECT_EQ(gateway_port(result, 0, 0), 10001);
  EXPECT_EQ(gateway_port(result, 0, 4998), 14999);
  EXPECT_EQ(gateway_port(result, 0, 4999), 15003);  // 15000-15002 are Istio's
  EXPECT_EQ(gateway_port(result, 0, 9983), 20000);

  const MutationResult over = mutate_policy(to_boost(services(10000)), nullptr, {});
  ASSERT_EQ(over.errors.size(), 16U);
  EXPECT_EQ(over.errors.front().field, "spec.egressRules[0].to[9984].byEgressGateway.port");
  EXPECT_EQ(over.errors.back().field, "spec.egressRules[0].to[9999].byEgressGateway.port");
  EXPECT_TRUE(over.patch_json.empty());
}

// --- What a decision reports -------------------------------------------------

json multi_host_policy(std::size_t entries) {
  std::vector<json> to;
  for (std::size_t i = 0; i < entries; ++i) {
    to.push_back(make_entry(
        "svc-" + std::to_string(i), "TCP",
        {"db" + std::to_string(i) + ".example.com", "db" + std::to_string(i) + "-b.example.com"},
        5432, json{{"port", 20001 + static_cast<int>(i)}}));
  }
  return make_policy({to});
}

// Each entry draws two warnings (TCP to a domain, several hosts).
TEST(Warnings, AtMostThirtyThenOneSayingHowManyMore) {
  struct Case {
    std::size_t entries;
    std::size_t lines;
    std::string last;  // "" when the last is a warning of its own
  };
  for (const Case& c : {Case{15, 30, ""}, Case{16, 31, "and 2 more warnings"},
                        Case{2000, 31, "and 3970 more warnings"}}) {
    SCOPED_TRACE(c.entries);
    const ValidationResult r =
        validate_policy(to_boost(multi_host_policy(c.entries)), nullptr, Operation::Create, {});
    EXPECT_TRUE(r.errors.empty()) << describe(r.errors);
    ASSERT_EQ(r.warnings.size(), c.lines);
    if (!c.last.empty()) {
      EXPECT_EQ(r.warnings.back(), c.last);
    }
    for (const std::string& w : r.warnings) EXPECT_LE(w.size(), kMaxWarningLength) << w;
  }
}

TEST(Warnings, OneMoreIsSaidSo) {
  json policy = multi_host_policy(15);
  policy["spec"]["egressRules"][0]["to"][0]["hosts"] = {"10.0.0.1",
                                                        "10.0.0.2"};  // one warning less
  policy["spec"]["egressRules"][0]["to"].push_back(
      make_entry("extra", "TCP", {"x.example.com"}, 5432, json{{"port", 30000}}));  // one more
  policy["spec"]["egressRules"][0]["to"].push_back(
      make_entry("extra2", "TCP", {"y.example.com"}, 5432, json{{"port", 30001}}));
  const ValidationResult r = validate_policy(to_boost(policy), nullptr, Operation::Create, {});
  ASSERT_EQ(r.warnings.size(), 31U);
  EXPECT_EQ(r.warnings.back(), "and 1 more warning");
}

// A 1.9 MiB policy of multi-host TCP entries drew 19,000 warnings, a 1.6 MiB
// answer.
TEST(Warnings, AReviewOfThousandsOfWarningsIsAnsweredInAFewKilobytes) {
  ReviewSpec spec;
  spec.object = multi_host_policy(9500);
  const std::string body = make_review(spec).dump();
  ASSERT_GT(body.size(), 1'450'000U);
  const ReviewOutcome out = answer_review(body, WebhookKind::Validating, {});
  ASSERT_TRUE(out.well_formed) << out.body.substr(0, 300);
  EXPECT_TRUE(out.summary.allowed);
  EXPECT_EQ(out.summary.warnings, 31U);
  EXPECT_LT(out.body.size(), 8000U);
  EXPECT_THAT(out.body, HasSubstr("and 18970 more warnings"));
}

// Errors past a thousand are counted, not made; the answer shows a hundred
// and says how many more, exactly.
TEST(Errors, PastAThousandTheyAreCountedAndTheCountIsExact) {
  std::vector<json> to;
  for (int i = 0; i < 5000; ++i) {
    // Three errors each: name, protocol, gateway port.
    to.push_back(make_entry("Bad_" + std::to_string(i), "FTP",
                            {"h" + std::to_string(i) + ".example.com"}, 80, json{{"port", 70000}}));
  }
  const json policy = make_policy({to});
  const boost::json::value object = to_boost(policy);
  const DecodedPolicy decoded = decode_policy(object);
  FieldErrors errors;
  Warnings warnings;
  validate(decoded.policy, {}, errors, warnings);
  EXPECT_EQ(errors.size(), FieldErrors::kKept);
  EXPECT_EQ(errors.reported(), 15000U);

  const ValidationResult r = validate_policy(to_boost(policy), nullptr, Operation::Create, {});
  ASSERT_EQ(r.errors.size(), kMaxReportedErrors + 1);
  EXPECT_EQ(r.errors.back().message(),
            "<object>: Too many: 14900: more errors not shown; fix the ones above first");
  // The first hundred are those a list without a bound starts with.
  EXPECT_EQ(r.errors[0].field, "spec.egressRules[0].to[0].name");
  EXPECT_EQ(r.errors[98].field, "spec.egressRules[0].to[32].byEgressGateway.port");
  EXPECT_EQ(r.errors[99].field, "spec.egressRules[0].to[33].name");
}

}  // namespace
}  // namespace asmegress::policy::test
