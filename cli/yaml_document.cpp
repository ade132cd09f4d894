#include "cli/yaml_document.h"

#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "cli/yaml_scalar.h"

namespace asmegress::cli {
namespace {

namespace json = boost::json;

std::size_t one_based(int zero_based) {
  return zero_based < 0 ? 0 : static_cast<std::size_t>(zero_based) + 1;
}

// A problem found while building values; thrown out of the event handler so
// that yaml-cpp stops parsing, caught in parse_yaml_documents.
struct BuildError : std::runtime_error {
  BuildError(const YAML::Mark& where, const std::string& what)
      : std::runtime_error(what), mark(where) {}
  YAML::Mark mark;
};

constexpr std::string_view tag_prefix = "tag:yaml.org,2002:";

// A scalar with its tag applied: "?" is a plain scalar (resolved by the core
// schema), "!" a quoted or block one (a string); the standard tags force their
// type, and other tags leave the text as a string.
json::value scalar_value(const YAML::Mark& mark, const std::string& tag,
                         const std::string& text) {
  if (tag == "?") return resolve_plain_scalar(text);
  if (!std::string_view(tag).starts_with(tag_prefix)) return json::string(text);
  const std::string_view type = std::string_view(tag).substr(tag_prefix.size());
  if (type == "str") return json::string(text);
  json::value resolved = resolve_plain_scalar(text);
  const bool fits = (type == "null" && resolved.is_null()) ||
                    (type == "bool" && resolved.is_bool()) ||
                    (type == "int" && (resolved.is_int64() || resolved.is_uint64())) ||
                    (type == "float" && resolved.is_number());
  if (type == "float" && fits) return resolved.to_number<double>();
  if (fits) return resolved;
  if (type == "null" || type == "bool" || type == "int" || type == "float") {
    throw BuildError(mark, "invalid !!" + std::string(type) + " value \"" + text + "\"");
  }
  return json::string(text);
}

// Counts the values in `v` (itself included), for alias expansion limits.
std::size_t count_nodes(const json::value& v) {
  std::size_t n = 1;
  if (const auto* a = v.if_array()) {
    for (const auto& item : *a) n += count_nodes(item);
  } else if (const auto* o = v.if_object()) {
    for (const auto& member : *o) n += count_nodes(member.value());
  }
  return n;
}

// Builds JSON values from yaml-cpp's parse events, one document at a time.
class ValueBuilder final : public YAML::EventHandler {
 public:
  explicit ValueBuilder(const YamlLimits& limits) : limits_(limits) {}

  // The finished document's value, if it had a node.
  std::optional<json::value> root;
  YAML::Mark root_mark;

  void OnDocumentStart(const YAML::Mark& /*mark*/) override {
    root.reset();
    stack_.clear();
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (awaiting_key()) {
      set_key(mark, "null");
      return;
    }
    add(mark, nullptr, anchor, 1);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto found = anchors_.find(anchor);
    if (found == anchors_.end()) {
      throw BuildError(mark, "alias refers to a node that is not complete");
    }
    const auto& [value, nodes] = found->second;
    if (awaiting_key()) {
      if (!value.is_string()) throw BuildError(mark, "a mapping key must be a scalar");
      set_key(mark, std::string(value.get_string()));
      return;
    }
    add(mark, value, 0, nodes);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    if (awaiting_key()) {
      // Keys are their text, as sigs.k8s.io/yaml makes them: `80:` is "80".
      if (anchor != 0) anchors_[anchor] = {json::string(text), 1};
      set_key(mark, text);
      return;
    }
    add(mark, scalar_value(mark, tag, text), anchor, 1);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t anchor, YAML::EmitterStyle::value /*style*/) override {
    open(mark, json::array(), anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(mark, json::object(), anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    json::value container;
    YAML::anchor_t anchor = 0;
    YAML::Mark mark;
    std::size_t nodes_before = 0;  // nodes_ when the container opened
    std::optional<std::string> key;
  };

  bool awaiting_key() const {
    return !stack_.empty() && stack_.back().container.is_object() && !stack_.back().key;
  }

  void set_key(const YAML::Mark& mark, std::string key) {
    auto& frame = stack_.back();
    if (frame.container.get_object().contains(key)) {
      throw BuildError(mark, "duplicate mapping key \"" + key + "\"");
    }
    frame.key = std::move(key);
  }

  void count(const YAML::Mark& mark, std::size_t nodes) {
    nodes_ += nodes;
    if (nodes_ > limits_.max_nodes) {
      throw BuildError(mark, "document expands to more than " +
                                 std::to_string(limits_.max_nodes) +
                                 " values (too many aliases?)");
    }
  }

  void open(const YAML::Mark& mark, json::value container, YAML::anchor_t anchor) {
    if (awaiting_key()) throw BuildError(mark, "a mapping key must be a scalar");
    if (stack_.size() >= limits_.max_depth) {
      throw BuildError(mark, "nesting deeper than " + std::to_string(limits_.max_depth) +
                                 " levels");
    }
    count(mark, 1);
    stack_.push_back(Frame{std::move(container), anchor, mark, nodes_ - 1, std::nullopt});
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    const std::size_t nodes = nodes_ - frame.nodes_before;
    if (frame.anchor != 0) anchors_[frame.anchor] = {frame.container, nodes};
    place(frame.mark, std::move(frame.container));
  }

  // A complete value from the stream (not yet counted).
  void add(const YAML::Mark& mark, json::value value, YAML::anchor_t anchor,
           std::size_t nodes) {
    count(mark, nodes);
    if (anchor != 0) anchors_[anchor] = {value, nodes};
    place(mark, std::move(value));
  }

  void place(const YAML::Mark& mark, json::value value) {
    if (stack_.empty()) {
      root = std::move(value);
      root_mark = mark;
      return;
    }
    auto& frame = stack_.back();
    if (auto* array = frame.container.if_array()) {
      array->push_back(std::move(value));
      return;
    }
    frame.container.get_object().emplace(*frame.key, std::move(value));
    frame.key.reset();
  }

  const YamlLimits& limits_;
  std::vector<Frame> stack_;
  // Anchors stay defined across documents in yaml-cpp's numbering; the
  // parser itself rejects aliases to anchors it has not seen.
  std::map<YAML::anchor_t, std::pair<json::value, std::size_t>> anchors_;
  std::size_t nodes_ = 0;
};

}  // namespace

std::string YamlError::to_string() const {
  std::string out = file;
  if (line != 0) {
    out += ':' + std::to_string(line);
    if (column != 0) out += ':' + std::to_string(column);
  }
  return out + ": " + message;
}

void throw_exception_from_error(const YamlError& error,
                                const boost::source_location& /*location*/) {
  throw std::runtime_error(error.to_string());
}

YamlDocuments parse_yaml_documents(std::string_view text, std::string_view file_name,
                                   const YamlLimits& limits) {
  std::istringstream input{std::string(text)};
  std::vector<YamlDocument> documents;
  ValueBuilder builder(limits);
  const auto error_at = [&](const YAML::Mark& mark, std::string message) {
    return YamlError{std::string(file_name), one_based(mark.line), one_based(mark.column),
                     std::move(message)};
  };
  try {
    YAML::Parser parser(input);
    while (parser.HandleNextDocument(builder)) {
      if (!builder.root || builder.root->is_null()) continue;
      documents.push_back({std::move(*builder.root), one_based(builder.root_mark.line)});
    }
  } catch (const BuildError& e) {
    return error_at(e.mark, e.what());
  } catch (const YAML::Exception& e) {
    return error_at(e.mark, e.msg);
  } catch (const std::bad_alloc&) {
    return YamlError{std::string(file_name), 0, 0, "out of memory"};
  }
  return documents;
}

}  // namespace asmegress::cli
