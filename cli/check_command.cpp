// `check`: the engine run offline on manifests, the way `kubectl apply` would
// meet it through the API server: mutate, then validate the mutated object.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/commands.h"
#include "cli/policy_flags.h"
#include "cli/yaml_document.h"
#include "cli/yaml_emitter.h"
#include "policy/admission.h"

namespace asmegress::cli {
namespace {

namespace json = boost::json;

// Exit statuses, documented in the command's help.
constexpr int kAdmitted = 0;
constexpr int kDenied = 1;
constexpr int kUnreadable = 2;

struct CheckOptions {
  std::vector<std::string> files;
  std::string old_file;
  std::string output = "yaml";
};

// One input's documents, labelled as kubectl labels them ("STDIN" for "-").
struct Manifest {
  std::string label;
  std::vector<YamlDocument> documents;
};

// Reads and parses one input; prints kubectl-style errors and returns nullopt
// when it cannot be read.
std::optional<Manifest> read_manifest(const std::string& path) {
  std::string text;
  std::string label = path == "-" ? "STDIN" : path;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      const int error = errno;
      if (error == ENOENT) {
        std::cerr << "error: the path \"" << path << "\" does not exist\n";
      } else {
        std::cerr << "error: cannot read \"" << path << "\": " << std::strerror(error) << "\n";
      }
      return std::nullopt;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
      std::cerr << "error: cannot read \"" << path << "\"\n";
      return std::nullopt;
    }
    text = std::move(buffer).str();
  }
  auto parsed = parse_yaml_documents(text, label);
  if (!parsed) {
    std::cerr << "error: " << parsed.error().to_string() << "\n";
    return std::nullopt;
  }
  return Manifest{std::move(label), std::move(*parsed)};
}

std::string string_at(const json::value& object, std::string_view section, std::string_view key) {
  const json::object* o = object.if_object();
  const json::value* inner = o ? o->if_contains(section) : nullptr;
  const json::object* io = inner ? inner->if_object() : nullptr;
  const json::value* v = io ? io->if_contains(key) : nullptr;
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The object kubectl would name in its message: its name, or for an object
// created with generateName, the prefix.
std::string object_name(const json::value& object) {
  std::string name = string_at(object, "metadata", "name");
  return name.empty() ? string_at(object, "metadata", "generateName") : name;
}

using ObjectKey = std::pair<std::string, std::string>;  // namespace, name

ObjectKey key_of(const json::value& object) {
  return {string_at(object, "metadata", "namespace"), string_at(object, "metadata", "name")};
}

// The items of a list object, as `kubectl get -o yaml` prints one (kind
// List) and `-o json` of one resource type may (<Kind>List); nullptr for
// any other document. Each item is an object of its own.
json::array* list_items(json::value& document) {
  json::object* o = document.if_object();
  if (o == nullptr) return nullptr;
  const json::value* kind = o->if_contains("kind");
  json::value* items = o->if_contains("items");
  if (kind == nullptr || !kind->is_string() || items == nullptr) return nullptr;
  const json::string& k = kind->get_string();
  if (!std::string_view(k.data(), k.size()).ends_with("List")) return nullptr;
  return items->if_array();
}

// Where a checked object came from: a document of an input, and in a list
// its item (counted from 1, like documents).
struct Place {
  std::string file;
  std::size_t document = 0;
  std::optional<std::size_t> item;
};

// "istio-egress/egress-by-gw", or the name alone without a namespace.
std::string object_label(const json::value& object) {
  const std::string ns = string_at(object, "metadata", "namespace");
  return ns.empty() ? object_name(object) : ns + "/" + object_name(object);
}

// "(document 1)", "(document 1, item 3: istio-egress/egress-by-gw)"; the
// object only when asked for.
std::string place_text(const Place& place, const json::value* object) {
  std::string text = "(document " + std::to_string(place.document);
  if (place.item) {
    text += ", item " + std::to_string(*place.item);
    if (object != nullptr) text += ": " + object_label(*object);
  }
  return text + ")";
}

// What the API server and kubectl print for a denial with field causes
// (kubectl's StandardErrorMessage for an Invalid StatusError), with the
// document it came from, as kubectl's "error when applying" does for files,
// and the item of a list.
void print_denial(const Place& place, const json::value& object,
                  const policy::FieldErrors& errors) {
  std::cerr << "Error from server (Invalid): error when applying \"" << place.file << "\" "
            << place_text(place, &object) << ": The ASMEgressTrafficPolicy \""
            << object_name(object) << "\" is invalid:\n";
  for (const auto& error : errors) std::cerr << "* " << error.message() << "\n";
}

// kubectl prints warnings bare; among many objects, each says whose it is.
void print_warnings(const Place& place, const json::value& object,
                    const std::vector<std::string>& warnings) {
  std::vector<std::string> printed;
  for (const auto& warning : warnings) {
    if (std::find(printed.begin(), printed.end(), warning) != printed.end()) continue;
    printed.push_back(warning);
    std::cerr << "Warning: " << object_label(object) << " in \"" << place.file << "\" "
              << place_text(place, nullptr) << ": " << warning << "\n";
  }
}

// The engine's answer for one policy, as the two webhooks give it.
struct Checked {
  policy::Operation operation = policy::Operation::Create;
  bool allowed = true;
  policy::FieldErrors errors;  // mutation's (no free port), else validation's
  std::vector<std::string> warnings;
  std::vector<std::pair<std::string, std::string>> audit_annotations;
  std::vector<std::pair<std::string, std::uint32_t>> allocated;
};

// Mutates `object` in place and validates the result, as an UPDATE of
// `old_object` when there is one.
Checked check_policy(json::value& object, const json::value* old_object,
                     const policy::Settings& settings) {
  Checked checked;
  checked.operation = old_object ? policy::Operation::Update : policy::Operation::Create;
  policy::MutationResult mutation = policy::mutate_policy(object, old_object, settings);
  checked.warnings = std::move(mutation.warnings);
  checked.allocated = std::move(mutation.allocated);
  // As in the cluster: a failed mutation denies before validation runs.
  if (!mutation.errors.empty()) {
    checked.allowed = false;
    checked.errors = std::move(mutation.errors);
  } else {
    policy::ValidationResult validation =
        policy::validate_policy(mutation.object, old_object, checked.operation, settings);
    checked.allowed = validation.allowed;
    checked.errors = std::move(validation.errors);
    checked.warnings.insert(checked.warnings.end(), validation.warnings.begin(),
                            validation.warnings.end());
    checked.audit_annotations = std::move(validation.audit_annotations);
  }
  object = std::move(mutation.object);
  return checked;
}

// One entry of `check -o json`.
json::object report_entry(const Place& place, const json::value& object, const Checked& c) {
  json::array errors;
  for (const auto& e : c.errors) {
    errors.push_back(json::object{{"field", e.field}, {"type", e.cause_type()}, {"message", e.body()}});
  }
  json::array warnings;
  for (const auto& w : c.warnings) warnings.emplace_back(w);
  json::array ports;
  for (const auto& [field, port] : c.allocated) {
    ports.push_back(json::object{{"field", field}, {"port", port}});
  }
  json::object entry{
      {"file", place.file},
      {"document", place.document},
      {"item", place.item ? json::value(*place.item) : json::value(nullptr)},
      {"namespace", string_at(object, "metadata", "namespace")},
      {"name", object_name(object)},
      {"operation", c.operation == policy::Operation::Update ? "UPDATE" : "CREATE"},
      {"allowed", c.allowed},
      {"errors", std::move(errors)},
      {"warnings", std::move(warnings)},
      {"allocatedPorts", std::move(ports)},
  };
  if (!c.audit_annotations.empty()) {
    json::object annotations;
    for (const auto& [key, value] : c.audit_annotations) annotations[key] = value;
    entry["auditAnnotations"] = std::move(annotations);
  }
  return entry;
}

// Like kubectl -f: a directory stands for its .yaml, .yml and .json files, in
// name order (not recursive).
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code error;
    if (input == "-" || !std::filesystem::is_directory(input, error)) {
      files.push_back(input);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(input, error)) {
      const auto extension = entry.path().extension();
      if (entry.is_regular_file(error) &&
          (extension == ".yaml" || extension == ".yml" || extension == ".json")) {
        found.push_back(entry.path().string());
      }
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

int run_check(const CheckOptions& options, const policy::Settings& settings) {
  std::vector<std::string> files = expand_inputs(options.files);
  if (options.files.empty()) files.emplace_back("-");

  // Every input is read before anything is decided, so that a broken file
  // stops the check without half of the objects printed.
  std::vector<Manifest> manifests;
  bool readable = true;
  for (const auto& file : files) {
    auto manifest = read_manifest(file);
    if (manifest) {
      manifests.push_back(std::move(*manifest));
    } else {
      readable = false;
    }
  }
  std::map<ObjectKey, json::value> old_objects;
  if (!options.old_file.empty()) {
    auto old_manifest = read_manifest(options.old_file);
    if (!old_manifest) {
      readable = false;
    } else {
      // `kubectl get -o yaml > live.yaml` writes a List: its items count.
      auto keep = [&](json::value& object) {
        if (policy::is_egress_policy(object)) {
          old_objects.insert_or_assign(key_of(object), std::move(object));
        }
      };
      for (auto& document : old_manifest->documents) {
        if (json::array* items = list_items(document.value)) {
          for (auto& item : *items) keep(item);
        } else {
          keep(document.value);
        }
      }
    }
  }
  if (!readable) return kUnreadable;

  const bool report = options.output == "json";
  int status = kAdmitted;
  json::array entries;
  bool first_output = true;
  for (auto& manifest : manifests) {
    std::size_t index = 0;
    for (auto& document : manifest.documents) {
      ++index;
      // Checks one object in place: the policy becomes what mutation made
      // of it; other objects stay as they are.
      auto check = [&](json::value& object, std::optional<std::size_t> item) {
        if (!policy::is_egress_policy(object)) return;
        const Place place{manifest.label, index, item};
        const auto old = old_objects.find(key_of(object));
        const Checked checked =
            check_policy(object, old == old_objects.end() ? nullptr : &old->second, settings);
        if (!checked.allowed) status = kDenied;
        if (report) {
          entries.push_back(report_entry(place, object, checked));
          return;
        }
        print_warnings(place, object, checked.warnings);
        if (!checked.allowed) print_denial(place, object, checked.errors);
      };
      if (json::array* items = list_items(document.value)) {
        for (std::size_t i = 0; i < items->size(); ++i) check((*items)[i], i + 1);
      } else {
        check(document.value, std::nullopt);
      }
      if (report) continue;
      if (!first_output) std::cout << "---\n";
      first_output = false;
      std::cout << to_yaml(document.value);
    }
  }
  if (report) std::cout << json::serialize(json::object{{"objects", std::move(entries)}}) << "\n";
  std::cout.flush();
  return status;
}

constexpr const char* kCheckHelp = R"help(
Reads Kubernetes manifests (YAML or JSON, several documents separated by
"---") and runs the admission webhook's engine on each ASMEgressTrafficPolicy
as the API server would: first the mutation (gateway ports assigned when every
to[].byEgressGateway.port is blank), then validation of the mutated object.
Each policy is a CREATE, or an UPDATE when --old holds an object with the same
metadata.namespace and metadata.name (ports already assigned there are kept).

A list object (kind List, or <Kind>List, with items), as `kubectl get -o yaml`
and `-o json` print one, is checked item by item, each item as an object of
its own; --old may hold lists too.

Validation errors are handled as --validation-actions says, as the server
handles them: with Deny (the default) they deny; with Warn they come back as
warnings; with Audit alone the policy is admitted. On an UPDATE an error the
--old object already had is a warning, not a denial (ratcheting).

stdout: every document, in order, as YAML separated by "---": policies as
mutated, other documents unchanged (a denied policy is printed too, as the
mutation left it; a list with its items).
stderr: "Warning: NAMESPACE/NAME in "FILE" (document N): <text>" lines, and
for each denied policy
  Error from server (Invalid): error when applying "FILE" (document N): The ASMEgressTrafficPolicy "NAME" is invalid:
  * <field path>: <error>
One "*" line per error. In a list, "(document N, item I: NAMESPACE/NAME)"
names the item. Input is read as YAML 1.2 (core schema), so `number: "80"` is
a string and is reported as one.

-o json: instead, one JSON document on stdout, for tools:
  {"objects": [{"file", "document", "item" (null outside a list), "namespace",
  "name", "operation" ("CREATE" or "UPDATE"), "allowed", "errors": [{"field",
  "type", "message"}], "warnings": [text], "allocatedPorts": [{"field",
  "port"}], and with Audit "auditAnnotations": {key: value}}, ...]}
one entry per policy; "errors" are the ones found whatever the actions,
"allowed" what the actions made of them.

FILE may be a directory: its .yaml, .yml and .json files, in name order.

Exit status: 0 every policy admitted; 1 any policy denied; 2 an input could not
be read (missing file, YAML syntax error reported as FILE:LINE:COLUMN, bad
flags); nothing is printed on stdout then.

Examples:
  asm-egress-webhook check -f policy.yaml
  kubectl get asmegresstrafficpolicy -n istio-egress egress-by-gw -o yaml > live.yaml
  asm-egress-webhook check -f policy.yaml --old live.yaml
  kubectl get asmegresstrafficpolicies -A -o yaml | asm-egress-webhook check -f -
  helm template ./chart | asm-egress-webhook check -o json)help";

}  // namespace

void add_check_command(CLI::App& app, policy::Settings& settings, int& exit_code) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* check = app.add_subcommand(
      "check", "Run mutation and validation on manifest files, offline (for CI)");
  check->add_option("-f,--filename", options->files,
                    "Manifest file to check, '-' for stdin (repeatable; default: stdin)")
      ->type_name("FILE");
  check->add_option("--old", options->old_file,
                    "The objects as they are now: matching policies are checked as UPDATEs")
      ->type_name("FILE");
  check->add_option("-o,--output", options->output,
                    "yaml: the objects as mutated, errors and warnings on stderr (default); "
                    "json: one JSON report of every policy instead")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();
  add_policy_flags(*check, settings);
  check->footer(kCheckHelp);
  check->callback([options, &settings, &exit_code] { exit_code = run_check(*options, settings); });
}

}  // namespace asmegress::cli
