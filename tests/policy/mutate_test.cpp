// mutate_policy against policy/README.md "Mutation (port allocation)". Every
// returned patch is applied with nlohmann::json's patch() to the input and must
// give the returned object.

#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/policy/json_diff.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

using ::testing::UnorderedElementsAreArray;

constexpr const char* kAnnotation = "asm-egress-webhook/port-allocation";

struct Mutated {
  json input;
  json object;
  json patch;
  MutationResult result;
};

// Mutates, and checks what must hold of every mutation: the patch, applied by an
// independent implementation, turns the input into the returned object, and it
// is exactly what a diff of the two gives (the engine writes the operations
// without diffing).
Mutated mutate(const json& input, const json* old = nullptr, const Settings& settings = {}) {
  const boost::json::value in = to_boost(input);
  boost::json::value old_value;
  if (old) old_value = to_boost(*old);
  MutationResult r = mutate_policy(in, old ? &old_value : nullptr, settings);
  EXPECT_TRUE(patch_is_the_diff(in, r));
  const boost::json::array ops = patch_array(r);
  Mutated m{input, to_nl(r.object), to_nl(ops), std::move(r)};
  EXPECT_TRUE(m.patch.is_array());
  json patched;
  try {
    patched = apply_patch(input, m.patch);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "patch does not apply: " << e.what() << "\npatch: " << m.patch.dump();
    return m;
  }
  EXPECT_EQ(patched, m.object) << "patch: " << m.patch.dump();
  return m;
}

// Ports of every entry, by to[].name (0 when the entry has no numeric port).
std::map<std::string, std::int64_t> ports_by_name(const json& policy) {
  std::map<std::string, std::int64_t> out;
  const json& rules = policy.at("spec").at("egressRules");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const json& to = rules.at(i).at("to");
    for (std::size_t j = 0; j < to.size(); ++j) {
      out[to.at(j).at("name").get<std::string>()] = gateway_port(policy, i, j).value_or(0);
    }
  }
  return out;
}

bool has_annotation(const json& policy) {
  const json& md = policy.at("metadata");
  return md.contains("annotations") && md.at("annotations").is_object() &&
         md.at("annotations").contains(kAnnotation) &&
         md.at("annotations").at(kAnnotation) == "auto";
}

json annotated(json policy) {
  policy["metadata"]["annotations"][kAnnotation] = "auto";
  return policy;
}

void expect_idempotent(const Mutated& m, const json* old = nullptr,
                       const Settings& settings = {}) {
  const Mutated again = mutate(m.object, old, settings);
  EXPECT_EQ(again.patch, json::array()) << "second mutation patched: " << again.patch.dump();
  EXPECT_EQ(again.object, m.object);
  EXPECT_TRUE(again.result.errors.empty()) << describe(again.result.errors);
}

void expect_valid(const json& policy, const json* old = nullptr) {
  boost::json::value old_value;
  if (old) old_value = to_boost(*old);
  const ValidationResult r = validate_policy(to_boost(policy), old ? &old_value : nullptr,
                                             old ? Operation::Update : Operation::Create, {});
  EXPECT_TRUE(r.errors.empty()) << describe(r.errors) << policy.dump(2);
}

json https(const std::string& name, const std::string& host, int number = 443,
           std::optional<json> gw = std::nullopt) {
  return make_entry(name, "HTTPS", {host}, number, std::move(gw));
}
json tcp(const std::string& name, const std::string& host, int number,
         std::optional<json> gw = std::nullopt) {
  return make_entry(name, "TCP", {host}, number, std::move(gw));
}
json http(const std::string& name, const std::string& host, std::optional<json> gw = std::nullopt) {
  return make_entry(name, "HTTP", {host}, 80, std::move(gw));
}
json port(int p) { return json{{"port", p}}; }

// ---------------------------------------------------------------------------

TEST(Mutation, SeedAutoPortsGetsTheDocumentedPorts) {
  const json seed = load_json(kSeedAutoPorts);
  const Mutated m = mutate(seed);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  const std::map<std::string, std::int64_t> want = {{"aliyun-com-http", 10000},
                                                    {"aliyun-https", 10001},
                                                    {"https-upgrade", 10000},
                                                    {"tcp-svc1", 10002},
                                                    {"tcp-svc2", 10003}};
  EXPECT_EQ(ports_by_name(m.object), want);
  EXPECT_TRUE(has_annotation(m.object)) << m.object.at("metadata").dump();
  EXPECT_GT(m.result.ports_allocated, 0U);
  // Nothing but the ports and the annotation changed.
  json stripped = m.object;
  stripped["metadata"].erase("annotations");
  for (auto& e : stripped["spec"]["egressRules"][0]["to"]) e.erase("byEgressGateway");
  EXPECT_EQ(stripped, seed);
  expect_valid(m.object);
  expect_idempotent(m);
}

TEST(Mutation, SeedsWithExplicitPortsAreUntouched) {
  for (const char* fixture : {kSeedHttp, kSeedHttpsUpgrade, kExplicitPorts}) {
    const Mutated m = mutate(load_json(fixture));
    EXPECT_EQ(m.patch, json::array()) << fixture;
    EXPECT_EQ(m.object, m.input) << fixture;
    EXPECT_TRUE(m.result.errors.empty()) << fixture << describe(m.result.errors);
    EXPECT_EQ(m.result.ports_allocated, 0U) << fixture;
  }
}

// How each blank form of to[].byEgressGateway becomes a port, as RFC 6902 ops.
struct BlankForm {
  std::string name;
  std::optional<json> gateway;  // nullopt: absent
  std::string op;
  std::string suffix;  // appended to .../byEgressGateway
  bool whole_object;   // value is {"port": N} rather than N
};

class BlankForms : public ::testing::TestWithParam<BlankForm> {};

TEST_P(BlankForms, AllocatedWithTheDocumentedPatch) {
  const BlankForm& f = GetParam();
  const json input = make_policy({{http("web", "www.example.com", f.gateway),
                                   https("api", "api.example.com", 443, f.gateway),
                                   tcp("db", "10.0.0.1", 5432, f.gateway)}});
  const Mutated m = mutate(input);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  const std::map<std::string, std::int64_t> want = {{"web", 10000}, {"api", 10001}, {"db", 10002}};
  EXPECT_EQ(ports_by_name(m.object), want);

  std::vector<json> ops;
  ops.push_back(op_add("/metadata/annotations", json{{kAnnotation, "auto"}}));
  const std::vector<std::int64_t> ports = {10000, 10001, 10002};
  for (std::size_t j = 0; j < 3; ++j) {
    const std::string path = "/spec/egressRules/0/to/" + std::to_string(j) + "/byEgressGateway";
    json value = ports[j];
    if (f.whole_object) value = json{{"port", ports[j]}};
    ops.push_back(json{{"op", f.op}, {"path", path + f.suffix}, {"value", value}});
  }
  EXPECT_THAT(m.patch, UnorderedElementsAreArray(ops)) << m.patch.dump(2);
  expect_idempotent(m);
  expect_valid(m.object);
}

INSTANTIATE_TEST_SUITE_P(
    Mutation, BlankForms,
    ::testing::Values(BlankForm{"absent", std::nullopt, "add", "", true},
                      BlankForm{"empty_object", json::object(), "add", "/port", false},
                      BlankForm{"null", json(nullptr), "replace", "", true},
                      BlankForm{"port_0", json{{"port", 0}}, "replace", "/port", false},
                      BlankForm{"port_null", json{{"port", nullptr}}, "replace", "/port", false}),
    [](const ::testing::TestParamInfo<BlankForm>& param) { return param.param.name; });

TEST(Mutation, AnnotationAddedBesideExistingAnnotations) {
  json input = make_policy({{https("api", "api.example.com")}});
  input["metadata"]["annotations"] = json{{"team", "payments"}};
  const Mutated m = mutate(input);
  const std::vector<json> ops = {
      op_add("/metadata/annotations/asm-egress-webhook~1port-allocation", "auto"),
      op_add("/spec/egressRules/0/to/0/byEgressGateway", json{{"port", 10001}})};
  EXPECT_THAT(m.patch, UnorderedElementsAreArray(ops)) << m.patch.dump(2);
  EXPECT_EQ(m.object["metadata"]["annotations"]["team"], "payments");
}

TEST(Mutation, MixedWithoutAnnotationIsNotPatched) {
  const json input =
      make_policy({{https("api", "api.example.com", 443, port(10001)), https("cdn", "cdn.example.com"),
                    tcp("db", "10.0.0.1", 5432, json::object())}});
  const Mutated m = mutate(input);
  EXPECT_EQ(m.patch, json::array());
  EXPECT_EQ(m.object, input);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  EXPECT_EQ(m.result.ports_allocated, 0U);

  const ValidationResult v = validate_policy(to_boost(input), nullptr, Operation::Create, {});
  EXPECT_THAT(errs_of(v.errors),
              UnorderedElementsAreArray(std::vector<Err>{
                  {ErrorType::Required, "spec.egressRules[0].to[1].byEgressGateway.port"},
                  {ErrorType::Required, "spec.egressRules[0].to[2].byEgressGateway.port"}}))
      << describe(v.errors);
}

TEST(Mutation, MixedAnnotatedFillsOnlyBlankEntriesSkippingExplicitPorts) {
  const json input = annotated(make_policy(
      {{https("api", "api.example.com", 443, port(10001)), tcp("db", "10.0.0.1", 5432, port(10003)),
        https("cdn", "cdn.example.com"), tcp("cache", "10.0.0.2", 6379), http("web", "www.example.com")}}));
  const Mutated m = mutate(input);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  const std::map<std::string, std::int64_t> want = {
      {"api", 10001}, {"db", 10003}, {"cdn", 10002}, {"cache", 10004}, {"web", 10000}};
  EXPECT_EQ(ports_by_name(m.object), want);
  // Only the three blank entries change; the annotation is already there.
  EXPECT_EQ(m.patch.size(), 3U) << m.patch.dump(2);
  expect_valid(m.object);
  expect_idempotent(m);
}

TEST(Mutation, ExplicitPortsOutsideTheRangeDoNotMatter) {
  const json input = annotated(make_policy(
      {{https("api", "api.example.com", 443, port(444)), https("cdn", "cdn.example.com")}}));
  const Mutated m = mutate(input);
  EXPECT_EQ(ports_by_name(m.object), (std::map<std::string, std::int64_t>{{"api", 444}, {"cdn", 10001}}));
}

TEST(Mutation, SameKeySamePortAcrossRules) {
  const json input = make_policy({{https("a1", "a.example.com"), https("b1", "b.example.com"),
                                   tcp("t1", "10.0.0.1", 22)},
                                  {https("a2", "a.example.com"), https("a3", "a.example.com", 8443),
                                   tcp("t2", "10.0.0.1", 22), http("w", "www.example.com")}});
  const Mutated m = mutate(input);
  const std::map<std::string, std::int64_t> want = {{"a1", 10001}, {"b1", 10002}, {"t1", 10003},
                                                    {"a2", 10001}, {"a3", 10004}, {"t2", 10003},
                                                    {"w", 10000}};
  EXPECT_EQ(ports_by_name(m.object), want);
  expect_valid(m.object);
  expect_idempotent(m);
}

TEST(Mutation, KeyIsFirstHostAndNumber) {
  // Other hosts don't change the key; the first one does.
  const json input = make_policy({{make_entry("x1", "HTTPS", {"a.example.com", "b.example.com"}, 443),
                                   make_entry("x2", "HTTPS", {"a.example.com", "c.example.com"}, 443),
                                   make_entry("x3", "HTTPS", {"b.example.com", "a.example.com"}, 443)}});
  const Mutated m = mutate(input);
  const std::map<std::string, std::int64_t> want = {{"x1", 10001}, {"x2", 10001}, {"x3", 10002}};
  EXPECT_EQ(ports_by_name(m.object), want);
}

TEST(Mutation, ReservedPortsAreSkipped) {
  Settings s;
  s.reserved_ports = {10001, 10002};
  const Mutated m = mutate(load_json(kSeedAutoPorts), nullptr, s);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  const std::map<std::string, std::int64_t> want = {{"aliyun-com-http", 10000},
                                                    {"aliyun-https", 10003},
                                                    {"https-upgrade", 10000},
                                                    {"tcp-svc1", 10004},
                                                    {"tcp-svc2", 10005}};
  EXPECT_EQ(ports_by_name(m.object), want);
  expect_idempotent(m, nullptr, s);
}

TEST(Mutation, DefaultIstioPortsAreSkipped) {
  // Push allocation up to 15000 by reserving 10001..14999 on top of the defaults.
  Settings s = settings_with_reserved(10001, 14999);
  std::vector<json> entries;
  for (int i = 0; i < 7; ++i) {
    entries.push_back(https("svc" + std::to_string(i), "h" + std::to_string(i) + ".example.com"));
  }
  const Mutated m = mutate(make_policy({entries}), nullptr, s);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  // 15000-15002, 15004, 15006, 15008-15010, 15012, 15014 are Istio's.
  const std::vector<std::int64_t> want = {15003, 15005, 15007, 15011, 15013, 15015, 15016};
  for (std::size_t j = 0; j < want.size(); ++j) {
    EXPECT_EQ(gateway_port(m.object, 0, j), want[j]) << "to[" << j << "]";
  }
}

TEST(Mutation, ExhaustedRangeIsAnError) {
  const Settings s = settings_with_reserved(10001, 20000);
  const MutationResult r = mutate_policy(load_boost(kSeedAutoPorts), nullptr, s);
  ASSERT_FALSE(r.errors.empty());
  const std::vector<std::string> can_fail = {"spec.egressRules[0].to[1].byEgressGateway.port",
                                             "spec.egressRules[0].to[3].byEgressGateway.port",
                                             "spec.egressRules[0].to[4].byEgressGateway.port"};
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.type, ErrorType::Forbidden) << e.message();
    EXPECT_THAT(can_fail, ::testing::Contains(e.field)) << e.message();
  }
  EXPECT_THAT(errs_of(r.errors),
              ::testing::Contains(Err{ErrorType::Forbidden, "spec.egressRules[0].to[1].byEgressGateway.port"}));
}

TEST(Mutation, LastFreePortThenExhausted) {
  const Settings s = settings_with_reserved(10001, 19999);
  const json input = make_policy({{https("a", "a.example.com"), https("b", "b.example.com")}});
  const MutationResult r = mutate_policy(to_boost(input), nullptr, s);
  EXPECT_THAT(errs_of(r.errors),
              UnorderedElementsAreArray(std::vector<Err>{
                  {ErrorType::Forbidden, "spec.egressRules[0].to[1].byEgressGateway.port"}}))
      << describe(r.errors);
}

TEST(Mutation, HttpOnlyNeedsNoRange) {
  const Settings s = settings_with_reserved(10001, 20000);
  const Mutated m = mutate(make_policy({{http("a", "a.example.com"), http("b", "b.example.com")}}),
                           nullptr, s);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  EXPECT_EQ(ports_by_name(m.object), (std::map<std::string, std::int64_t>{{"a", 10000}, {"b", 10000}}));
}

TEST(Mutation, UnusableEntriesStayBlank) {
  struct Case {
    std::string name;
    json broken;
  };
  json no_hosts = https("broken", "x.example.com");
  no_hosts.erase("hosts");
  json ftp = make_entry("broken", "FTP", {"x.example.com"}, 21);
  json string_number = https("broken", "x.example.com");
  string_number["port"]["number"] = "443";
  json no_protocol = https("broken", "x.example.com");
  no_protocol["port"].erase("protocol");
  json no_port = https("broken", "x.example.com");
  no_port.erase("port");
  for (const Case& c : {Case{"no_hosts", no_hosts}, Case{"ftp", ftp}, Case{"string_number", string_number},
                        Case{"no_protocol", no_protocol}, Case{"no_port", no_port}}) {
    const json input = make_policy({{http("web", "www.example.com"), c.broken, tcp("db", "10.0.0.1", 5432)}});
    const Mutated m = mutate(input);
    EXPECT_EQ(gateway_port(m.object, 0, 0), 10000) << c.name;
    EXPECT_EQ(gateway_port(m.object, 0, 1), std::nullopt) << c.name << m.object.dump();
    EXPECT_EQ(gateway_port(m.object, 0, 2), 10001) << c.name;
  }
}

TEST(Mutation, MalformedGatewayIsNotBlank) {
  // Blank is absent, null, {} or port 0/null. A badly typed byEgressGateway or
  // port is something the user set: the object is then mixed (and unannotated),
  // so nothing is allocated and validation reports the type error.
  struct Case {
    std::string name;
    json gateway;
  };
  for (const Case& c : {Case{"gateway_string", "10001"}, Case{"gateway_number", 10001},
                        Case{"gateway_array", json::array({10001})},
                        Case{"port_string", json{{"port", "10001"}}},
                        Case{"port_float", json{{"port", 10001.5}}},
                        Case{"port_negative", json{{"port", -5}}}}) {
    const json input = make_policy({{https("api", "api.example.com"),
                                     https("cdn", "cdn.example.com", 443, c.gateway),
                                     tcp("db", "10.0.0.1", 5432)}});
    const Mutated m = mutate(input);
    EXPECT_EQ(m.patch, json::array()) << c.name << ": " << m.patch.dump();
    EXPECT_EQ(m.object, input) << c.name;
  }
}

TEST(Mutation, GenerateNameOnCreate) {
  json input = load_json(kSeedAutoPorts);
  input["metadata"].erase("name");
  input["metadata"]["generateName"] = "egress-by-egressgateway-a-";
  const Mutated m = mutate(input);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  EXPECT_EQ(ports_by_name(m.object).at("tcp-svc2"), 10003);
  EXPECT_FALSE(m.object["metadata"].contains("name"));
  expect_idempotent(m);
}

// --- UPDATE ----------------------------------------------------------------

TEST(MutationUpdate, OldPortsAreKeptAndReservedBeforeNewKeys) {
  const Mutated first = mutate(make_policy({{https("a", "a.example.com"), tcp("b", "10.0.0.1", 22)}}));
  ASSERT_EQ(ports_by_name(first.object),
            (std::map<std::string, std::int64_t>{{"a", 10001}, {"b", 10002}}));
  // The new key comes first in document order, yet the surviving keys keep theirs.
  const json next = make_policy(
      {{https("n", "n.example.com"), https("a", "a.example.com"), tcp("b", "10.0.0.1", 22)}});
  const Mutated m = mutate(next, &first.object);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  EXPECT_EQ(ports_by_name(m.object),
            (std::map<std::string, std::int64_t>{{"n", 10003}, {"a", 10001}, {"b", 10002}}));
  expect_valid(m.object, &first.object);
  expect_idempotent(m, &first.object);
}

TEST(MutationUpdate, RemovedKeysFreeTheirPorts) {
  const Mutated first = mutate(make_policy({{https("a", "a.example.com"), tcp("b", "10.0.0.1", 22)}}));
  const json next = make_policy({{tcp("b", "10.0.0.1", 22), https("c", "c.example.com")}});
  const Mutated m = mutate(next, &first.object);
  EXPECT_EQ(ports_by_name(m.object),
            (std::map<std::string, std::int64_t>{{"b", 10002}, {"c", 10001}}));
  expect_idempotent(m, &first.object);
}

TEST(MutationUpdate, KeysSurviveReorderingAndRenaming) {
  const Mutated first = mutate(make_policy({{https("a", "a.example.com"), https("b", "b.example.com"),
                                            tcp("c", "10.0.0.1", 22)}}));
  const json next = make_policy({{tcp("c-renamed", "10.0.0.1", 22)},
                                 {https("b", "b.example.com"), https("a", "a.example.com")}});
  const Mutated m = mutate(next, &first.object);
  EXPECT_EQ(ports_by_name(m.object),
            (std::map<std::string, std::int64_t>{{"a", 10001}, {"b", 10002}, {"c-renamed", 10003}}));
}

TEST(MutationUpdate, ExplicitPortTakesPrecedenceOverOldPort) {
  const Mutated first = mutate(make_policy({{https("a", "a.example.com"), tcp("b", "10.0.0.1", 22)}}));
  ASSERT_TRUE(has_annotation(first.object));
  json next = annotated(make_policy({{https("x", "x.example.com", 443, port(10001)),
                                      https("a", "a.example.com"), tcp("b", "10.0.0.1", 22, port(10002))}}));
  const Mutated m = mutate(next, &first.object);
  EXPECT_EQ(ports_by_name(m.object),
            (std::map<std::string, std::int64_t>{{"x", 10001}, {"a", 10003}, {"b", 10002}}));
}

TEST(MutationUpdate, BlankEntryAddedToAutoAllocatedObject) {
  const Mutated first = mutate(load_json(kSeedAutoPorts));
  ASSERT_TRUE(has_annotation(first.object));
  json next = first.object;  // as kubectl apply sends it: ports and annotation kept
  next["spec"]["egressRules"][0]["to"].push_back(tcp("tcp-svc3", "2.2.2.2", 22));
  const Mutated m = mutate(next, &first.object);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  EXPECT_EQ(ports_by_name(m.object).at("tcp-svc3"), 10004);
  EXPECT_EQ(m.patch, json::array({op_add("/spec/egressRules/0/to/5/byEgressGateway",
                                         json{{"port", 10004}})}));
  expect_valid(m.object, &first.object);
  expect_idempotent(m, &first.object);
}

TEST(MutationUpdate, AnnotationOnOldObjectOnly) {
  const Mutated first = mutate(load_json(kSeedAutoPorts));
  json next = first.object;
  next["metadata"].erase("annotations");
  next["spec"]["egressRules"][0]["to"].push_back(https("new-https", "new.example.com"));
  const Mutated m = mutate(next, &first.object);
  EXPECT_TRUE(m.result.errors.empty()) << describe(m.result.errors);
  EXPECT_EQ(ports_by_name(m.object).at("new-https"), 10004);
  EXPECT_EQ(ports_by_name(m.object).at("tcp-svc2"), 10003);
  EXPECT_TRUE(has_annotation(m.object)) << "the allocator marks every object it allocated for";
  expect_valid(m.object, &first.object);
}

TEST(MutationUpdate, MixedWithoutAnnotationAnywhereIsNotPatched) {
  const json old = make_policy({{https("a", "a.example.com", 443, port(10001))}});
  const json next = make_policy(
      {{https("a", "a.example.com", 443, port(10001)), https("b", "b.example.com")}});
  const Mutated m = mutate(next, &old);
  EXPECT_EQ(m.patch, json::array());
}

TEST(MutationUpdate, AllBlankAgainAfterExplicitPorts) {
  // A user drops explicit ports: surviving keys keep the old object's ports.
  const json old = make_policy({{https("a", "a.example.com", 443, port(12345)),
                                 tcp("b", "10.0.0.1", 22, port(10001))}});
  const json next = make_policy({{https("a", "a.example.com"), tcp("b", "10.0.0.1", 22),
                                  https("c", "c.example.com")}});
  const Mutated m = mutate(next, &old);
  EXPECT_EQ(ports_by_name(m.object),
            (std::map<std::string, std::int64_t>{{"a", 12345}, {"b", 10001}, {"c", 10002}}));
}

// The object as the API server sent it, member order included (nlohmann
// sorts keys, so these are built from text): every shape metadata and
// byEgressGateway can take around the edits, with metadata before, after or
// missing from around spec. The patch must be the diff, order included, and
// must apply.
TEST(MutatePatch, EqualsTheDiffForEveryShapeAroundTheEdits) {
  const std::string spec =
      R"("spec":{"byEgressGateway":{"name":"egressgateway-a"},"egressRules":[{"from":[{"namespace":"a"}],"to":[)"
      R"({"name":"t1","hosts":["a.example.com"],"port":{"name":"p","number":443,"protocol":"HTTPS"}},)"
      R"({"name":"t2","hosts":["b.example.com"],"port":{"name":"p","number":443,"protocol":"HTTPS"},"byEgressGateway":null},)"
      R"({"name":"t3","hosts":["c.example.com"],"port":{"name":"p","number":443,"protocol":"HTTPS"},"byEgressGateway":{}},)"
      R"({"name":"t4","hosts":["d.example.com"],"port":{"name":"p","number":443,"protocol":"HTTPS"},"byEgressGateway":{"port":0,"x":1}},)"
      R"({"name":"t5","hosts":["e.example.com"],"port":{"name":"p","number":80,"protocol":"HTTP"},"byEgressGateway":{"port":null}})"
      R"(]}]})";
  const std::vector<std::string> metadata = {
      "",
      R"("metadata":null)",
      R"("metadata":{"name":"egress-by-egressgateway-a"})",
      R"("metadata":{"name":"egress-by-egressgateway-a","annotations":null})",
      R"("metadata":{"name":"egress-by-egressgateway-a","annotations":{"x/y":"z"}})",
      R"("metadata":{"name":"egress-by-egressgateway-a","annotations":{"asm-egress-webhook/port-allocation":"off"}})",
      R"("metadata":{"name":"egress-by-egressgateway-a","annotations":"text"})",
  };
  const std::string head = R"("apiVersion":"istio.alibabacloud.com/v1beta1","kind":"ASMEgressTrafficPolicy")";
  for (const std::string& m : metadata) {
    for (const bool metadata_first : {true, false}) {
      std::string text = "{" + head;
      if (!m.empty() && metadata_first) text += "," + m;
      text += "," + spec;
      if (!m.empty() && !metadata_first) text += "," + m;
      text += "}";
      SCOPED_TRACE(text);
      const boost::json::value in = boost::json::parse(text);
      const MutationResult r = mutate_policy(in, nullptr, Settings{});
      ASSERT_TRUE(r.errors.empty()) << describe(r.errors);
      ASSERT_EQ(r.ports_allocated, 5U);
      EXPECT_TRUE(patch_is_the_diff(in, r));
      const boost::json::array ops = patch_array(r);
      const json patch = to_nl(ops);
      EXPECT_EQ(apply_patch(to_nl(in), patch), to_nl(r.object)) << patch.dump();
      // The ports went where they belong whatever the shape.
      EXPECT_EQ(to_nl(r.object).at("spec").at("egressRules").at(0).at("to").at(3).at("byEgressGateway"),
                json({{"port", 10004}, {"x", 1}}));
    }
  }
}

}  // namespace
}  // namespace asmegress::policy::test
