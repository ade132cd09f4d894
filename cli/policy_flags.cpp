#include "cli/policy_flags.h"

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "policy/validation_actions.h"

namespace asmegress::cli {

void add_policy_flags(CLI::App& command, policy::Settings& settings) {
  static const std::map<std::string, policy::NameRule> rules{
      {"egress-by", policy::NameRule::EgressByPrefix},
      {"literal", policy::NameRule::Literal},
  };
  command
      .add_option("--name-rule", settings.name_rule,
                  "How metadata.name must match spec.byEgressGateway.name: 'egress-by' "
                  "(egress-by-<gateway>) or 'literal' (<gateway>)")
      ->transform(CLI::CheckedTransformer(rules, CLI::ignore_case))
      ->default_str("egress-by")
      ->group("Policy");
  command
      .add_option("--policy-namespace", settings.policy_namespace,
                  "The only namespace policies may live in")
      ->capture_default_str()
      ->group("Policy");
  command
      .add_option_function<std::vector<std::uint32_t>>(
          "--reserved-ports",
          [&settings](const std::vector<std::uint32_t>& ports) {
            settings.reserved_ports = {ports.begin(), ports.end()};
          },
          "Gateway ports never allocated and rejected when set explicitly "
          "(comma-separated; default: Istio's proxy ports)")
      ->delimiter(',')
      ->check(CLI::Range(1, 65535))
      ->group("Policy");
  command
      .add_option_function<std::string>(
          "--validation-actions",
          [&settings](const std::string& text) {
            // Refused before anything starts, as the API server refuses a
            // binding with these actions.
            if (auto error = policy::parse_validation_actions(text, settings.validation_actions)) {
              throw CLI::ValidationError("--validation-actions", *error);
            }
          },
          "What a validation error does, as ValidatingAdmissionPolicy's validationActions: "
          "Deny (refuse the request), Warn (admit it, the errors as warnings), Audit (admit "
          "it, the errors in the API server's audit log); comma-separated, Warn,Audit "
          "allowed, Deny with Warn refused")
      ->type_name("ACTIONS")
      ->default_str("Deny")
      ->group("Policy");
  command
      .add_option("--max-review-memory", settings.max_review_memory,
                  "Bytes of memory one AdmissionReview may take to be decided: beyond, serve "
                  "answers 413 and review exits 2 (check reads files, not reviews)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40))
      ->group("Policy");
}

}  // namespace asmegress::cli
