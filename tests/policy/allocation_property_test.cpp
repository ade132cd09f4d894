// Property test of the allocator: random valid policies with every gateway port
// blank (seeded std::mt19937, so failures reproduce) always get the ports the
// README's rule gives -- HTTP on 10000, one port per distinct (hosts[0],
// port.number) from 10001..20000 in document order, reserved ports skipped --
// deterministically, idempotently, and the result is a valid policy.
//
// The generator keeps results valid under rule 12: HTTP destinations (which all
// share 10000) have pairwise disjoint hosts, and a (hosts[0], number) key always
// belongs to the same destination (protocol and number), so entries that end up
// on one port are the same destination.

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/policy/json_diff.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

constexpr std::int64_t kHttpPort = 10000;
constexpr std::int64_t kFirst = 10001;
constexpr std::int64_t kLast = 20000;

struct Destination {
  std::string protocol;
  std::vector<std::string> hosts;
  int number = 0;
  bool https_upgrade = false;
  [[nodiscard]] std::pair<std::string, int> key() const { return {hosts.front(), number}; }
};

class PolicyGenerator {
 public:
  explicit PolicyGenerator(std::uint32_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  template <typename T>
  const T& one_of(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(pick(static_cast<int>(v.size())))];
  }

  // A new destination whose key no earlier destination has.
  Destination destination() {
    for (;;) {
      Destination d;
      const int kind = pick(5);
      if (kind == 0) {
        d.protocol = "HTTP";
        const std::string base = "web" + std::to_string(serial_++) + ".example.com";
        d.hosts = {base};
        if (pick(2) == 0) d.hosts.push_back("www." + base);
        if (pick(3) == 0) d.hosts.push_back("*." + base);
        d.number = pick(2) == 0 ? 80 : 8080;
        d.https_upgrade = pick(2) == 0;
      } else {
        d.protocol = kind <= 2 ? "HTTPS" : "TCP";
        static const std::vector<std::string> firsts = {
            "a.example.com", "b.example.com", "c.example.org", "10.1.0.1", "10.1.0.2",
            "2001:db8::5",   "d.example.io"};
        d.hosts = {one_of(firsts)};
        static const std::vector<int> numbers = {443, 8443, 9000, 5432};
        d.number = one_of(numbers);
        const int extra = pick(3);
        for (int i = 0; i < extra; ++i) {
          std::string h = d.protocol == "HTTPS" && pick(3) == 0
                              ? "*.w" + std::to_string(serial_++) + ".example.net"
                              : "x" + std::to_string(serial_++) + ".example.net";
          d.hosts.push_back(h);
        }
      }
      if (d.protocol == "HTTP" || used_keys_.insert(d.key()).second) return d;
    }
  }

  json blank_gateway_form(json entry) {
    switch (pick(5)) {
      case 0: break;  // absent
      case 1: entry["byEgressGateway"] = json::object(); break;
      case 2: entry["byEgressGateway"] = nullptr; break;
      case 3: entry["byEgressGateway"] = json{{"port", 0}}; break;
      default: entry["byEgressGateway"] = json{{"port", nullptr}}; break;
    }
    return entry;
  }

  json entry_for(const Destination& d) {
    json e = json::object();
    e["name"] = "e" + std::to_string(serial_++);
    e["hosts"] = d.hosts;
    e["port"] = json{{"name", "p"}, {"number", d.number}, {"protocol", d.protocol}};
    if (d.https_upgrade) e["httpsUpgrade"] = json{{"enabled", true}, {"port", 443}};
    return blank_gateway_form(std::move(e));
  }

  // Rules of entries drawn from `pool`, so that the same destination often
  // appears in several rules.
  std::vector<std::vector<json>> rules_from(const std::vector<Destination>& pool) {
    std::vector<std::vector<json>> rules(static_cast<std::size_t>(1 + pick(4)));
    for (auto& rule : rules) {
      const int n = 1 + pick(5);
      for (int i = 0; i < n; ++i) rule.push_back(entry_for(one_of(pool)));
    }
    return rules;
  }

  Settings settings() {
    Settings s;
    if (pick(2) == 0) {
      const int n = pick(12);
      for (int i = 0; i < n; ++i) s.reserved_ports.insert(static_cast<std::uint32_t>(10001 + pick(30)));
    }
    return s;
  }

 private:
  std::mt19937 rng_;
  int serial_ = 0;
  std::set<std::pair<std::string, int>> used_keys_;
};

std::pair<std::string, int> key_of(const json& entry) {
  return {entry.at("hosts").at(0).get<std::string>(), entry.at("port").at("number").get<int>()};
}

// The README's rule, computed here from the entries alone: kept ports first, then
// the lowest free port for each new key in document order.
std::vector<std::int64_t> expected_ports(const json& policy, const Settings& s,
                                         const std::map<std::pair<std::string, int>, std::int64_t>&
                                             kept_from_old = {}) {
  std::map<std::pair<std::string, int>, std::int64_t> assigned;
  std::set<std::int64_t> taken;
  for (const auto& rule : policy.at("spec").at("egressRules")) {
    for (const auto& e : rule.at("to")) {
      if (e.at("port").at("protocol") == "HTTP") continue;
      const auto it = kept_from_old.find(key_of(e));
      if (it != kept_from_old.end()) {
        assigned[it->first] = it->second;
        taken.insert(it->second);
      }
    }
  }
  std::vector<std::int64_t> out;
  std::int64_t next = kFirst;
  for (const auto& rule : policy.at("spec").at("egressRules")) {
    for (const auto& e : rule.at("to")) {
      if (e.at("port").at("protocol") == "HTTP") {
        out.push_back(kHttpPort);
        continue;
      }
      const auto key = key_of(e);
      auto it = assigned.find(key);
      if (it == assigned.end()) {
        while (taken.count(next) != 0 || s.reserved_ports.count(static_cast<std::uint32_t>(next)) != 0) {
          ++next;
        }
        it = assigned.emplace(key, next).first;
        taken.insert(next);
      }
      out.push_back(it->second);
    }
  }
  return out;
}

std::vector<std::int64_t> actual_ports(const json& policy) {
  std::vector<std::int64_t> out;
  const json& rules = policy.at("spec").at("egressRules");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    for (std::size_t j = 0; j < rules.at(i).at("to").size(); ++j) {
      out.push_back(gateway_port(policy, i, j).value_or(-1));
    }
  }
  return out;
}

// Everything that must hold of one mutation; returns the mutated object.
json check_mutation(const json& input, const json* old, const Settings& s,
                    const std::vector<std::int64_t>& want) {
  const boost::json::value in = to_boost(input);
  boost::json::value old_value;
  if (old) old_value = to_boost(*old);
  const boost::json::value* old_ptr = old ? &old_value : nullptr;

  const MutationResult r = mutate_policy(in, old_ptr, s);
  EXPECT_TRUE(r.errors.empty()) << describe(r.errors);
  const json out = to_nl(r.object);
  const boost::json::array ops = patch_array(r);
  const json patch = to_nl(ops);

  // Deterministic: the same input gives byte-identical results.
  const MutationResult again = mutate_policy(in, old_ptr, s);
  EXPECT_EQ(boost::json::serialize(again.object), boost::json::serialize(r.object));
  EXPECT_EQ(again.patch_json, r.patch_json);

  EXPECT_EQ(apply_patch(input, patch), out) << "patch: " << patch.dump();
  EXPECT_TRUE(patch_is_the_diff(in, r));

  const std::vector<std::int64_t> got = actual_ports(out);
  EXPECT_EQ(got, want);
  // The invariants, independently of the exact expectation above.
  std::map<std::pair<std::string, int>, std::int64_t> port_of_key;
  std::map<std::int64_t, std::pair<std::string, int>> key_of_port;
  std::size_t k = 0;
  for (const auto& rule : out.at("spec").at("egressRules")) {
    for (const auto& e : rule.at("to")) {
      const std::int64_t p = got.at(k++);
      if (e.at("port").at("protocol") == "HTTP") {
        EXPECT_EQ(p, kHttpPort);
        continue;
      }
      EXPECT_GE(p, kFirst);
      EXPECT_LE(p, kLast);
      EXPECT_EQ(s.reserved_ports.count(static_cast<std::uint32_t>(p)), 0U) << p;
      const auto key = key_of(e);
      const auto [pk, new_key] = port_of_key.emplace(key, p);
      EXPECT_EQ(pk->second, p) << "same key, same port: " << key.first << ":" << key.second;
      const auto [kp, new_port] = key_of_port.emplace(p, key);
      EXPECT_EQ(kp->second, key) << "port " << p << " given to two keys";
    }
  }

  // Idempotent.
  const MutationResult second = mutate_policy(r.object, old_ptr, s);
  EXPECT_TRUE(second.patch_json.empty()) << second.patch_json;

  // Valid, with only short warnings.
  const ValidationResult v =
      validate_policy(r.object, old_ptr, old ? Operation::Update : Operation::Create, s);
  EXPECT_TRUE(v.errors.empty()) << describe(v.errors) << out.dump(1);
  for (const auto& w : v.warnings) EXPECT_LE(w.size(), 120U) << w;
  return out;
}

TEST(AllocationProperty, RandomBlankPoliciesOnCreate) {
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PolicyGenerator gen(seed);
    const Settings s = gen.settings();
    std::vector<Destination> pool;
    const int n = 1 + gen.pick(8);
    for (int i = 0; i < n; ++i) pool.push_back(gen.destination());
    const json input = make_policy(gen.rules_from(pool));

    const ValidationResult before = validate_policy(to_boost(input), nullptr, Operation::Create, s);
    ASSERT_TRUE(before.errors.empty()) << "generator made an invalid policy\n"
                                       << describe(before.errors) << input.dump(1);
    (void)check_mutation(input, nullptr, s, expected_ports(input, s));
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(AllocationProperty, RandomUpdatesKeepSurvivingKeys) {
  for (std::uint32_t seed = 1001; seed <= 1200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PolicyGenerator gen(seed);
    const Settings s = gen.settings();
    std::vector<Destination> pool;
    const int n = 1 + gen.pick(8);
    for (int i = 0; i < n; ++i) pool.push_back(gen.destination());
    const json created = make_policy(gen.rules_from(pool));
    const json stored = check_mutation(created, nullptr, s, expected_ports(created, s));
    if (::testing::Test::HasFailure()) break;

    // Ports the stored object has, by key.
    std::map<std::pair<std::string, int>, std::int64_t> old_ports;
    {
      const std::vector<std::int64_t> ports = actual_ports(stored);
      std::size_t k = 0;
      for (const auto& rule : stored.at("spec").at("egressRules")) {
        for (const auto& e : rule.at("to")) {
          const std::int64_t p = ports.at(k++);
          if (e.at("port").at("protocol") != "HTTP") old_ports.emplace(key_of(e), p);
        }
      }
    }

    // The next version: some old destinations dropped, some new ones, fresh
    // entries with blank ports, in a new order.
    std::vector<Destination> next_pool;
    for (const auto& d : pool) {
      if (gen.pick(3) != 0) next_pool.push_back(d);
    }
    const int added = gen.pick(4) + (next_pool.empty() ? 1 : 0);
    for (int i = 0; i < added; ++i) next_pool.push_back(gen.destination());
    const json next = make_policy(gen.rules_from(next_pool));

    std::map<std::pair<std::string, int>, std::int64_t> kept;
    for (const auto& rule : next.at("spec").at("egressRules")) {
      for (const auto& e : rule.at("to")) {
        if (e.at("port").at("protocol") == "HTTP") continue;
        const auto it = old_ports.find(key_of(e));
        if (it != old_ports.end()) kept.insert(*it);
      }
    }
    (void)check_mutation(next, &stored, s, expected_ports(next, s, kept));
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(AllocationProperty, ManyKeysCrossTheIstioPorts) {
  // 5100 distinct keys: allocation walks past 15000..15090, where most of the
  // default reserved ports are, and never hands one out.
  std::vector<json> entries;
  for (int i = 0; i < 5100; ++i) {
    entries.push_back(make_entry("s" + std::to_string(i), i % 2 == 0 ? "HTTPS" : "TCP",
                                 {"h" + std::to_string(i) + ".example.com"}, 443));
  }
  const json input = make_policy({entries});
  const Settings s;
  const MutationResult r = mutate_policy(to_boost(input), nullptr, s);
  ASSERT_TRUE(r.errors.empty()) << describe(r.errors);
  const std::vector<std::int64_t> got = actual_ports(to_nl(r.object));
  EXPECT_EQ(got, expected_ports(input, s));
  std::set<std::int64_t> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), got.size());
  for (const std::uint32_t reserved : s.reserved_ports) {
    EXPECT_EQ(distinct.count(reserved), 0U) << reserved;
  }
  // 15 of the 16 Istio ports lie below the last one (15443 is above it).
  EXPECT_EQ(got.back(), 10000 + 5100 + 15);
}

}  // namespace
}  // namespace asmegress::policy::test
