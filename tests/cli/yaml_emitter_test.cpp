#include "cli/yaml_emitter.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cli/yaml_document.h"

namespace asmegress::cli {
namespace {

namespace json = boost::json;

json::value read_back(const std::string& yaml) {
  auto parsed = parse_yaml_documents(yaml, "emitted.yaml");
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().to_string()) << "\n" << yaml;
  if (!parsed || parsed->size() != 1) {
    ADD_FAILURE() << "expected one document in:\n" << yaml;
    return nullptr;
  }
  return parsed->front().value;
}

TEST(YamlEmitter, KubectlLayout) {
  const json::value v = json::parse(R"({
    "apiVersion": "istio.alibabacloud.com/v1beta1",
    "metadata": {"name": "egress-by-a", "labels": {}},
    "spec": {"egressRules": [{"from": [{"namespace": "default"}],
                              "to": [{"hosts": ["aliyun.com", "1.1.1.1"],
                                      "port": {"number": 80, "protocol": "HTTP"}}]}],
             "empty": [], "nested": [[1, 2], []]}
  })");
  EXPECT_EQ(to_yaml(v),
            "apiVersion: istio.alibabacloud.com/v1beta1\n"
            "metadata:\n"
            "  name: egress-by-a\n"
            "  labels: {}\n"
            "spec:\n"
            "  egressRules:\n"
            "  - from:\n"
            "    - namespace: default\n"
            "    to:\n"
            "    - hosts:\n"
            "      - aliyun.com\n"
            "      - 1.1.1.1\n"
            "      port:\n"
            "        number: 80\n"
            "        protocol: HTTP\n"
            "  empty: []\n"
            "  nested:\n"
            "  - - 1\n"
            "    - 2\n"
            "  - []\n");
}

struct QuoteCase {
  std::string value;
  std::string yaml;
};

class ScalarQuotingTest : public ::testing::TestWithParam<QuoteCase> {};

TEST_P(ScalarQuotingTest, WritesAndReadsBack) {
  const auto& c = GetParam();
  const json::value v = json::object{{"k", json::string(c.value)}};
  const std::string yaml = to_yaml(v);
  EXPECT_EQ(yaml, "k: " + c.yaml + "\n");
  EXPECT_EQ(read_back(yaml), v);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ScalarQuotingTest,
    ::testing::Values(
        QuoteCase{"plain", "plain"}, QuoteCase{"aliyun.com", "aliyun.com"},
        QuoteCase{"1.1.1.1", "1.1.1.1"}, QuoteCase{"*.aliyun.com", "'*.aliyun.com'"},
        QuoteCase{"80", "'80'"}, QuoteCase{"0x10", "'0x10'"}, QuoteCase{"1e3", "'1e3'"},
        QuoteCase{"true", "'true'"}, QuoteCase{"False", "'False'"}, QuoteCase{"yes", "'yes'"},
        QuoteCase{"off", "'off'"}, QuoteCase{"null", "'null'"}, QuoteCase{"~", "'~'"},
        QuoteCase{"", "''"}, QuoteCase{".inf", "'.inf'"}, QuoteCase{"1_000", "'1_000'"},
        QuoteCase{"a: b", "'a: b'"}, QuoteCase{"a #b", "'a #b'"}, QuoteCase{"a:", "'a:'"},
        QuoteCase{"a:b", "a:b"}, QuoteCase{"a#b", "a#b"}, QuoteCase{" lead", "' lead'"},
        QuoteCase{"trail ", "'trail '"}, QuoteCase{"it's", "it's"},
        QuoteCase{"'q'", "'''q'''"}, QuoteCase{"\"d\"", "'\"d\"'"},
        QuoteCase{"--port=80", "--port=80"}, QuoteCase{"- x", "'- x'"},
        QuoteCase{"---", "'---'"}, QuoteCase{"...", "'...'"}, QuoteCase{"&a", "'&a'"},
        QuoteCase{"!tag", "'!tag'"}, QuoteCase{"%x", "'%x'"}, QuoteCase{"@x", "'@x'"},
        QuoteCase{"[a]", "'[a]'"}, QuoteCase{"{a}", "'{a}'"}, QuoteCase{"|", "'|'"},
        QuoteCase{"tab\there", "\"tab\\there\""}, QuoteCase{"cr\r", "\"cr\\r\""},
        QuoteCase{"bell\a", "\"bell\\a\""}, QuoteCase{"caf\xc3\xa9", "caf\xc3\xa9"},
        QuoteCase{"nel\xc2\x85", "\"nel\\u0085\""},
        QuoteCase{"ls\xe2\x80\xa8", "\"ls\\u2028\""},
        QuoteCase{"two\nlines", "|-\n  two\n  lines"},
        QuoteCase{"ends\n", "|\n  ends"},
        QuoteCase{"keep\n\n", "|+\n  keep\n"},
        QuoteCase{" indented\nfirst", "\" indented\\nfirst\""},
        QuoteCase{"a\n  \nb", "\"a\\n  \\nb\""}));

TEST(YamlEmitter, NumbersKeepTheirType) {
  const json::value v = json::parse(
      R"({"i":80,"n":-5,"u":18446744073709551615,"d":1.0,"e":1e300,"f":-0.0,"s":0.1,"b":false,"z":null})");
  const std::string yaml = to_yaml(v);
  EXPECT_NE(yaml.find("i: 80\n"), std::string::npos);
  EXPECT_NE(yaml.find("d: 1.0\n"), std::string::npos);
  EXPECT_NE(yaml.find("z: null\n"), std::string::npos);
  const json::value back = read_back(yaml);
  EXPECT_EQ(back, v);
  EXPECT_TRUE(back.at("u").is_uint64());
  EXPECT_TRUE(back.at("d").is_double());
  EXPECT_TRUE(std::signbit(back.at("f").get_double()));
}

TEST(YamlEmitter, SpecialDoubles) {
  json::object o;
  o["inf"] = std::numeric_limits<double>::infinity();
  o["ninf"] = -std::numeric_limits<double>::infinity();
  o["nan"] = std::numeric_limits<double>::quiet_NaN();
  const std::string yaml = to_yaml(o);
  EXPECT_EQ(yaml, "inf: .inf\nninf: -.inf\nnan: .nan\n");
  const json::value back = read_back(yaml);
  EXPECT_EQ(back.at("inf"), o["inf"]);
  EXPECT_EQ(back.at("ninf"), o["ninf"]);
  EXPECT_TRUE(std::isnan(back.at("nan").get_double()));
}

TEST(YamlEmitter, TopLevelScalarsAndEmptyContainers) {
  for (const char* text : {R"("80")", R"("")", R"("a\nb")", "12", "true", "[]", "{}",
                           R"("---")", R"("...")", R"(["a\nb", {"k\nk": "v"}])"}) {
    const json::value v = json::parse(text);
    const std::string yaml = to_yaml(v);
    auto parsed = parse_yaml_documents(yaml, "x");
    ASSERT_TRUE(parsed.has_value()) << yaml;
    ASSERT_EQ(parsed->size(), 1U) << yaml;
    EXPECT_EQ(parsed->front().value, v) << yaml;
  }
}

TEST(YamlEmitter, BytesThatAreNotUtf8PassThrough) {
  // yaml-cpp reads such bytes as they are; written back, they must neither be
  // taken for an escaped U+FFFF nor lost.
  const json::value v = json::object{{"k", "a\xEF\xEF\xBF\xFF\xC2" "b"}, {"\xEF\xBF", 1}};
  const std::string yaml = to_yaml(v);
  EXPECT_EQ(read_back(yaml), v) << yaml;
}

TEST(YamlEmitter, QuotedKeys) {
  const json::value v = json::parse(R"({"80":1,"true":2,"":3,"a: b":4,"x\ny":5,"<<":6})");
  const std::string yaml = to_yaml(v);
  EXPECT_EQ(yaml, "'80': 1\n'true': 2\n'': 3\n'a: b': 4\n\"x\\ny\": 5\n'<<': 6\n");
  EXPECT_EQ(read_back(yaml), v);
}

// YAML -> JSON -> YAML -> JSON gives the same JSON, and the second YAML is the
// same text as the first (the emitter is a fixed point).
void expect_round_trip(const json::value& v) {
  const std::string yaml = to_yaml(v);
  const json::value back = read_back(yaml);
  ASSERT_EQ(back, v) << yaml << "\nfrom " << json::serialize(v);
  EXPECT_EQ(to_yaml(back), yaml);
}

TEST(YamlEmitter, SeedFixturesRoundTrip) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ASM_EGRESS_TESTDATA_DIR)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() != ".yaml" && entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parse_yaml_documents(text.str(), name);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
    for (const auto& doc : *parsed) expect_round_trip(doc.value);
    ++files;
  }
  EXPECT_GE(files, 4);
}

class RandomValues {
 public:
  explicit RandomValues(std::uint32_t seed) : rng_(seed) {}

  json::value value(int depth) {
    const int kind = pick(depth > 3 ? 6 : 8);
    switch (kind) {
      case 0: return nullptr;
      case 1: return pick(2) == 0;
      case 2: return static_cast<std::int64_t>(rng_()) - (std::int64_t{1} << 31);
      case 3: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
      case 4: case 5: return json::string(text());
      case 6: {
        json::array a;
        for (int n = pick(4); n > 0; --n) a.push_back(value(depth + 1));
        return a;
      }
      default: {
        json::object o;
        for (int n = pick(4); n > 0; --n) o[text()] = value(depth + 1);
        return o;
      }
    }
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  // Strings from pieces that stress quoting: indicators, type look-alikes,
  // spaces, line breaks, escapes and non-ASCII text.
  std::string text() {
    static const char* const pieces[] = {
        "a",   "Z",     "0",   "80",  "1.5", "-",   ":",    ": ",   " ",  "#",  " #",  "'",
        "\"",  "\\",    "\n",  "\t",  "\r",  "*",   "&",    "!",    "|",  ">",  "%",  "@",
        "`",   "[",     "]",   "{",   "}",   ",",   "?",    "true", "null", "~", "yes", ".inf",
        "0x1", "0o7",   "---", "...", "é",   "日本", "\xc2\x85", "\xe2\x80\xa8", "<<", "e3",
        "\x01", "\x7f", "  ",  "\n\n"};
    std::string s;
    for (int n = pick(5); n > 0; --n) s += pieces[pick(static_cast<int>(std::size(pieces)))];
    return s;
  }

  std::mt19937 rng_;
};

TEST(YamlEmitter, RandomValuesRoundTrip) {
  RandomValues random(20240601);
  for (int i = 0; i < 3000; ++i) {
    // A null document reads back as no document at all, so the top is a mapping.
    const json::value v = json::object{{"v", random.value(0)}};
    expect_round_trip(v);
    if (HasFatalFailure() || HasFailure()) break;
  }
}

}  // namespace
}  // namespace asmegress::cli
