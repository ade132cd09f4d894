// The whole admission decision (parse, decode, validate, allocate, patch,
// serialise) on hostile request bodies, on both endpoints, with the
// round-trip property of mutation checked inside, and again under a memory
// cap small enough for these inputs to pass it:
//   - every answer is well-formed JSON or a 400 message, never an exception;
//   - an allowed mutating answer that carries a patch: applying the patch
//     (nlohmann::json's independent RFC 6902 implementation) to
//     request.object gives exactly the object mutate_policy returns, and
//     mutating that object again yields no patch (mutation is idempotent);
//   - the validating endpoint never answers with a patch;
//   - parse_review builds what Boost.JSON's whole-DOM parse builds cut down
//     to what the engine reads (review_reference.h), or fails with the same
//     error at the same byte;
//   - the engine reads the same of that cut review as of the whole one:
//     read_admission_request's answer, and decode_policy's errors and Policy
//     of both objects;
//   - where PolicyStream decodes request.object or request.oldObject,
//     decode_policy on the whole DOM finds no error and the same Policy.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json.hpp>
#include <nlohmann/json.hpp>

#include "policy/admission.h"
#include "policy/admission_review.h"
#include "policy/decode.h"
#include "policy/review_parser.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/policy/policy_text.h"
#include "tests/policy/review_reference.h"

namespace {

namespace json = boost::json;
using asmegress::fuzz::property_failed;

// The engine's own bound (policy/admission.cpp): the harness must read every
// body the engine reads.
constexpr std::size_t max_depth = 512;

std::string base64_decode(std::string_view text) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    const auto index = alphabet.find(c);
    if (index == std::string_view::npos) property_failed("patch is not base64", text);
    bits = (bits << 6U) | static_cast<std::uint32_t>(index);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> static_cast<unsigned>(count)) & 0xFFU));
    }
  }
  return out;
}

json::value parse(std::string_view text, json::error_code& ec) {
  json::parse_options options;
  options.max_depth = max_depth;
  return json::parse(text, ec, {}, options);
}

nlohmann::json to_nlohmann(const json::value& value) {
  // Both sides go through Boost.JSON's serialiser, so number formatting
  // cannot make equal values differ.
  return nlohmann::json::parse(json::serialize(value));
}

const json::value* member(const json::value& value, std::string_view key) {
  const json::object* object = value.if_object();
  if (object == nullptr) return nullptr;
  const json::value* found = object->if_contains(key);
  return found == nullptr || found->is_null() ? nullptr : found;
}

void check_mutation_round_trip(const json::value& review, const json::value& answer) {
  const json::value* response = member(answer, "response");
  ASM_FUZZ_CHECK(response != nullptr, json::serialize(answer));
  const json::value* patch_text = member(*response, "patch");
  const json::value* patch_type = member(*response, "patchType");
  ASM_FUZZ_CHECK((patch_text == nullptr) == (patch_type == nullptr), json::serialize(answer));
  if (patch_text == nullptr) return;
  const json::value* allowed = member(*response, "allowed");
  ASM_FUZZ_CHECK(allowed != nullptr && allowed->is_bool() && allowed->get_bool(),
                 "a patch on a denial");
  ASM_FUZZ_CHECK(patch_type->is_string() && patch_type->get_string() == "JSONPatch",
                 json::serialize(*patch_type));

  const json::value* request = member(review, "request");
  ASM_FUZZ_CHECK(request != nullptr, "a patch without a request");
  const json::value* object = member(*request, "object");
  ASM_FUZZ_CHECK(object != nullptr, "a patch without request.object");
  const json::value* old_object = nullptr;
  if (const json::value* operation = member(*request, "operation");
      operation != nullptr && operation->is_string() && operation->get_string() == "UPDATE") {
    old_object = member(*request, "oldObject");
  }

  const std::string patch_json = base64_decode(patch_text->get_string());
  nlohmann::json patch;
  try {
    patch = nlohmann::json::parse(patch_json);
  } catch (const std::exception& e) {
    property_failed("the patch is not JSON", e.what());
  }
  ASM_FUZZ_CHECK(patch.is_array() && !patch.empty(), patch_json);

  const asmegress::policy::MutationResult mutated =
      asmegress::policy::mutate_policy(*object, old_object, asmegress::policy::Settings{});
  ASM_FUZZ_CHECK(mutated.errors.empty(), "answer allowed a patch that mutate_policy refuses");
  ASM_FUZZ_CHECK(mutated.patch_json == patch_json,
                 "the review's patch differs from mutate_policy's: " + patch_json);

  nlohmann::json original;
  try {
    original = to_nlohmann(*object);
  } catch (const std::exception&) {
    return;  // a number nlohmann cannot hold (an overflowing exponent): not the engine's fault
  }
  nlohmann::json applied;
  try {
    applied = original.patch(patch);
  } catch (const std::exception& e) {
    property_failed("the patch does not apply to request.object", std::string(e.what()) + " " + patch_json);
  }
  ASM_FUZZ_CHECK(applied == to_nlohmann(mutated.object),
                 "patched object " + applied.dump() + " != mutated " + json::serialize(mutated.object));

  const asmegress::policy::MutationResult again =
      asmegress::policy::mutate_policy(mutated.object, old_object, asmegress::policy::Settings{});
  ASM_FUZZ_CHECK(again.errors.empty(), "mutating the mutated object fails");
  ASM_FUZZ_CHECK(again.patch_json.empty(), "mutation is not idempotent: " + again.patch_json);
}

// The memory cap only ever refuses: under a cap small enough for inputs of
// fuzzing size to pass it, a review is either too large or answered exactly
// as without the cap.
void check_cap_only_refuses(std::string_view body, asmegress::policy::WebhookKind webhook,
                            const asmegress::policy::ReviewOutcome& uncapped) {
  asmegress::policy::Settings small;
  small.max_review_memory = 32 * 1024;
  const asmegress::policy::ReviewOutcome capped = asmegress::policy::answer_review(body, webhook, small);
  if (capped.too_large) {
    ASM_FUZZ_CHECK(!capped.well_formed && !capped.body.empty(), "a too-large answer without a message");
    return;
  }
  ASM_FUZZ_CHECK(capped.well_formed == uncapped.well_formed && capped.body == uncapped.body,
                 "the cap changed an answer: " + capped.body + " != " + uncapped.body);
}

void check_answer(std::string_view body, asmegress::policy::WebhookKind webhook) {
  const asmegress::policy::ReviewOutcome outcome =
      asmegress::policy::answer_review(body, webhook, asmegress::policy::Settings{});
  check_cap_only_refuses(body, webhook, outcome);
  if (!outcome.well_formed) {
    ASM_FUZZ_CHECK(!outcome.body.empty(), "a 400 without a message");
    return;
  }
  json::error_code ec;
  const json::value answer = parse(outcome.body, ec);
  ASM_FUZZ_CHECK(!ec, "the answer is not JSON: " + outcome.body);
  const json::value* response = member(answer, "response");
  ASM_FUZZ_CHECK(response != nullptr, outcome.body);
  const json::value* allowed = member(*response, "allowed");
  ASM_FUZZ_CHECK(allowed != nullptr && allowed->is_bool(), outcome.body);
  ASM_FUZZ_CHECK(allowed->get_bool() == outcome.summary.allowed, outcome.body);
  const json::value* uid = member(*response, "uid");
  ASM_FUZZ_CHECK(uid != nullptr && uid->is_string() && uid->get_string() == outcome.summary.uid,
                 outcome.body);

  if (webhook == asmegress::policy::WebhookKind::Validating) {
    ASM_FUZZ_CHECK(member(*response, "patch") == nullptr, "a patch from the validating path");
    return;
  }
  const json::value review = parse(body, ec);
  ASM_FUZZ_CHECK(!ec, "the engine answered a body the harness cannot parse");
  check_mutation_round_trip(review, answer);
}

void check_review_parse(std::string_view body, asmegress::policy::OldObject old_object) {
  const asmegress::policy::ParsedReview got =
      asmegress::policy::parse_review(body, {}, max_depth, old_object);
  const asmegress::policy::test::ReferenceParse want = asmegress::policy::test::reference_parse_review(
      body, max_depth, old_object == asmegress::policy::OldObject::Build);
  ASM_FUZZ_CHECK(got.error == want.error, got.error.message() + " != " + want.error.message());
  ASM_FUZZ_CHECK(got.consumed == want.consumed, "a parse error at another byte");
  // As text, so that a NaN (an overflowing exponent) equals itself.
  if (!want.error) {
    ASM_FUZZ_CHECK(json::serialize(got.value) == json::serialize(want.value),
                   json::serialize(got.value) + " != " + json::serialize(want.value));
  }
}

void check_cut_reads_alike(std::string_view body) {
  json::error_code ec;
  const json::value whole = parse(body, ec);
  if (ec) return;
  const json::value cut = asmegress::policy::test::cut_review(whole);
  std::string difference;
  ASM_FUZZ_CHECK(asmegress::policy::test::reads_alike(whole, cut, &difference), difference);
  asmegress::policy::AdmissionRequest a;
  asmegress::policy::AdmissionRequest b;
  if (asmegress::policy::read_admission_request(whole, a) ||
      asmegress::policy::read_admission_request(cut, b)) {
    return;
  }
  for (const auto& [x, y] :
       {std::pair{a.object, b.object}, std::pair{a.old_object, b.old_object}}) {
    if (x == nullptr) continue;
    const std::string px =
        asmegress::policy::testing::policy_text(asmegress::policy::decode_policy(*x).policy);
    const std::string py =
        asmegress::policy::testing::policy_text(asmegress::policy::decode_policy(*y).policy);
    ASM_FUZZ_CHECK(px == py, "the cut review decodes otherwise:\n" + px + "!=\n" + py);
  }
}

void check_streamed_member(std::optional<asmegress::policy::PolicyStream>& stream,
                           const json::value& review, std::string_view key) {
  if (!stream || !stream->done() || stream->failed()) return;
  const json::value* request = member(review, "request");
  ASM_FUZZ_CHECK(request != nullptr, "a streamed object without a request");
  const json::value* object = member(*request, key);
  if (stream->absent()) {
    ASM_FUZZ_CHECK(object == nullptr, "an object the stream took for null");
    return;
  }
  ASM_FUZZ_CHECK(object != nullptr, "a streamed object the DOM does not have");
  const asmegress::policy::DecodedPolicy decoded = asmegress::policy::decode_policy(*object);
  ASM_FUZZ_CHECK(decoded.errors.empty(),
                 "the stream decoded what decode_policy refuses: " + decoded.errors.front().message());
  const std::string got = asmegress::policy::testing::policy_text(stream->policy());
  const std::string want = asmegress::policy::testing::policy_text(decoded.policy);
  ASM_FUZZ_CHECK(got == want, got + "\n!=\n" + want);
}

void check_stream(std::string_view body) {
  asmegress::policy::ParsedReview got = asmegress::policy::parse_review(
      body, {}, max_depth, asmegress::policy::OldObject::Build,
      asmegress::policy::Objects::Stream);
  if (got.error) return;  // the same errors as without streaming: checked above
  json::error_code ec;
  const json::value review = parse(body, ec);
  ASM_FUZZ_CHECK(!ec, "parse_review accepted a body the harness cannot parse");
  check_streamed_member(got.object, review, "object");
  check_streamed_member(got.old_object, review, "oldObject");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check_review_parse(body, asmegress::policy::OldObject::Build);
  check_review_parse(body, asmegress::policy::OldObject::Skip);
  check_cut_reads_alike(body);
  check_stream(body);
  check_answer(body, asmegress::policy::WebhookKind::Mutating);
  check_answer(body, asmegress::policy::WebhookKind::Validating);
  return 0;
}
