#pragma once

// Shared helpers of the policy tests: fixtures, conversion between the engine's
// Boost.JSON values and nlohmann::json (whose patch() is the independent RFC 6902
// implementation every returned patch is checked with), and error lists as
// comparable {type, field} pairs.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <nlohmann/json.hpp>

#include "policy/admission.h"
#include "policy/field_error.h"
#include "policy/settings.h"

namespace asmegress::policy::test {

using nlohmann::json;

// Fixture paths are relative to tests/testdata.
inline constexpr const char* kSeedAutoPorts = "policies/seed-auto-ports.json";
inline constexpr const char* kSeedHttp = "policies/seed-http.json";
inline constexpr const char* kSeedHttpsUpgrade = "policies/seed-https-upgrade.json";
inline constexpr const char* kExplicitPorts = "policies/explicit-ports.json";
inline constexpr const char* kManyErrors = "policies/many-errors.json";
inline constexpr const char* kReviewCreateAutoPorts = "review-create-auto-ports.json";

std::string read_testdata(std::string_view relative);
json load_json(std::string_view relative);
boost::json::value load_boost(std::string_view relative);

json to_nl(const boost::json::value& v);
json to_nl(const boost::json::array& v);
boost::json::value to_boost(const json& v);

// RFC 6902 operations for editing fixtures: add (sets a member, or inserts into an
// array), replace, remove.
json op_add(const std::string& path, json value);
json op_replace(const std::string& path, json value);
json op_remove(const std::string& path);

// The document after applying a JSON Patch with nlohmann::json (not the engine's code).
json apply_patch(const json& doc, const json& patch);
// A fixture after edits (operations as built by op_add and friends).
json edited(const json& doc, const std::vector<json>& ops);

// The type name as Kubernetes spells it in field.ErrorType's Go constant.
std::string_view type_name(ErrorType t);

// What a validation table asserts: the error's type and its field path.
struct Err {
  ErrorType type;
  std::string field;
  friend bool operator==(const Err&, const Err&) = default;
};
std::ostream& operator<<(std::ostream& os, const Err& e);
std::vector<Err> errs_of(const FieldErrors& errors);
// All messages, one a line, for failure output.
std::string describe(const FieldErrors& errors);

// A to[] entry; `gateway` becomes byEgressGateway as given (absent when nullopt).
json make_entry(const std::string& name, const std::string& protocol, json hosts, int number,
                std::optional<json> gateway = std::nullopt);
// A policy named egress-by-egressgateway-a in istio-egress with one rule per
// element of `rules` (rule i comes from namespace ns-i).
json make_policy(const std::vector<std::vector<json>>& rules);

// byEgressGateway.port of spec.egressRules[rule].to[to], when it is a number.
std::optional<std::int64_t> gateway_port(const json& policy, std::size_t rule, std::size_t to);

Settings settings_with_reserved(std::uint32_t first, std::uint32_t last);

std::string base64_decode(std::string_view in);

// A mutation's patch as operations (empty when it has none).
boost::json::array patch_array(const MutationResult& result);

// An AdmissionReview around `object` as the API server would send it.
struct ReviewSpec {
  std::string api_version = "admission.k8s.io/v1";
  std::string uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
  std::string operation = "CREATE";
  std::string group = "istio.alibabacloud.com";
  std::string kind = "ASMEgressTrafficPolicy";
  std::optional<json> object;
  std::optional<json> old_object;
  bool dry_run = false;
};
json make_review(const ReviewSpec& spec);

// The parsed response of a well-formed answer.
json parse_answer(const ReviewOutcome& outcome);

// Every text one byte away from `text`, with bytes that change the JSON's
// structure: each byte deleted and each doubled, and every third replaced by
// each of {}[]":,0\ and a letter. About 4,000 for the seed review.
std::vector<std::string> one_byte_edits(const std::string& text);

}  // namespace asmegress::policy::test
