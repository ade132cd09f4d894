// The Metrics calls one admission request makes (in-flight up and down, the
// decision, ports, the status counter and the latency histogram), on one
// thread and on two at once, and one /metrics scrape. Run against the build
// before a change to Metrics and after it, to see what the change costs a
// request beside the load benchmark's noise.
#include <benchmark/benchmark.h>

#include <chrono>

#include "server/metrics.h"

namespace {

using asmegress::server::Metrics;
using asmegress::server::WebhookPath;

Metrics& shared_metrics() {
  static Metrics metrics;
  return metrics;
}

void PerRequest(benchmark::State& state) {
  Metrics& metrics = shared_metrics();
  const auto latency = std::chrono::microseconds(180);
  for (auto _ : state) {
    metrics.request_started(WebhookPath::Mutate);
    metrics.decision(WebhookPath::Mutate, true, "Patched");
    metrics.ports_allocated(5);
    metrics.request_answered(WebhookPath::Mutate, 200, latency);
    metrics.request_ended(WebhookPath::Mutate);
  }
}
BENCHMARK(PerRequest)->Threads(1)->Threads(2)->UseRealTime();

void Scrape(benchmark::State& state) {
  Metrics& metrics = shared_metrics();
  for (auto _ : state) benchmark::DoNotOptimize(metrics.render());
}
BENCHMARK(Scrape);

}  // namespace

BENCHMARK_MAIN();
