// The whole admission decision for one review (parse, decode, validate or
// allocate, patch, serialise), on the resource's largest public example.
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>

#include "policy/admission.h"

namespace {

std::string read_fixture(const char* name) {
  std::ifstream in(std::string(ASM_EGRESS_TESTDATA) + "/" + name);
  if (!in) throw std::runtime_error(std::string("cannot read fixture ") + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void run(benchmark::State& state, asmegress::policy::WebhookKind webhook) {
  const std::string body = read_fixture("review-create-auto-ports.json");
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

void BM_MutateReview(benchmark::State& state) { run(state, asmegress::policy::WebhookKind::Mutating); }
void BM_ValidateReview(benchmark::State& state) { run(state, asmegress::policy::WebhookKind::Validating); }

}  // namespace

BENCHMARK(BM_MutateReview)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_ValidateReview)->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);

BENCHMARK_MAIN();
