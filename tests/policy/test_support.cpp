#include "tests/policy/test_support.h"

#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace asmegress::policy::test {

std::string read_testdata(std::string_view relative) {
  const std::string path = std::string(ASM_EGRESS_TESTDATA_DIR) + "/" + std::string(relative);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

json load_json(std::string_view relative) { return json::parse(read_testdata(relative)); }

boost::json::value load_boost(std::string_view relative) {
  return boost::json::parse(read_testdata(relative));
}

json to_nl(const boost::json::value& v) { return json::parse(boost::json::serialize(v)); }

json to_nl(const boost::json::array& v) { return json::parse(boost::json::serialize(v)); }

boost::json::value to_boost(const json& v) { return boost::json::parse(v.dump()); }

json op_add(const std::string& path, json value) {
  return json{{"op", "add"}, {"path", path}, {"value", std::move(value)}};
}

json op_replace(const std::string& path, json value) {
  return json{{"op", "replace"}, {"path", path}, {"value", std::move(value)}};
}

json op_remove(const std::string& path) { return json{{"op", "remove"}, {"path", path}}; }

json apply_patch(const json& doc, const json& patch) { return doc.patch(patch); }

json edited(const json& doc, const std::vector<json>& ops) { return doc.patch(json(ops)); }

std::string_view type_name(ErrorType t) {
  switch (t) {
    case ErrorType::Required: return "Required";
    case ErrorType::Invalid: return "Invalid";
    case ErrorType::NotSupported: return "NotSupported";
    case ErrorType::Duplicate: return "Duplicate";
    case ErrorType::Forbidden: return "Forbidden";
    case ErrorType::TooLong: return "TooLong";
    case ErrorType::TooMany: return "TooMany";
    case ErrorType::Internal: return "Internal";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, const Err& e) {
  return os << "{" << type_name(e.type) << ", " << e.field << "}";
}

std::vector<Err> errs_of(const FieldErrors& errors) {
  std::vector<Err> out;
  out.reserve(errors.size());
  for (const auto& e : errors) out.push_back({e.type, e.field});
  return out;
}

std::string describe(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += "  ";
    out += e.message();
    out += '\n';
  }
  return out.empty() ? "  (no errors)\n" : out;
}

json make_entry(const std::string& name, const std::string& protocol, json hosts, int number,
                std::optional<json> gateway) {
  json e = json::object();
  e["name"] = name;
  e["hosts"] = std::move(hosts);
  e["port"] = json{{"name", "p"}, {"number", number}, {"protocol", protocol}};
  if (gateway) e["byEgressGateway"] = *gateway;
  return e;
}

json make_policy(const std::vector<std::vector<json>>& rules) {
  json rule_list = json::array();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    json from = json::array();
    from.push_back(json{{"namespace", "ns-" + std::to_string(i)}});
    json r = json::object();
    r["from"] = std::move(from);
    r["to"] = json(rules[i]);
    rule_list.push_back(std::move(r));
  }
  json p = json::object();
  p["apiVersion"] = "istio.alibabacloud.com/v1beta1";
  p["kind"] = "ASMEgressTrafficPolicy";
  p["metadata"] = json{{"name", "egress-by-egressgateway-a"}, {"namespace", "istio-egress"}};
  p["spec"] = json::object();
  p["spec"]["byEgressGateway"] = json{{"name", "egressgateway-a"}};
  p["spec"]["egressRules"] = std::move(rule_list);
  return p;
}

std::optional<std::int64_t> gateway_port(const json& policy, std::size_t rule, std::size_t to) {
  const json& entry = policy.at("spec").at("egressRules").at(rule).at("to").at(to);
  const auto gw = entry.find("byEgressGateway");
  if (gw == entry.end() || !gw->is_object()) return std::nullopt;
  const auto port = gw->find("port");
  if (port == gw->end() || !port->is_number_integer()) return std::nullopt;
  return port->get<std::int64_t>();
}

Settings settings_with_reserved(std::uint32_t first, std::uint32_t last) {
  Settings s;
  for (std::uint32_t p = first; p <= last; ++p) s.reserved_ports.insert(p);
  return s;
}

boost::json::array patch_array(const MutationResult& result) {
  if (result.patch_json.empty()) return {};
  return boost::json::parse(result.patch_json).as_array();
}

std::string base64_decode(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (in.size() % 4 != 0) throw std::runtime_error("base64 length not a multiple of 4");
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '=') {
      if (i + 2 < in.size()) throw std::runtime_error("base64 padding inside the text");
      break;
    }
    const auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) throw std::runtime_error("not base64 (std alphabet)");
    acc = (acc << 6U) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU));
    }
  }
  return out;
}

json make_review(const ReviewSpec& spec) {
  json request = {
      {"uid", spec.uid},
      {"kind", {{"group", spec.group}, {"version", "v1beta1"}, {"kind", spec.kind}}},
      {"resource",
       {{"group", spec.group}, {"version", "v1beta1"}, {"resource", "asmegresstrafficpolicies"}}},
      {"namespace", "istio-egress"},
      {"operation", spec.operation},
      {"userInfo", {{"username", "admin"}, {"groups", json::array({"system:authenticated"})}}},
      {"dryRun", spec.dry_run},
  };
  if (spec.object) {
    request["object"] = *spec.object;
    if (spec.object->is_object() && spec.object->contains("metadata") &&
        spec.object->at("metadata").contains("name")) {
      request["name"] = spec.object->at("metadata").at("name");
    } else {
      request["name"] = "";
    }
  }
  request["oldObject"] = spec.old_object ? *spec.old_object : json(nullptr);
  return json{{"apiVersion", spec.api_version}, {"kind", "AdmissionReview"}, {"request", request}};
}

json parse_answer(const ReviewOutcome& outcome) {
  if (!outcome.well_formed) throw std::runtime_error("malformed: " + outcome.body);
  return json::parse(outcome.body);
}

std::vector<std::string> one_byte_edits(const std::string& text) {
  const std::string_view replacements = "{}[]\":,0\\ a";
  std::vector<std::string> edits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    edits.push_back(text.substr(0, i) + text.substr(i + 1));
    edits.push_back(text.substr(0, i + 1) + text.substr(i));
    if (i % 3 == 0) {
      for (const char c : replacements) {
        std::string edited = text;
        edited[i] = c;
        edits.push_back(std::move(edited));
      }
    }
  }
  return edits;
}

}  // namespace asmegress::policy::test
