#pragma once

// The reference parse_review is tested against: Boost.JSON's own whole-DOM
// parse (stream_parser, one write() then finish()), after which the value is
// cut down to what the engine reads, by a walk over the DOM written from the
// engine's contract rather than from the parser's handler:
//   - the review keeps apiVersion, kind and request; the request uid, kind
//     (only its group and kind), operation, name, namespace, dryRun, object
//     and oldObject (unless skipped); each object only the members
//     decode_policy reads, at every level it decodes (metadata's name,
//     generateName, namespace, deletionTimestamp and annotations, of the
//     annotations only the allocation marker, and so on down to a
//     destination's port);
//   - a container where a scalar or another kind of container is read
//     becomes an empty container of its own kind (only its kind is read);
//   - rules, sources and destinations past decode_policy's budget are cut,
//     keeping one more than it reads, each list of a rule counted as if it
//     came first.
// Whether this loses anything the engine reads is checked separately: the
// decisions on the cut value are those on the whole one (decodes_alike
// below, and the review fuzz target).
// Shared by the unit tests and the review fuzz target.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "policy/admission_review.h"
#include "policy/decode.h"
#include "policy/model.h"

namespace asmegress::policy::test {

struct ReferenceParse {
  boost::json::value value;
  boost::system::error_code error;
  std::size_t consumed = 0;
};

namespace reference_detail {

namespace bj = boost::json;

// What a value is expected to be.
struct Node {
  enum class Kind { Scalar, Object, Array } kind = Kind::Scalar;
  std::map<std::string, const Node*, std::less<>> members;  // of an object
  bool every_member = false;                                // an object of labels
  const Node* items = nullptr;                              // of an array
};

struct Schema {
  Node scalar;
  Node port{Node::Kind::Object, {{"name", &scalar}, {"number", &scalar}, {"protocol", &scalar}}};
  Node gateway{Node::Kind::Object, {{"name", &scalar}, {"port", &scalar}}};
  Node upgrade{Node::Kind::Object, {{"enabled", &scalar}, {"port", &scalar}}};
  Node hosts{Node::Kind::Array, {}, false, &scalar};
  Node destination{Node::Kind::Object,
                   {{"name", &scalar},
                    {"hosts", &hosts},
                    {"port", &port},
                    {"byEgressGateway", &gateway},
                    {"httpsUpgrade", &upgrade}}};
  Node destinations{Node::Kind::Array, {}, false, &destination};
  Node selector{Node::Kind::Object, {}, true};
  Node source{Node::Kind::Object, {{"namespace", &scalar}, {"workloadSelector", &selector}}};
  Node sources{Node::Kind::Array, {}, false, &source};
  Node rule{Node::Kind::Object, {{"name", &scalar}, {"from", &sources}, {"to", &destinations}}};
  Node rules{Node::Kind::Array, {}, false, &rule};
  Node spec{Node::Kind::Object, {{"byEgressGateway", &gateway}, {"egressRules", &rules}}};
  Node annotations{Node::Kind::Object, {{std::string(kAllocationAnnotation), &scalar}}};
  Node metadata{Node::Kind::Object,
                {{"name", &scalar},
                 {"generateName", &scalar},
                 {"namespace", &scalar},
                 {"deletionTimestamp", &scalar},
                 {"annotations", &annotations}}};
  Node policy{
      Node::Kind::Object,
      {{"apiVersion", &scalar}, {"kind", &scalar}, {"metadata", &metadata}, {"spec", &spec}}};
  Node request_kind{Node::Kind::Object, {{"group", &scalar}, {"kind", &scalar}}};
  Node request{Node::Kind::Object,
               {{"uid", &scalar},
                {"kind", &request_kind},
                {"operation", &scalar},
                {"name", &scalar},
                {"namespace", &scalar},
                {"dryRun", &scalar},
                {"object", &policy},
                {"oldObject", &policy}}};
  Node request_without_old{Node::Kind::Object, {}};
  Node review{Node::Kind::Object,
              {{"apiVersion", &scalar}, {"kind", &scalar}, {"request", &request}}};
  Node review_without_old{Node::Kind::Object, {}};

  Schema() {
    request_without_old.members = request.members;
    request_without_old.members.erase("oldObject");
    review_without_old.members = review.members;
    review_without_old.members["request"] = &request_without_old;
  }
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;
};

inline const Schema& schema() {
  static const Schema s;
  return s;
}

inline bj::value empty_like(const bj::value& v) {
  if (v.is_object()) return bj::object();
  return bj::array();
}

bj::value cut(const bj::value& v, const Node& node);

// decode_policy's budget, as it spends it: a rule, then its sources, then
// its destinations. Items are kept while the count before them is at most
// the budget: one more than decode_policy reads, so that it still finds the
// item it stops at.
struct Budget {
  std::size_t used = 0;       // before the current rule
  std::size_t rule_base = 0;  // the current rule's
};

inline bj::array cut_list(const bj::array& items, const Node& node, Budget* budget) {
  bj::array out;
  const Schema& s = schema();
  for (std::size_t k = 0; k < items.size(); ++k) {
    const bj::value& item = items[k];
    if (&node == &s.rules) {
      budget->rule_base = budget->used;
      if (budget->used > kMaxDecodedItems) {
        ++budget->used;
        continue;
      }
      bj::value kept = empty_like(item);
      std::size_t children = 0;
      if (item.is_object()) {
        bj::object rule;
        for (const auto& m : item.get_object()) {
          const auto found = s.rule.members.find(std::string_view(m.key()));
          if (found == s.rule.members.end()) continue;
          const Node& child = *found->second;
          if ((&child == &s.sources || &child == &s.destinations) && m.value().is_array()) {
            bj::array list = cut_list(m.value().get_array(), child, budget);
            rule[m.key()] = std::move(list);
          } else {
            rule[m.key()] = cut(m.value(), child);
          }
        }
        for (const char* key : {"from", "to"}) {
          if (const bj::value* list = rule.if_contains(key); list != nullptr && list->is_array()) {
            children += list->get_array().size();
          }
        }
        kept = std::move(rule);
      } else if (!item.is_array()) {
        kept = item;
      }
      out.push_back(std::move(kept));
      budget->used = budget->rule_base + 1 + children;
    } else if (&node == &s.sources || &node == &s.destinations) {
      if (budget->rule_base + 1 + k > kMaxDecodedItems) continue;
      out.push_back(cut(item, *node.items));
    } else {
      out.push_back(cut(item, *node.items));
    }
  }
  return out;
}

inline bj::value cut(const bj::value& v, const Node& node) {
  const bool container = v.is_object() || v.is_array();
  if (!container) return v;
  switch (node.kind) {
    case Node::Kind::Scalar: return empty_like(v);
    case Node::Kind::Object: {
      if (!v.is_object()) return empty_like(v);
      bj::object out;
      for (const auto& m : v.get_object()) {
        if (node.every_member) {
          out[m.key()] = cut(m.value(), schema().scalar);
          continue;
        }
        const auto found = node.members.find(std::string_view(m.key()));
        if (found != node.members.end()) out[m.key()] = cut(m.value(), *found->second);
      }
      return out;
    }
    case Node::Kind::Array: {
      if (!v.is_array()) return empty_like(v);
      Budget budget;
      return cut_list(v.get_array(), node, &budget);
    }
  }
  return v;
}

}  // namespace reference_detail

// What parse_review builds of a whole DOM of the review.
inline boost::json::value cut_review(const boost::json::value& review,
                                     bool keep_old_object = true) {
  const auto& s = reference_detail::schema();
  return reference_detail::cut(review, keep_old_object ? s.review : s.review_without_old);
}

inline ReferenceParse reference_parse_review(std::string_view text, std::size_t max_depth,
                                             bool keep_old_object = true) {
  boost::json::parse_options options;
  options.max_depth = max_depth;
  boost::json::stream_parser parser({}, options);
  ReferenceParse out;
  out.consumed = parser.write(text.data(), text.size(), out.error);
  if (!out.error) parser.finish(out.error);
  if (out.error) return out;
  out.value = cut_review(parser.release(), keep_old_object);
  return out;
}

// Whether the engine reads the same of `cut` as of `whole` (a review, and
// cut_review of it): read_admission_request gives the same answer, and
// decode_policy the same errors of both objects. The policies themselves are
// compared by the caller, which knows how to print them.
inline bool reads_alike(const boost::json::value& whole, const boost::json::value& cut,
                        std::string* difference) {
  AdmissionRequest a;
  AdmissionRequest b;
  const auto ea = read_admission_request(whole, a);
  const auto eb = read_admission_request(cut, b);
  if (ea != eb) {
    *difference = "read_admission_request: " + ea.value_or("ok") + " != " + eb.value_or("ok");
    return false;
  }
  if (ea) return true;
  if (a.uid != b.uid || a.group != b.group || a.kind != b.kind || a.name != b.name ||
      a.namespace_name != b.namespace_name || a.operation != b.operation ||
      a.dry_run != b.dry_run || (a.object == nullptr) != (b.object == nullptr) ||
      (a.old_object == nullptr) != (b.old_object == nullptr)) {
    *difference = "read_admission_request reads other values";
    return false;
  }
  for (const auto& [x, y] :
       {std::pair{a.object, b.object}, std::pair{a.old_object, b.old_object}}) {
    if (x == nullptr) continue;
    const DecodedPolicy dx = decode_policy(*x);
    const DecodedPolicy dy = decode_policy(*y);
    std::string mx;
    std::string my;
    for (const auto& e : dx.errors) mx += e.message() + "\n";
    for (const auto& e : dy.errors) my += e.message() + "\n";
    if (mx != my) {
      *difference = "decode_policy errors:\n" + mx + "!=\n" + my;
      return false;
    }
  }
  return true;
}

}  // namespace asmegress::policy::test
