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

// What the API server and kubectl print for a denial with field causes
// (kubectl's StandardErrorMessage for an Invalid StatusError), with the
// document it came from, as kubectl's "error when applying" does for files.
void print_denial(const std::string& label, std::size_t document, const std::string& name,
                  const policy::FieldErrors& errors) {
  std::cerr << "Error from server (Invalid): error when applying \"" << label << "\" (document "
            << document << "): The ASMEgressTrafficPolicy \"" << name << "\" is invalid:\n";
  for (const auto& error : errors) std::cerr << "* " << error.message() << "\n";
}

void print_warnings(const std::vector<std::string>& warnings) {
  std::vector<std::string> printed;
  for (const auto& warning : warnings) {
    if (std::find(printed.begin(), printed.end(), warning) != printed.end()) continue;
    printed.push_back(warning);
    std::cerr << "Warning: " << warning << "\n";
  }
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
      for (auto& document : old_manifest->documents) {
        if (policy::is_egress_policy(document.value)) {
          old_objects.insert_or_assign(key_of(document.value), std::move(document.value));
        }
      }
    }
  }
  if (!readable) return kUnreadable;

  int status = kAdmitted;
  bool first_output = true;
  for (const auto& manifest : manifests) {
    std::size_t index = 0;
    for (const auto& document : manifest.documents) {
      ++index;
      json::value result = document.value;
      if (policy::is_egress_policy(document.value)) {
        const auto old = old_objects.find(key_of(document.value));
        const json::value* old_object = old == old_objects.end() ? nullptr : &old->second;
        const auto operation =
            old_object ? policy::Operation::Update : policy::Operation::Create;
        policy::MutationResult mutation =
            policy::mutate_policy(document.value, old_object, settings);
        // As in the cluster: a failed mutation denies before validation runs.
        policy::ValidationResult validation;
        if (mutation.errors.empty()) {
          validation = policy::validate_policy(mutation.object, old_object, operation, settings);
        }
        std::vector<std::string> warnings = std::move(mutation.warnings);
        warnings.insert(warnings.end(), validation.warnings.begin(), validation.warnings.end());
        print_warnings(warnings);
        const auto& errors = mutation.errors.empty() ? validation.errors : mutation.errors;
        if (!errors.empty()) {
          print_denial(manifest.label, index, object_name(mutation.object), errors);
          status = kDenied;
        }
        result = std::move(mutation.object);
      }
      if (!first_output) std::cout << "---\n";
      first_output = false;
      std::cout << to_yaml(result);
    }
  }
  std::cout.flush();
  return status;
}

constexpr const char* kCheckHelp = R"(
Reads Kubernetes manifests (YAML or JSON, several documents separated by
"---") and runs the admission webhook's engine on each ASMEgressTrafficPolicy
as the API server would: first the mutation (gateway ports assigned when every
to[].byEgressGateway.port is blank), then validation of the mutated object.
Each policy is a CREATE, or an UPDATE when --old holds an object with the same
metadata.namespace and metadata.name (ports already assigned there are kept).

stdout: every document, in order, as YAML separated by "---": policies as
mutated, other documents unchanged (a denied policy is printed too, as the
mutation left it).
stderr: "Warning: <text>" lines, and for each denied policy
  Error from server (Invalid): error when applying "FILE" (document N): The ASMEgressTrafficPolicy "NAME" is invalid:
  * <field path>: <error>
One "*" line per error. Input is read as YAML 1.2 (core schema), so
`number: "80"` is a string and is reported as one.

FILE may be a directory: its .yaml, .yml and .json files, in name order.

Exit status: 0 every policy admitted; 1 any policy denied; 2 an input could not
be read (missing file, YAML syntax error reported as FILE:LINE:COLUMN, bad
flags); nothing is printed on stdout then.

Examples:
  asm-egress-webhook check -f policy.yaml
  kubectl get asmegresstrafficpolicy -n istio-egress egress-by-gw -o yaml > live.yaml
  asm-egress-webhook check -f policy.yaml --old live.yaml
  helm template ./chart | asm-egress-webhook check)";

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
  add_policy_flags(*check, settings);
  check->footer(kCheckHelp);
  check->callback([options, &settings, &exit_code] { exit_code = run_check(*options, settings); });
}

}  // namespace asmegress::cli
