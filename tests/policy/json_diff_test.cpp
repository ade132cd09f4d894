// json_patch() on arbitrary pairs: the operations, applied by nlohmann::json's own
// RFC 6902 implementation to `from`, must give `to`.

#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/json_pointer.h"
#include "tests/policy/json_diff.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

json patch_of(const json& from, const json& to) {
  return to_nl(json_patch(to_boost(from), to_boost(to)));
}

void expect_round_trip(const json& from, const json& to) {
  const json patch = patch_of(from, to);
  ASSERT_TRUE(patch.is_array());
  for (const auto& op : patch) {
    EXPECT_THAT(op.at("op").get<std::string>(), ::testing::AnyOf("add", "remove", "replace"))
        << op.dump();
  }
  json patched;
  try {
    patched = apply_patch(from, patch);
  } catch (const std::exception& e) {
    FAIL() << e.what() << "\nfrom:  " << from.dump() << "\nto:    " << to.dump()
           << "\npatch: " << patch.dump();
  }
  EXPECT_EQ(patched, to) << "from:  " << from.dump() << "\npatch: " << patch.dump();
  if (from == to) {
    EXPECT_EQ(patch, json::array()) << from.dump();
  }
}

struct Pair {
  std::string name;
  std::string from;
  std::string to;
};

class JsonPatchPairs : public ::testing::TestWithParam<Pair> {};

TEST_P(JsonPatchPairs, RoundTripsThroughAnIndependentImplementation) {
  expect_round_trip(json::parse(GetParam().from), json::parse(GetParam().to));
}

INSTANTIATE_TEST_SUITE_P(
    JsonPatch, JsonPatchPairs,
    ::testing::Values(
        Pair{"equal_objects", R"({"a":1,"b":[1,{"c":null}]})", R"({"b":[1,{"c":null}],"a":1})"},
        Pair{"equal_scalars", "7", "7"},
        Pair{"scalar_root", "1", "2"},
        Pair{"root_type_change", R"({"a":1})", "[1,2]"},
        Pair{"member_added", R"({"a":1})", R"({"a":1,"b":{"c":[1]}})"},
        Pair{"member_removed", R"({"a":1,"b":2})", R"({"a":1})"},
        Pair{"member_replaced", R"({"a":1})", R"({"a":"1"})"},
        Pair{"null_to_object", R"({"a":null})", R"({"a":{"port":1}})"},
        Pair{"nested_change", R"({"a":{"b":{"c":[1,2,{"d":1}]}}})", R"({"a":{"b":{"c":[1,2,{"d":2}]}}})"},
        Pair{"slash_in_key", R"({"a/b":1,"c":{"x/y/z":1}})", R"({"a/b":2,"c":{"x/y/z":3,"new/key":4}})"},
        Pair{"tilde_in_key", R"({"m~n":1,"~1":1,"~0":{"~":1}})", R"({"m~n":2,"~1":2,"~0":{"~":2}})"},
        Pair{"empty_key", R"({"":1})", R"({"":2,"/":3,"~":4})"},
        Pair{"array_same_length", "[1,2,3]", "[1,5,3]"},
        Pair{"array_grows", "[1,2]", "[1,2,3,4,5]"},
        Pair{"array_shrinks", "[1,2,3,4,5]", "[1,2]"},
        Pair{"array_to_empty", R"({"a":[1,2,3]})", R"({"a":[]})"},
        Pair{"array_from_empty", R"({"a":[]})", R"({"a":[{"x":1},{"y":2}]})"},
        Pair{"array_shrinks_and_changes", R"([{"a":1},{"b":2},{"c":3}])", R"([{"a":9}])"},
        Pair{"nested_arrays", "[[1,[2,3]],[4]]", "[[1,[2,3,4]],[],[5]]"},
        Pair{"unicode_keys", R"({"ключ":"значение","键":1})", R"({"ключ":"другое","键":1,"😀":true})"},
        Pair{"doubles_and_bools", R"({"a":1.5,"b":true})", R"({"a":2.5,"b":false})"}),
    [](const ::testing::TestParamInfo<Pair>& param) { return param.param.name; });

TEST(JsonPatch, TouchesOnlyWhatDiffers) {
  EXPECT_EQ(patch_of(json::parse(R"({"a":{"b":1,"c":2},"d":[1,2,3]})"),
                     json::parse(R"({"a":{"b":1,"c":3},"d":[1,5,3]})")),
            json::parse(R"([{"op":"replace","path":"/a/c","value":3},
                            {"op":"replace","path":"/d/1","value":5}])"));
  EXPECT_EQ(patch_of(json::parse(R"({"a":1})"), json::parse(R"({"a":1,"b":2})")),
            json::parse(R"([{"op":"add","path":"/b","value":2}])"));
  EXPECT_EQ(patch_of(json::parse(R"({"a":1,"b":2})"), json::parse(R"({"b":2})")),
            json::parse(R"([{"op":"remove","path":"/a"}])"));
}

TEST(JsonPatch, EscapesPathsPerRfc6901) {
  EXPECT_EQ(patch_of(json::parse(R"({"a/b":1})"), json::parse(R"({"a/b":2})")),
            json::parse(R"([{"op":"replace","path":"/a~1b","value":2}])"));
  EXPECT_EQ(patch_of(json::parse(R"({"m~n":1})"), json::parse(R"({"m~n":2})")),
            json::parse(R"([{"op":"replace","path":"/m~0n","value":2}])"));
  // "~1" must become "~01", not "~1" (which would read back as "/").
  EXPECT_EQ(patch_of(json::parse(R"({"~1":1})"), json::parse(R"({"~1":2})")),
            json::parse(R"([{"op":"replace","path":"/~01","value":2}])"));
}

TEST(JsonPatch, AppendPointerSegment) {
  struct Case {
    std::string base;
    std::string segment;
    std::string want;
  };
  for (const Case& c : {Case{"", "a", "/a"}, Case{"", "a/b", "/a~1b"}, Case{"", "m~n", "/m~0n"},
                        Case{"", "~1", "/~01"}, Case{"", "/~", "/~1~0"}, Case{"", "", "/"},
                        Case{"/metadata/annotations", "asm-egress-webhook/port-allocation",
                             "/metadata/annotations/asm-egress-webhook~1port-allocation"}}) {
    std::string p = c.base;
    append_pointer_segment(p, c.segment);
    EXPECT_EQ(p, c.want) << "segment " << c.segment;
  }
}

// Random documents, randomly edited, always round-trip.
class RandomJson {
 public:
  explicit RandomJson(std::uint32_t seed) : rng_(seed) {}

  json value(int depth) {
    const int kind = pick(depth <= 0 ? 4 : 6);
    switch (kind) {
      case 0: return nullptr;
      case 1: return pick(2) == 1;
      case 2: return pick(1000) - 500;
      case 3: return key();
      case 4: {
        json a = json::array();
        const int n = pick(5);
        for (int i = 0; i < n; ++i) a.push_back(value(depth - 1));
        return a;
      }
      default: {
        json o = json::object();
        const int n = pick(5);
        for (int i = 0; i < n; ++i) o[key()] = value(depth - 1);
        return o;
      }
    }
  }

  // A copy of v with a few random changes at random depths.
  json edit(const json& v, int depth) {
    if (pick(6) == 0 || depth <= 0) return pick(3) == 0 ? v : value(2);
    if (v.is_object()) {
      json o = v;
      std::vector<std::string> keys;
      for (const auto& [k, ignored] : v.items()) keys.push_back(k);
      for (const auto& k : keys) {
        const int what = pick(5);
        if (what == 0) o.erase(k);
        if (what == 1) o[k] = edit(v.at(k), depth - 1);
      }
      if (pick(3) == 0) o[key()] = value(2);
      return o;
    }
    if (v.is_array()) {
      json a = json::array();
      for (const auto& item : v) {
        const int what = pick(5);
        if (what == 0) continue;
        a.push_back(what == 1 ? edit(item, depth - 1) : item);
      }
      const int extra = pick(3);
      for (int i = 0; i < extra; ++i) a.push_back(value(2));
      return a;
    }
    return value(1);
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string key() {
    static const std::vector<std::string> keys = {"a", "b", "port", "a/b", "~", "~1", "/", "",
                                                  "x~0/y", "name", "hosts", "é"};
    return keys[static_cast<std::size_t>(pick(static_cast<int>(keys.size())))];
  }

  std::mt19937 rng_;
};

TEST(JsonPatch, RandomPairsRoundTrip) {
  for (std::uint32_t seed = 1; seed <= 400; ++seed) {
    RandomJson gen(seed);
    const json from = gen.value(4);
    const json to = gen.edit(from, 4);
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_round_trip(from, to);
    expect_round_trip(to, from);
    expect_round_trip(from, from);
  }
}

}  // namespace
}  // namespace asmegress::policy::test
