// The whole admission decision for one review (parse, decode, validate or
// allocate, patch, serialise), on the resource's largest public example: as
// a CREATE, and as the UPDATE kubectl apply sends for it once stored (both
// objects with managedFields and the last-applied annotation).
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include "policy/admission.h"

namespace {

std::string read_fixture(const char* name) {
  std::ifstream in(std::string(ASM_EGRESS_TESTDATA) + "/" + name);
  if (!in) throw std::runtime_error(std::string("cannot read fixture ") + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The API server sends compact JSON (Go's encoding/json); the fixture is
// pretty-printed for people. Both are measured.
constexpr const char* kCreate = "review-create-auto-ports.json";
constexpr const char* kUpdate = "review-update-managed-fields.json";

// The UPDATE of a policy stored with an error (to[1] on FTP) that a label
// leaves as it was: /validate reads the review again for oldObject's errors
// and admits the update with a warning (ratcheting).
std::string ratcheted_update() {
  boost::json::value review = boost::json::parse(read_fixture(kUpdate));
  auto& request = review.at("request").as_object();
  for (const char* key : {"object", "oldObject"}) {
    request.at(key).at("spec").at("egressRules").at(0).at("to").at(1).at("port").as_object()["protocol"] =
        "FTP";
  }
  request.at("object").at("metadata").as_object()["labels"] = {{"team", "payments"}};
  return boost::json::serialize(review);
}

void run_body(benchmark::State& state, asmegress::policy::WebhookKind webhook,
              const std::string& body);

void run(benchmark::State& state, asmegress::policy::WebhookKind webhook, bool compact,
         const char* fixture = kCreate) {
  std::string body = read_fixture(fixture);
  if (compact) body = boost::json::serialize(boost::json::parse(body));
  run_body(state, webhook, body);
}

void run_body(benchmark::State& state, asmegress::policy::WebhookKind webhook,
              const std::string& body) {
  const asmegress::policy::Settings settings;
  for (auto _ : state) {
    auto outcome = asmegress::policy::answer_review(body, webhook, settings);
    if (!outcome.well_formed || !outcome.summary.allowed) {
      state.SkipWithError("the fixture was not admitted");
      break;
    }
    benchmark::DoNotOptimize(outcome.body.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}

void BM_MutateReview(benchmark::State& state) {
  run(state, asmegress::policy::WebhookKind::Mutating, false);
}
void BM_ValidateReview(benchmark::State& state) {
  run(state, asmegress::policy::WebhookKind::Validating, false);
}
void BM_MutateReviewCompact(benchmark::State& state) {
  run(state, asmegress::policy::WebhookKind::Mutating, true);
}
void BM_ValidateReviewCompact(benchmark::State& state) {
  run(state, asmegress::policy::WebhookKind::Validating, true);
}

void BM_MutateUpdateCompact(benchmark::State& state) {
  run(state, asmegress::policy::WebhookKind::Mutating, true, kUpdate);
}
void BM_ValidateUpdateCompact(benchmark::State& state) {
  run(state, asmegress::policy::WebhookKind::Validating, true, kUpdate);
}
void BM_ValidateRatchetedUpdateCompact(benchmark::State& state) {
  run_body(state, asmegress::policy::WebhookKind::Validating, ratcheted_update());
}

}  // namespace

BENCHMARK(BM_MutateReview)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_ValidateReview)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_MutateReviewCompact)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_ValidateReviewCompact)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);

BENCHMARK(BM_MutateUpdateCompact)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_ValidateUpdateCompact)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_ValidateRatchetedUpdateCompact)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);

BENCHMARK_MAIN();
