// The figures of one simulated run (or of many, aggregated), how they are
// printed, and whether the run passed.
#ifndef CACHEMESH_TOOLS_SIM_FIGURES_H_
#define CACHEMESH_TOOLS_SIM_FIGURES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/sim/membership_monitor.h"
#include "tools/sim/oracle.h"

namespace cachemesh {
namespace sim {

struct TrafficFigures {
  // Envelopes broadcast, and their bytes on the wire (once per broadcast).
  uint64_t envelopes = 0;
  uint64_t bytes = 0;
  // Bytes times the receivers each broadcast was sent to.
  uint64_t fanout_bytes = 0;
  // Envelopes handed to a node.
  uint64_t deliveries = 0;
  // Deliveries dropped: random loss, cut links, sender crashed mid-fan-out.
  uint64_t lost = 0;
  uint64_t cut = 0;
  uint64_t cut_by_crash = 0;
  // The sum of every node instance's uptime.
  absl::Duration node_uptime;
  // Summed NodeStats.
  uint64_t nacks_sent = 0;
  uint64_t retransmissions_sent = 0;
  uint64_t gones_sent = 0;
  uint64_t late_ticks = 0;
};

struct SimFigures {
  // What ran ("all" or "k seeds" once aggregated).
  std::string scenario;
  int nodes = 0;
  uint64_t seed = 0;
  double loss = 0;
  int runs = 1;
  absl::Duration simulated;
  absl::Duration wall;
  uint64_t events = 0;
  OracleReport invalidations;
  MembershipFigures membership;
  TrafficFigures traffic;
  // Every live node held every live node ALIVE at the end.
  bool converged_at_end = false;
};

// Percentile (nearest rank) of `samples`; nullopt when there are none.
std::optional<absl::Duration> Percentile(std::vector<absl::Duration> samples,
                                         double fraction);

// False when the run broke a guarantee: silent loss, duplicate, out of
// order, corrupt delivery, false DEAD, a crash never detected, a leave not
// seen as LEFT, or views that did not converge.
bool Passed(const SimFigures& figures);

// Several runs as one: counts summed, samples pooled.
SimFigures Aggregate(const std::vector<SimFigures>& runs);

// Human-readable, several lines, each ending in a newline.
std::string FormatFigures(const SimFigures& figures);

// "nodes=N detect_p50_ms=... detect_max_ms=... false_dead=... converge_ms=...
// silent_losses=... flushes=... bytes_per_node_per_s=..." (n/a when a
// figure has no sample).
std::string SummaryLine(const SimFigures& figures);

}  // namespace sim
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_SIM_FIGURES_H_
