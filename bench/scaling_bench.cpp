// How the time of one decision grows with the size of the review: for each
// rule family (tests/policy/review_shapes.h), reviews from about a hundred
// entries doubling up to the largest body the server takes (7 MiB), and the
// hostile shapes of the hostile-input tests doubling up to 7 MiB, each run
// through answer_review on /mutate and /validate. At the end a table gives,
// for every review, its size, the median time and the time per KiB: a
// column of µs/KiB that stays flat (or falls) is a linear decision.
//
//   build/release/bench/scaling_bench                      # everything, a few minutes
//   build/release/bench/scaling_bench --benchmark_filter=shared_ports
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "policy/admission.h"
#include "tests/policy/review_shapes.h"

namespace {

namespace shapes = asmegress::policy::shapes;
using asmegress::policy::WebhookKind;

struct Family {
  std::string name;
  std::function<std::string(std::size_t)> make;  // a review of n entries (or bytes)
  std::size_t first;                             // the smallest n measured
  bool by_bytes = false;                         // n is the body's size
};

std::vector<Family> families() {
  return {
      {"shared_ports", shapes::shared_ports, 100},
      {"explicit_ports", shapes::explicit_ports, 100},
      {"auto_allocation", shapes::auto_allocation, 100},
      {"duplicate_names", shapes::duplicate_names, 100},
      {"many_rules", shapes::many_rules, 100},
      {"many_hosts", shapes::many_hosts, 200},
      {"update_stored_policies",
       [](std::size_t n) {
         return shapes::review("UPDATE", shapes::stored_policy(n, false), shapes::stored_policy(n, false));
       },
       100},
      {"update_type_error",
       [](std::size_t n) {
         return shapes::review("UPDATE", shapes::stored_policy(n, true), shapes::stored_policy(n, false));
       },
       100},
      {"hostile_kind_zeros", shapes::kind_zeros, shapes::kMaxBody >> 6, true},
      {"hostile_empty_hosts", shapes::empty_hosts, shapes::kMaxBody >> 6, true},
      {"hostile_empty_destinations", shapes::empty_destinations, shapes::kMaxBody >> 6, true},
      {"hostile_many_labels", shapes::many_labels, shapes::kMaxBody >> 6, true},
      {"hostile_unknown_array", shapes::unknown_array, shapes::kMaxBody >> 6, true},
      {"hostile_deep_nesting", shapes::deep_nesting, shapes::kMaxBody >> 6, true},
  };
}

// The sizes of a family: doubling from the first, then the largest that
// fits in the body limit.
std::vector<std::size_t> sizes(const Family& f) {
  std::vector<std::size_t> out;
  std::size_t n = f.first;
  std::size_t bytes = 0;
  for (; (bytes = f.make(n).size()) <= shapes::kMaxBody; n *= 2) out.push_back(n);
  // Sizes in bytes reach the limit exactly; counts of entries past it
  // shrink in proportion until the review fits.
  if (f.by_bytes) return out;
  std::size_t largest = n * shapes::kMaxBody / bytes;
  while (largest > out.back() && f.make(largest).size() > shapes::kMaxBody) {
    largest -= std::max<std::size_t>(1, largest / 200);
  }
  if (largest > out.back()) out.push_back(largest);
  return out;
}

struct Row {
  std::string family;
  std::string webhook;
  std::size_t n = 0;
  std::size_t bytes = 0;
  std::string outcome;
};
std::map<std::string, Row> rows;  // by benchmark name

void decide(benchmark::State& state, const std::string& body, WebhookKind webhook) {
  const asmegress::policy::Settings settings;
  for (auto _ : state) {
    auto outcome = asmegress::policy::answer_review(body, webhook, settings);
    benchmark::DoNotOptimize(outcome.body.data());
  }
  state.counters["bytes"] = static_cast<double>(body.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}

// The console output, and a table of medians at the end.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  TableReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.aggregate_name != "median") continue;
      const auto it = rows.find(run.run_name.function_name);
      if (it == rows.end()) continue;
      medians_.emplace_back(it->second, run.GetAdjustedRealTime());
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-28s %-9s %9s %10s %12s %9s  %s\n", "family", "webhook", "n", "bytes",
                "median µs", "µs/KiB", "answer");
    for (const auto& [row, us] : medians_) {
      std::printf("%-28s %-9s %9zu %10zu %12.0f %9.2f  %s\n", row.family.c_str(),
                  row.webhook.c_str(), row.n, row.bytes, us,
                  us / (static_cast<double>(row.bytes) / 1024.0), row.outcome.c_str());
    }
  }

 private:
  std::vector<std::pair<Row, double>> medians_;
};

std::string outcome_of(const std::string& body, WebhookKind webhook) {
  const auto out = asmegress::policy::answer_review(body, webhook, {});
  if (out.too_large) return "413 too large";
  if (!out.well_formed) return "400 malformed";
  std::string s = out.summary.allowed ? "allowed" : "denied";
  if (out.summary.ports_allocated > 0) s += ", " + std::to_string(out.summary.ports_allocated) + " ports";
  if (out.summary.warnings > 0) s += ", " + std::to_string(out.summary.warnings) + " warnings";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Reviews are made once, up front, and kept: some take longer to write
  // than to decide.
  static std::vector<std::string> bodies;
  for (const Family& f : families()) {
    for (const std::size_t n : sizes(f)) {
      bodies.push_back(f.make(n));
      const std::size_t index = bodies.size() - 1;
      for (const WebhookKind webhook : {WebhookKind::Mutating, WebhookKind::Validating}) {
        const std::string endpoint = webhook == WebhookKind::Mutating ? "mutate" : "validate";
        const std::string name = f.name + "/" + endpoint + "/" + std::to_string(n);
        rows[name] = Row{f.name, endpoint, n, bodies[index].size(), outcome_of(bodies[index], webhook)};
        benchmark::RegisterBenchmark(name.c_str(), [index, webhook](benchmark::State& state) {
          decide(state, bodies[index], webhook);
        })
            ->Unit(benchmark::kMicrosecond)
            ->MinTime(0.1)
            ->Repetitions(3)
            ->ReportAggregatesOnly(true);
      }
    }
  }
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
