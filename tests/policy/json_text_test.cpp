// The hand-written JSON text of the hot path against Boost.JSON's serializer:
// string escaping byte by byte, base64 against RFC 4648's vectors, and the
// AdmissionReview answer against the json::object it replaces.

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/admission_review.h"
#include "policy/json_text.h"
#include "tests/policy/test_support.h"

namespace asmegress::policy::test {
namespace {

std::string escaped(std::string_view text) {
  std::string out = "prefix";
  append_json_string(out, text);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  return out.substr(6);
}

std::string boost_escaped(std::string_view text) {
  return boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

TEST(JsonText, EveryByteIsEscapedAsBoostJsonEscapesIt) {
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(escaped(one), boost_escaped(one)) << "byte " << c;
    const std::string inside = "a" + one + "b" + one;
    EXPECT_EQ(escaped(inside), boost_escaped(inside)) << "byte " << c;
  }
  EXPECT_EQ(escaped(""), "\"\"");
  EXPECT_EQ(escaped("\x01\"\\\n"), R"("\u0001\"\\\n")");
}

// Plain text is skipped eight bytes at a time: every byte, at every position
// of strings around the word size, must still be found.
TEST(JsonText, EveryByteIsFoundAtEveryPositionOfLongerText) {
  for (std::size_t length = 1; length <= 26; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int c = 0; c < 256; ++c) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(c);
        ASSERT_EQ(escaped(text), boost_escaped(text)) << "byte " << c << " at " << at;
      }
    }
  }
}

TEST(JsonText, RandomStringsAreEscapedAsBoostJsonEscapesThem) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) {
      // Mostly the characters that need escaping, and UTF-8 multi-byte text.
      static constexpr std::string_view pool = "\"\\\b\f\n\r\t\x01\x1f\x7f /aZ~\xc3\xa9\xe2\x82\xac";
      c = pool[rng() % pool.size()];
    }
    ASSERT_EQ(escaped(s), boost_escaped(s));
  }
}

TEST(JsonText, Base64MatchesRfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    std::string out = "x";
    append_base64(out, plain);
    EXPECT_EQ(out, "x" + encoded) << plain;
  }
}

TEST(JsonText, Base64RoundTripsEveryByte) {
  std::mt19937 rng(11);
  for (std::size_t n = 0; n < 300; ++n) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng() % 256);
    std::string out;
    append_base64(out, data);
    EXPECT_EQ(out.size(), (n + 2) / 3 * 4);
    EXPECT_EQ(base64_decode(out), data) << n;
  }
}

// What serialize_admission_response gave when it built the answer as an object.
std::string reference_answer(const AdmissionRequest& request, const AdmissionResponse& response) {
  namespace json = boost::json;
  json::object body;
  body.emplace("uid", request.uid);
  body.emplace("allowed", response.allowed);
  if (response.errors != nullptr && !response.errors->empty()) {
    body.emplace("status", denial_status(response.object_name, *response.errors));
  }
  if (!response.patch_json.empty()) {
    body.emplace("patchType", "JSONPatch");
    std::string encoded;
    append_base64(encoded, response.patch_json);
    body.emplace("patch", encoded);
  }
  if (response.warnings != nullptr && !response.warnings->empty()) {
    json::array warnings;
    for (const auto& w : *response.warnings) warnings.emplace_back(json::string_view(w));
    body.emplace("warnings", std::move(warnings));
  }
  json::object review{{"apiVersion", request.api_version},
                      {"kind", "AdmissionReview"},
                      {"response", std::move(body)}};
  return json::serialize(review);
}

TEST(JsonText, AnswerIsTheTextOfTheObjectItReplaces) {
  const std::string_view patch =
      R"([{"op":"add","path":"/metadata/annotations/a~1b","value":"auto"},)"
      R"({"op":"replace","path":"/spec/egressRules/0/to/1/byEgressGateway","value":{"port":10001}}])";
  FieldErrors errors;
  errors.push_back(FieldError::required(FieldPath{}.child("spec").child("egressRules")));
  errors.push_back(FieldError::invalid(FieldPath{}.child("metadata").child("name"),
                                       std::string_view("bad\"name\x01"), "must match"));
  const FieldErrors no_errors;
  const std::vector<std::string> warnings = {"one \"quoted\"", "two\n"};
  const std::vector<std::string> no_warnings;

  for (const std::string_view api : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    for (const std::string_view uid : {"705ab4f5-6393-11e8-b7cc-42010a800002", "u\"\\\x02"}) {
      for (int shape = 0; shape < 6; ++shape) {
        AdmissionRequest request;
        request.api_version = api;
        request.uid = uid;
        AdmissionResponse response;
        response.object_name = "egress-\"a\"";
        response.allowed = shape % 2 == 0;
        if (shape < 2) response.patch_json = patch;
        response.errors = response.allowed ? (shape == 2 ? &no_errors : nullptr) : &errors;
        response.warnings = shape >= 3 ? &warnings : (shape == 2 ? &no_warnings : nullptr);
        SCOPED_TRACE(std::string(api) + " uid " + std::string(uid) + " shape " +
                     std::to_string(shape));
        const std::string answer = serialize_admission_response(request, response);
        EXPECT_EQ(answer, reference_answer(request, response));
        EXPECT_NO_THROW((void)boost::json::parse(answer));
      }
    }
  }
}

}  // namespace
}  // namespace asmegress::policy::test
