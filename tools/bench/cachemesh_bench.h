// cachemesh end to end: an app publishes through net::Client on node 0, and
// an app on every other node receives through net::Client (one thread each).
// Each invalidation's key carries what the receiver needs: "w..." warm-up,
// "l<send time in Unix ns>" latency samples, "t<index>" throughput. The
// clock is shared (one machine), so latency is receive time - send time.
//
// Runs, in order:
//  1. warm-up: one invalidation every 10 ms until every receiver got one
//     (connections, subscriptions and the streams are then established);
//  2. latency: one invalidation per Publish at a paced rate;
//  3. throughput (optional): lists of `batch` invalidations per Publish as
//     fast as the slowest receiver keeps up with, at most `window`
//     invalidations ahead of it. Receivers take events in bulk
//     (net::Client::ReceiveAll), as a busy app would.
#ifndef CACHEMESH_TOOLS_BENCH_CACHEMESH_BENCH_H_
#define CACHEMESH_TOOLS_BENCH_CACHEMESH_BENCH_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/bench/measure.h"

namespace cachemesh {
namespace bench {

struct CachemeshBenchOptions {
  // App channel endpoints: [0] publishes, the rest receive.
  std::vector<std::string> endpoints;
  double rate = 10000;
  absl::Duration latency_duration = absl::Seconds(5);
  bool throughput = true;
  int batch = 500;
  uint64_t throughput_count = 2000000;
  // Most invalidations published but not yet received by every receiver;
  // 0 means no limit.
  uint64_t window = 20000;
  // The throughput run stops publishing after this, whatever is left.
  absl::Duration throughput_limit = absl::Seconds(30);
};

struct LatencyRun {
  uint64_t published = 0;
  uint64_t publish_errors = 0;
  // Latency samples each receiver got (a complete run: all == published).
  std::vector<uint64_t> delivered;
  uint64_t flushes = 0;
  // Over every sample of every receiver.
  LatencySummary latency;
  // How late the publisher released invalidations against its schedule
  // (CPU contention shows here first).
  LatencySummary publisher_lateness;
  double cpu_busy = 0;
  // CPU time of the run by thread role (see ThreadCpuMeter).
  std::vector<std::pair<std::string, absl::Duration>> cpu_by_role;
};

struct ThroughputRun {
  uint64_t published = 0;
  uint64_t publish_errors = 0;
  absl::Duration publish_span;
  std::vector<uint64_t> delivered;
  // Per receiver: delivered over first to last receive.
  std::vector<double> per_second;
  // Every receiver has all: published over first publish to the last
  // receive anywhere.
  double end_to_end_per_second = 0;
  uint64_t flushes = 0;
  double cpu_busy = 0;
  std::vector<std::pair<std::string, absl::Duration>> cpu_by_role;
};

struct CachemeshResults {
  absl::Duration warm_up;
  LatencyRun latency;
  // Empty counts when the throughput run was skipped.
  ThroughputRun throughput;
};

// Connects the apps, runs the phases above and disconnects.
absl::StatusOr<CachemeshResults> RunCachemeshBench(
    const CachemeshBenchOptions& options);

}  // namespace bench
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_BENCH_CACHEMESH_BENCH_H_
