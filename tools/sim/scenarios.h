// Scenario scripts for the cluster simulator. Every scenario runs a fresh
// cluster on one timeline:
//
//   0 s ............ 5 s .......................... end-5 s ...... end
//   start, sync      faults (the scenario's own)    settle: no loss,
//                                                   partitions healed,
//                                                   apps stop at end-1 s
//
// Random loss (ScenarioOptions::loss) applies until the settling period.
// The scenarios:
//   crash         nodes crash (detection time)
//   pause         nodes are paused for 500 ms (must never be DEAD)
//   restart       nodes crash and come back after 300 ms, 3 s, 1 s
//   join          nodes join, each seeded with ONE running node
//   leave         nodes leave gracefully (LEFT everywhere)
//   partition     a symmetric split for 3 s, a one-way cut for 3 s, one node
//                 cut off for 400 ms; each heals
//   origin-crash  an origin crashes right after its batch went on the wire
//   churn         random crashes, restarts, joins, leaves and pauses (n00
//                 stays up as a seed every node is configured with)
#ifndef CACHEMESH_TOOLS_SIM_SCENARIOS_H_
#define CACHEMESH_TOOLS_SIM_SCENARIOS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/sim/cluster.h"
#include "tools/sim/figures.h"

namespace cachemesh {
namespace sim {

struct ScenarioOptions {
  int nodes = 5;
  uint64_t seed = 1;
  // Random loss per delivery, outside the settling period.
  double loss = 0.0;
  absl::Duration duration = absl::Seconds(30);
  // Invalidations each app publishes per second (in small bursts).
  double publish_rate = 20;
  // See ClusterOptions::trace.
  std::ostream* trace = nullptr;
};

// The scenario names, in the order "all" runs them.
const std::vector<std::string>& ScenarioNames();

// The error names the offending option.
absl::Status ValidateScenarioOptions(const ScenarioOptions& options);

// The cluster a scenario runs on.
ClusterOptions ClusterOptionsFor(const ScenarioOptions& options);

// Ends a run the way every scenario ends: from `end` - 5 s no loss and no
// cut link, apps stop at `end` - 1 s. Runs `cluster` to `end` and returns its
// figures.
SimFigures SettleAndFinish(ClusterSim& cluster, absl::Time end);

// Runs scenario `name` on a fresh cluster and returns its figures.
absl::StatusOr<SimFigures> RunScenario(const std::string& name,
                                       const ScenarioOptions& options);

}  // namespace sim
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_SIM_SCENARIOS_H_
