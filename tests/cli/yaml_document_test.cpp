#include "cli/yaml_document.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cli/yaml_emitter.h"
#include "cli/yaml_scalar.h"

namespace asmegress::cli {
namespace {

namespace json = boost::json;

json::value only_document(const std::string& text) {
  auto parsed = parse_yaml_documents(text, "test.yaml");
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().to_string());
  if (!parsed || parsed->size() != 1) {
    ADD_FAILURE() << "expected one document";
    return nullptr;
  }
  return parsed->front().value;
}

YamlError parse_error(const std::string& text, const YamlLimits& limits = {}) {
  auto parsed = parse_yaml_documents(text, "policy.yaml", limits);
  EXPECT_FALSE(parsed.has_value());
  return parsed ? YamlError{} : parsed.error();
}

struct PlainCase {
  std::string text;
  json::value expected;
};

class CoreSchemaTest : public ::testing::TestWithParam<PlainCase> {};

TEST_P(CoreSchemaTest, PlainScalarResolves) {
  const auto& c = GetParam();
  const json::value got = resolve_plain_scalar(c.text);
  EXPECT_EQ(got.kind(), c.expected.kind()) << c.text << " -> " << json::serialize(got);
  EXPECT_EQ(got, c.expected) << c.text << " -> " << json::serialize(got);
  // Read in a document, the same.
  const json::value doc = only_document("v: " + c.text + "\n");
  if (c.text.empty() || c.text == "~" || c.text == "null" || c.text == "Null" || c.text == "NULL") {
    EXPECT_TRUE(doc.at("v").is_null());
  } else {
    EXPECT_EQ(doc.at("v"), c.expected) << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, CoreSchemaTest,
    ::testing::Values(
        PlainCase{"", nullptr}, PlainCase{"~", nullptr}, PlainCase{"null", nullptr},
        PlainCase{"Null", nullptr}, PlainCase{"NULL", nullptr},
        PlainCase{"nULL", "nULL"}, PlainCase{"true", true}, PlainCase{"True", true},
        PlainCase{"TRUE", true}, PlainCase{"false", false}, PlainCase{"False", false},
        PlainCase{"FALSE", false}, PlainCase{"tRUE", "tRUE"}, PlainCase{"yes", "yes"},
        PlainCase{"no", "no"}, PlainCase{"on", "on"}, PlainCase{"y", "y"},
        PlainCase{"0", std::int64_t{0}}, PlainCase{"80", std::int64_t{80}},
        PlainCase{"-17", std::int64_t{-17}}, PlainCase{"+17", std::int64_t{17}},
        PlainCase{"007", std::int64_t{7}}, PlainCase{"0o17", std::int64_t{15}},
        PlainCase{"0x1F", std::int64_t{31}}, PlainCase{"0xff", std::int64_t{255}},
        PlainCase{"0o18", "0o18"}, PlainCase{"0xG", "0xG"}, PlainCase{"-0x1", "-0x1"},
        PlainCase{"1_000", "1_000"}, PlainCase{"0b101", "0b101"},
        PlainCase{"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
        PlainCase{"-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
        PlainCase{"9223372036854775808", std::uint64_t{9223372036854775808ULL}},
        PlainCase{"18446744073709551615", std::numeric_limits<std::uint64_t>::max()},
        PlainCase{"18446744073709551616", 18446744073709551616.0},
        PlainCase{"1.5", 1.5}, PlainCase{"-1.5", -1.5}, PlainCase{".5", 0.5},
        PlainCase{"5.", 5.0}, PlainCase{"1e3", 1000.0}, PlainCase{"1.0E-2", 0.01},
        PlainCase{"+2.5e+1", 25.0}, PlainCase{"1e", "1e"}, PlainCase{".", "."},
        PlainCase{".inf", std::numeric_limits<double>::infinity()},
        PlainCase{"-.Inf", -std::numeric_limits<double>::infinity()},
        PlainCase{"+.INF", std::numeric_limits<double>::infinity()},
        PlainCase{".infinity", ".infinity"}, PlainCase{"1.1.1.1", "1.1.1.1"},
        PlainCase{"aliyun.com", "aliyun.com"}, PlainCase{"HTTP", "HTTP"},
        PlainCase{"12:30", "12:30"}));

TEST(CoreSchema, NanIsADouble) {
  for (const char* text : {".nan", ".NaN", ".NAN"}) {
    const json::value v = resolve_plain_scalar(text);
    ASSERT_TRUE(v.is_double()) << text;
    EXPECT_TRUE(std::isnan(v.get_double())) << text;
  }
  EXPECT_TRUE(resolve_plain_scalar(".Nan").is_string());
}

TEST(YamlDocument, QuotedScalarsAreStrings) {
  const json::value doc = only_document(
      "a: \"80\"\nb: '80'\nc: \"true\"\nd: 'null'\ne: ''\nf: \"\"\ng: |\n  80\nh: !!str 80\n"
      "i: 80\nj: !!int \"81\"\nk: !!float 1\nl: !custom 82\n");
  EXPECT_EQ(doc.at("a"), "80");
  EXPECT_EQ(doc.at("b"), "80");
  EXPECT_EQ(doc.at("c"), "true");
  EXPECT_EQ(doc.at("d"), "null");
  EXPECT_EQ(doc.at("e"), "");
  EXPECT_EQ(doc.at("f"), "");
  EXPECT_EQ(doc.at("g"), "80\n");
  EXPECT_EQ(doc.at("h"), "80");
  EXPECT_EQ(doc.at("i"), 80);
  EXPECT_TRUE(doc.at("i").is_int64());
  EXPECT_EQ(doc.at("j"), 81);
  EXPECT_TRUE(doc.at("k").is_double());
  EXPECT_EQ(doc.at("l"), "82");
}

TEST(YamlDocument, KeysAreTheirText) {
  const json::value doc = only_document("80: a\ntrue: b\nnull: c\n");
  EXPECT_EQ(doc, json::parse(R"({"80":"a","true":"b","null":"c"})"));
}

TEST(YamlDocument, KeepsKeyOrder) {
  const json::value doc = only_document("z: 1\na: 2\nm: 3\n");
  std::string keys;
  for (const auto& member : doc.get_object()) keys += member.key();
  EXPECT_EQ(keys, "zam");
}

TEST(YamlDocument, ReadsJson) {
  const json::value doc =
      only_document("{\"a\": [1, 2.5, \"x\", null, true],\n\t\"b\": {\"c\": \"\\u00e9\"}}");
  EXPECT_EQ(doc, json::parse(R"({"a":[1,2.5,"x",null,true],"b":{"c":"é"}})"));
}

TEST(YamlDocument, MultipleDocumentsWithLines) {
  const std::string text =
      "# leading comment\n"        // 1
      "a: 1\n"                     // 2
      "---\n"                      // 3
      "---\n"                      // 4  (empty document, skipped)
      "# only a comment\n"         // 5
      "---\n"                      // 6
      "\n"                         // 7
      "kind: List\n"               // 8
      "items: []\n"                // 9
      "--- ~\n"                    // 10 (null document, skipped)
      "---\n"                      // 11
      "- x\n";                     // 12
  auto parsed = parse_yaml_documents(text, "multi.yaml");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  ASSERT_EQ(parsed->size(), 3U);
  EXPECT_EQ((*parsed)[0].line, 2U);
  EXPECT_EQ((*parsed)[0].value, json::parse(R"({"a":1})"));
  EXPECT_EQ((*parsed)[1].line, 8U);
  EXPECT_EQ((*parsed)[1].value, json::parse(R"({"kind":"List","items":[]})"));
  EXPECT_EQ((*parsed)[2].line, 12U);
  EXPECT_EQ((*parsed)[2].value, json::parse(R"(["x"])"));
}

TEST(YamlDocument, EmptyStreamHasNoDocuments) {
  for (const char* text : {"", "\n\n", "# nothing\n", "---\n", "---\n...\n---\n"}) {
    auto parsed = parse_yaml_documents(text, "empty.yaml");
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_TRUE(parsed->empty()) << text;
  }
}

TEST(YamlDocument, SyntaxErrorNamesFileLineAndColumn) {
  const YamlError error = parse_error("apiVersion: v1\nkind: X\nmetadata:\n  name: a\n   bad: b\n");
  EXPECT_EQ(error.file, "policy.yaml");
  EXPECT_EQ(error.line, 5U);
  EXPECT_GT(error.column, 0U);
  EXPECT_FALSE(error.message.empty());
  EXPECT_EQ(error.to_string().rfind("policy.yaml:5:", 0), 0U) << error.to_string();
}

TEST(YamlDocument, UnclosedFlowIsAnError) {
  const YamlError error = parse_error("a: 1\nb: [1, 2\n");
  EXPECT_GE(error.line, 2U);
  EXPECT_NE(error.to_string().find("policy.yaml:"), std::string::npos);
}

TEST(YamlDocument, ErrorAfterGoodDocumentFailsTheStream) {
  const YamlError error = parse_error("a: 1\n---\nb: 1\n  c: 2\n");
  EXPECT_EQ(error.line, 4U);
}

TEST(YamlDocument, DuplicateKeyIsAnError) {
  const YamlError error = parse_error("a: 1\nb: 2\na: 3\n");
  EXPECT_EQ(error.line, 3U);
  EXPECT_NE(error.message.find("duplicate"), std::string::npos);
}

TEST(YamlDocument, ComplexKeyIsAnError) {
  const YamlError error = parse_error("? [a, b]\n: c\n");
  EXPECT_NE(error.message.find("key"), std::string::npos);
}

TEST(YamlDocument, InvalidTaggedValueIsAnError) {
  const YamlError error = parse_error("a: !!int abc\n");
  EXPECT_EQ(error.line, 1U);
}

TEST(YamlDocument, AliasesExpand) {
  const json::value doc = only_document("base: &b {x: 1, y: [2]}\ncopy: *b\nname: &n egress\nagain: *n\n");
  EXPECT_EQ(doc.at("copy"), doc.at("base"));
  EXPECT_EQ(doc.at("again"), "egress");
}

TEST(YamlDocument, AliasBombIsAnError) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  const YamlError error = parse_error(text);
  EXPECT_NE(error.message.find("1000000"), std::string::npos) << error.to_string();
  EXPECT_GT(error.line, 1U);
}

TEST(YamlDocument, NodeLimitIsConfigurable) {
  YamlLimits limits;
  limits.max_nodes = 5;
  EXPECT_TRUE(parse_yaml_documents("[1, 2, 3]", "x", limits).has_value());
  const YamlError error = parse_error("[1, 2, 3, 4, 5]", limits);
  EXPECT_NE(error.message.find("more than 5"), std::string::npos);
}

TEST(YamlDocument, DeepNestingIsAnError) {
  const std::string flow = std::string(5000, '[') + std::string(5000, ']');
  const YamlError flow_error = parse_error(flow);
  EXPECT_EQ(flow_error.line, 1U);
  EXPECT_EQ(flow_error.column, 257U);
  EXPECT_EQ(flow_error.message, "nesting deeper than 256 levels");

  std::string block;
  for (int i = 0; i < 1200; ++i) block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  const YamlError block_error = parse_error(block);
  EXPECT_EQ(block_error.line, 257U);
  EXPECT_EQ(block_error.message, "nesting deeper than 256 levels");

  // The deepest document allowed is written and read back.
  const std::string deepest = std::string(256, '[') + std::string(256, ']');
  auto parsed = parse_yaml_documents(deepest, "x");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  auto reread = parse_yaml_documents(to_yaml(parsed->front().value), "x");
  ASSERT_TRUE(reread.has_value()) << reread.error().to_string();
  EXPECT_EQ(reread->front().value, parsed->front().value);

  YamlLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(parse_yaml_documents("[[[1]]]", "x", limits).has_value());
  const YamlError limited = parse_error("[[[[1]]]]", limits);
  EXPECT_NE(limited.message.find("nesting deeper than 3"), std::string::npos);
}

}  // namespace
}  // namespace asmegress::cli
