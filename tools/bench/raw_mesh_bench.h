// The raw ZeroMQ hop cachemesh is built on, for comparison: two net::Mesh
// instances on loopback (each with its own context, as two daemons would
// have), one broadcasting opaque payloads of cachemesh's envelope sizes, the
// other draining them with net::Poller on its own thread. No protobuf, no
// protocol, no app channel: one hop of what cachemesh does in three.
//
// Each payload starts with a tag byte ('l' latency, 't' throughput) and the
// send time in Unix nanoseconds (8 bytes), padded to the requested size.
#ifndef CACHEMESH_TOOLS_BENCH_RAW_MESH_BENCH_H_
#define CACHEMESH_TOOLS_BENCH_RAW_MESH_BENCH_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/bench/measure.h"

namespace cachemesh {
namespace bench {

struct RawMeshBenchOptions {
  // Latency run: one message of `single_bytes` per event at `rate`.
  double rate = 10000;
  absl::Duration latency_duration = absl::Seconds(5);
  size_t single_bytes = 100;
  // Throughput runs, `throughput_duration` each, as fast as the receiver
  // keeps up with (at most `window` invalidation-equivalents ahead; 0: no
  // limit): messages of `batch_bytes` standing for `batch` invalidations
  // each, then messages of `single_bytes` standing for one.
  bool throughput = true;
  int batch = 500;
  size_t batch_bytes = 40000;
  uint64_t window = 20000;
  absl::Duration throughput_duration = absl::Seconds(2);
};

struct RawLatencyRun {
  uint64_t sent = 0;
  uint64_t received = 0;
  LatencySummary latency;
  double cpu_busy = 0;
};

struct RawThroughputRun {
  // Bytes per message and invalidations each stands for.
  size_t message_bytes = 0;
  int invalidations_per_message = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  // Received messages over first to last receive.
  double messages_per_second = 0;
  // The same, times invalidations_per_message.
  double invalidations_per_second = 0;
  double cpu_busy = 0;
};

struct RawMeshResults {
  RawLatencyRun latency;
  // Messages the size of a batch envelope.
  RawThroughputRun batched;
  // Messages the size of a one-invalidation envelope.
  RawThroughputRun single;
};

absl::StatusOr<RawMeshResults> RunRawMeshBench(
    const RawMeshBenchOptions& options);

}  // namespace bench
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_BENCH_RAW_MESH_BENCH_H_
