// `review`: one AdmissionReview answered exactly as the server answers it on
// /mutate or /validate, for debugging a cluster's requests offline.
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/policy_flags.h"
#include "policy/admission.h"

namespace asmegress::cli {
namespace {

struct ReviewOptions {
  bool mutate = false;
  bool validate = false;
};

int run_review(const ReviewOptions& options, const policy::Settings& settings) {
  const std::string body{std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>()};
  const auto webhook =
      options.mutate ? policy::WebhookKind::Mutating : policy::WebhookKind::Validating;
  const policy::ReviewOutcome outcome = policy::answer_review(body, webhook, settings);
  if (!outcome.well_formed) {
    // The server answers HTTP 400 with this message.
    std::cerr << "error: " << outcome.body << "\n";
    return 2;
  }
  std::cout << outcome.body << "\n";
  std::cout.flush();
  return outcome.summary.allowed ? 0 : 1;
}

constexpr const char* kReviewHelp = R"(
Reads one AdmissionReview (admission.k8s.io/v1 or v1beta1) as JSON on stdin
and writes the AdmissionReview the server would answer on /mutate (--mutate)
or /validate (--validate): the same bytes as the HTTP response body, followed
by one newline. A patch, when there is one, is base64 JSON Patch in
response.patch.

Exit status: 0 allowed; 1 denied; 2 the review is malformed (the server would
answer HTTP 400; the reason is printed on stderr) or bad flags.

Example:
  asm-egress-webhook review --mutate < review.json | jq -r .response.patch | base64 -d)";

}  // namespace

void add_review_command(CLI::App& app, policy::Settings& settings, int& exit_code) {
  auto options = std::make_shared<ReviewOptions>();
  CLI::App* review = app.add_subcommand(
      "review", "Answer an AdmissionReview from stdin as the server would");
  auto* endpoint = review->add_option_group("Endpoint", "Which webhook answers (exactly one)");
  endpoint->add_flag("--mutate", options->mutate, "Answer as the mutating webhook (/mutate)");
  endpoint->add_flag("--validate", options->validate,
                     "Answer as the validating webhook (/validate)");
  endpoint->require_option(1);
  add_policy_flags(*review, settings);
  review->footer(kReviewHelp);
  review->callback(
      [options, &settings, &exit_code] { exit_code = run_review(*options, settings); });
}

}  // namespace asmegress::cli
