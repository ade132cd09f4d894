#include "policy/ratchet.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "policy/decode.h"
#include "policy/keyed_hash.h"
#include "policy/review_parser.h"
#include "policy/validate.h"

namespace asmegress::policy {
namespace {

namespace json = boost::json;

void append_part(std::string& key, std::string_view part) {
  const std::uint64_t size = part.size();
  char bytes[sizeof size];
  std::memcpy(bytes, &size, sizeof size);
  key.append(bytes, sizeof bytes);
  key.append(part);
}

// Everything that makes two errors the same, as one string: each part with
// its length before it, so that no two different errors give the same key.
std::string key_of(const FieldError& e) {
  std::string key;
  key.reserve(2 + 3 * 8 + e.field.size() + e.detail.size() +
              (e.bad_value ? e.bad_value->size() : 0));
  key += static_cast<char>(e.type);
  key += e.bad_value ? '1' : '0';
  append_part(key, e.field);
  append_part(key, e.bad_value.value_or(std::string()));
  append_part(key, e.detail);
  return key;
}

const json::value* non_null_member(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  if (o == nullptr) return nullptr;
  const json::value* m = o->if_contains(key);
  return m == nullptr || m->is_null() ? nullptr : m;
}

FieldErrors errors_of(DecodedPolicy&& decoded, const Settings& settings) {
  FieldErrors errors = std::move(decoded.errors);
  Warnings warnings;  // the old object's are not this request's
  validate(decoded.policy, settings, errors, warnings);
  return errors;
}

}  // namespace

void ratchet(FieldErrors& errors, const FieldErrors& old_errors, FieldErrors& unchanged) {
  if (errors.empty() || old_errors.empty()) return;
  // Past the first MessageList::kKept errors of an object, errors are only
  // counted. More of them than the old object had may hide new ones that no
  // comparison can see: then nothing is ratcheted, and the update is judged
  // as if it were new. As many or fewer are taken for the old ones.
  if (errors.omitted() > old_errors.omitted()) return;
  const std::size_t uncompared = errors.omitted();
  std::unordered_map<std::string, std::size_t, SipHash13> old;  // key -> errors left to match
  old.reserve(old_errors.size());
  for (const FieldError& e : old_errors) ++old[key_of(e)];
  FieldErrors introduced;
  introduced.reserve(errors.size());
  for (FieldError& e : errors) {
    const auto found = old.find(key_of(e));
    if (found != old.end() && found->second > 0) {
      --found->second;
      unchanged.push_back(std::move(e));
    } else {
      introduced.push_back(std::move(e));
    }
  }
  errors = std::move(introduced);
  unchanged.set_omitted(unchanged.omitted() + uncompared);
}

std::optional<FieldErrors> old_object_errors(std::string_view review_text,
                                             const json::storage_ptr& storage,
                                             std::size_t max_depth, const Settings& settings) {
  // As for request.object: decoded as it is read when it decodes cleanly,
  // else built and decoded from the value, whose errors say what is wrong.
  ParsedReview parsed =
      parse_review(review_text, storage, max_depth, OldObject::Build, Objects::Stream);
  if (parsed.error) return std::nullopt;
  if (auto& old = parsed.old_object; old && old->done() && !old->failed()) {
    if (old->absent()) return std::nullopt;
    return errors_of(DecodedPolicy{std::move(old->policy()), {}}, settings);
  }
  if (!parsed.old_object) return std::nullopt;  // no oldObject member
  parsed = parse_review(review_text, storage, max_depth, OldObject::Build, Objects::Build);
  if (parsed.error) return std::nullopt;
  const json::value* request = non_null_member(parsed.value, "request");
  const json::value* old_object = request ? non_null_member(*request, "oldObject") : nullptr;
  if (old_object == nullptr) return std::nullopt;
  return errors_of(decode_policy(*old_object), settings);
}

}  // namespace asmegress::policy
