// bazel run //tools:simulate -- --nodes=N --seed=S --loss=P --scenario=NAME
//
// Runs cachemesh nodes in the cluster simulator (tools/sim/) and prints each
// run's figures, then ONE closing line:
//   nodes=N detect_p50_ms=... detect_max_ms=... false_dead=... converge_ms=...
//   silent_losses=... flushes=... bytes_per_node_per_s=...
// Exits 1 when any run broke a guarantee (see Passed in figures.h), 2 on bad
// flags.
#include <malloc.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tools/sim/figures.h"
#include "tools/sim/scenarios.h"

ABSL_FLAG(int, nodes, 5, "Nodes at the start of each run.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the (first) run.");
ABSL_FLAG(int, seeds, 1, "Sweep: run seeds seed .. seed+seeds-1.");
ABSL_FLAG(double, loss, 0.0, "Random loss per delivery, in [0, 1).");
ABSL_FLAG(std::string, scenario, "all",
          "A scenario (crash, pause, restart, join, leave, partition, "
          "origin-crash, churn) or all.");
ABSL_FLAG(double, publish_rate, 20,
          "Invalidations each node's app publishes per second.");
ABSL_FLAG(int, duration_s, 30, "Simulated seconds per run (at least 20).");
ABSL_FLAG(bool, trace, false,
          "Log faults, subscriptions and membership changes to stderr.");
ABSL_FLAG(bool, details, false,
          "Print every run's figures, not only its line (always for a "
          "single seed and for failed runs).");

namespace cachemesh {
namespace sim {
namespace {

int Main() {
  ScenarioOptions options;
  options.nodes = absl::GetFlag(FLAGS_nodes);
  options.loss = absl::GetFlag(FLAGS_loss);
  options.duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  options.publish_rate = absl::GetFlag(FLAGS_publish_rate);
  if (absl::GetFlag(FLAGS_trace)) options.trace = &std::cerr;
  const uint64_t first_seed = absl::GetFlag(FLAGS_seed);
  const int seeds = absl::GetFlag(FLAGS_seeds);
  const std::string scenario = absl::GetFlag(FLAGS_scenario);
  const bool details = absl::GetFlag(FLAGS_details) || seeds == 1;
  if (seeds < 1) {
    std::cerr << "--seeds must be at least 1, got " << seeds << "\n";
    return 2;
  }
  const std::vector<std::string> names =
      scenario == "all" ? ScenarioNames() : std::vector<std::string>{scenario};

  std::vector<SimFigures> runs;
  std::vector<std::string> failed;
  for (int i = 0; i < seeds; ++i) {
    options.seed = first_seed + i;
    for (const std::string& name : names) {
      absl::StatusOr<SimFigures> figures = RunScenario(name, options);
      if (!figures.ok()) {
        std::cerr << "simulate: " << figures.status().message() << "\n";
        return 2;
      }
      const bool passed = Passed(*figures);
      if (details || !passed) std::cout << FormatFigures(*figures);
      std::cout << "scenario=" << name << " seed=" << options.seed << " "
                << SummaryLine(*figures) << (passed ? "" : " FAIL") << "\n";
      if (!passed) failed.push_back(absl::StrCat(name, "@", options.seed));
      runs.push_back(*std::move(figures));
    }
  }
  SimFigures total = Aggregate(runs);
  total.scenario = absl::StrCat(scenario, " x ", seeds, " seed(s)");
  if (runs.size() > 1) std::cout << "\n" << FormatFigures(total);
  if (!failed.empty()) {
    std::cout << "failed runs (scenario@seed): " << absl::StrJoin(failed, " ")
              << "\n";
  }
  std::cout << SummaryLine(total) << std::endl;
  return failed.empty() ? 0 : 1;
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh

int main(int argc, char** argv) {
  // A large run frees millions of small objects when its cluster goes away;
  // without fastbins glibc does not re-consolidate them over and over
  // (64 nodes x 60 s: about 2 s less teardown).
  mallopt(M_MXFAST, 0);
  absl::SetProgramUsageMessage(
      "Simulates a cachemesh cluster in virtual time and checks its "
      "guarantees.\n  simulate --nodes=N --seed=S --loss=P --scenario=NAME");
  absl::ParseCommandLine(argc, argv);
  return cachemesh::sim::Main();
}
