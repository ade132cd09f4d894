#include "policy/spec_change.h"

#include <optional>
#include <string_view>

#include <boost/json/parse.hpp>

namespace asmegress::policy {
namespace {

namespace json = boost::json;

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The text of the object that follows the key ending at `key_end` in `text`
// (its closing quote, a colon, the object), from its '{' to its '}'. The text
// is valid JSON, so a scan that only tells strings from the rest finds the
// end; the bounds are checked all the same.
std::optional<std::string_view> object_after_key(std::string_view text, const char* key_end) {
  const char* end = text.data() + text.size();
  const char* p = key_end;
  if (p < text.data() || p >= end || *p != '"') return std::nullopt;
  ++p;
  while (p < end && space(*p)) ++p;
  if (p == end || *p != ':') return std::nullopt;
  ++p;
  while (p < end && space(*p)) ++p;
  if (p == end || *p != '{') return std::nullopt;
  const char* begin = p;
  std::size_t depth = 0;
  for (; p < end; ++p) {
    switch (*p) {
      case '"':
        for (++p; p < end && *p != '"'; ++p) {
          if (*p == '\\') ++p;  // the escaped character, a quote perhaps
        }
        if (p >= end) return std::nullopt;
        break;
      case '{':
      case '[': ++depth; break;
      case '}':
      case ']':
        if (--depth == 0) return std::string_view(begin, static_cast<std::size_t>(p + 1 - begin));
        break;
      default: break;
    }
  }
  return std::nullopt;
}

// Whether the fields decoding kept of two specs differ, which only specs of
// different values can do: every field compared depends on the value alone,
// not on how it is written. (Labels are left out: decoding keeps them in the
// order they are written, which two equal objects may not share.)
template <typename T>
bool same_field(const Field<T>& a, const Field<T>& b) {
  return a.present == b.present && a.value == b.value;
}

// Numbers and kinds first, strings last: an edit usually shows in a port
// (kubectl apply of a manifest without the ports the stored object has)
// and is then told apart without comparing a string.
bool same_gateway(const GatewayRef& a, const GatewayRef& b) {
  return a.presence == b.presence && same_field(a.port, b.port) && same_field(a.name, b.name);
}

bool same_destination(const Destination& a, const Destination& b) {
  return a.presence == b.presence && a.gateway_member == b.gateway_member &&
         a.gateway_port_member == b.gateway_port_member && same_gateway(a.gateway, b.gateway) &&
         a.port_presence == b.port_presence && same_field(a.port.number, b.port.number) &&
         a.https_upgrade.presence == b.https_upgrade.presence &&
         same_field(a.https_upgrade.enabled, b.https_upgrade.enabled) &&
         same_field(a.https_upgrade.port, b.https_upgrade.port) &&
         a.hosts_presence == b.hosts_presence && a.hosts.size() == b.hosts.size() &&
         same_field(a.port.protocol, b.port.protocol) && same_field(a.name, b.name) &&
         a.hosts == b.hosts && same_field(a.port.name, b.port.name);
}

bool same_rule(const EgressRule& a, const EgressRule& b) {
  if (a.presence != b.presence || a.from_presence != b.from_presence ||
      a.from.size() != b.from.size() || a.to_presence != b.to_presence ||
      a.to.size() != b.to.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.to.size(); ++i) {
    if (!same_destination(a.to[i], b.to[i])) return false;
  }
  for (std::size_t i = 0; i < a.from.size(); ++i) {
    if (a.from[i].presence != b.from[i].presence ||
        a.from[i].selector.size() != b.from[i].selector.size() ||
        !same_field(a.from[i].namespace_name, b.from[i].namespace_name)) {
      return false;
    }
  }
  return same_field(a.name, b.name);
}

bool decoded_specs_differ(const Policy& a, const Policy& b) {
  if (a.spec_presence != b.spec_presence || a.gateway.presence != b.gateway.presence ||
      a.rules_presence != b.rules_presence || a.rules.size() != b.rules.size()) {
    return true;
  }
  for (std::size_t i = 0; i < a.rules.size(); ++i) {
    if (!same_rule(a.rules[i], b.rules[i])) return true;
  }
  return !same_gateway(a.gateway, b.gateway);
}

const json::value* spec_of(const json::value& object) {
  const json::object* o = object.if_object();
  if (o == nullptr) return nullptr;
  const json::value* spec = o->if_contains("spec");
  return spec == nullptr || spec->is_null() ? nullptr : spec;
}

}  // namespace

bool same_spec(const json::value& object, const json::value& old_object) {
  const json::value* a = spec_of(object);
  const json::value* b = spec_of(old_object);
  if (a == nullptr || b == nullptr) return a == b;
  return *a == *b;
}

bool same_spec(const StreamedSpec& object, const StreamedSpec& old_object,
               const json::storage_ptr& storage, std::size_t max_depth) {
  // A spec that is absent or null is recorded as such; one of the wrong type
  // never streams.
  if (object.key_end == nullptr || old_object.key_end == nullptr) {
    return object.key_end == old_object.key_end;
  }
  if (decoded_specs_differ(object.policy, old_object.policy)) return false;
  const auto a = object_after_key(object.text, object.key_end);
  const auto b = object_after_key(old_object.text, old_object.key_end);
  if (!a || !b) return false;  // not reached for text the parser accepted
  if (*a == *b) return true;
  json::parse_options options;
  options.max_depth = max_depth;
  json::error_code error;
  const json::value a_value = json::parse(*a, error, storage, options);
  if (error) return false;
  const json::value b_value = json::parse(*b, error, storage, options);
  if (error) return false;
  return a_value == b_value;
}

}  // namespace asmegress::policy
