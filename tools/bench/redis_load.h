// The load of the Redis pub/sub benchmark (tools/bench/redis_bench_main.cc),
// the same for every system under test: one RESP2 subscriber connection per
// port in `subscriber_ports` (a thread each), one publisher connection, and
// two runs on it:
//   latency: PUBLISH paced at `rate` per second for `latency_duration`, one
//     at a time (each waits for its ":n" reply); every payload carries its
//     send time, so each subscriber measures publish -> receive;
//   throughput: PUBLISH pipelined as fast as a window allows (at most
//     `window` messages ahead of the slowest subscriber, and at most
//     `window` replies outstanding) for `throughput_duration`.
// Payloads look like DHIS 2's cache invalidations (~100 bytes):
//   <tag><seq>-<send ns>-bn:update:org.hisp.dhis.dataelement.DataElement:<uid>
// CPU is read from /proc/<pid>/task/*/schedstat: the server's (another
// process, or this one's threads other than the benchmark's clients), and
// the clients' own.
#ifndef CACHEMESH_TOOLS_BENCH_REDIS_LOAD_H_
#define CACHEMESH_TOOLS_BENCH_REDIS_LOAD_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cachemesh {
namespace bench {

struct RedisLoadOptions {
  int publisher_port = 0;
  std::vector<int> subscriber_ports;
  std::string channel = "dhis2_cache_invalidation";
  double rate = 2000;
  absl::Duration latency_duration = absl::Seconds(5);
  bool throughput = true;
  absl::Duration throughput_duration = absl::Seconds(5);
  uint64_t window = 1000;
  // Whose CPU is the server's: another process, or 0 for this process's
  // threads other than the benchmark's client threads (in-process daemons).
  pid_t server_pid = 0;
};

// Nearest-rank percentiles, all zero without samples.
struct Percentiles {
  size_t count = 0;
  absl::Duration p50;
  absl::Duration p90;
  absl::Duration p99;
  absl::Duration max;
};

struct SubscriberFigures {
  uint64_t latency_received = 0;
  uint64_t throughput_received = 0;
  // Messages whose sequence number was not the one after the previous.
  uint64_t out_of_order = 0;
  // Frames that were not a "message" of the channel, or unparsable payloads.
  uint64_t unexpected = 0;
  double throughput_per_second = 0;
  Percentiles latency;
  std::string error;  // the connection's failure, if any
};

struct PhaseCpu {
  absl::Duration wall;
  absl::Duration server;
  absl::Duration clients;  // subscriber threads and the publisher
};

struct RedisLoadResults {
  // Latency run.
  uint64_t published = 0;
  uint64_t publish_errors = 0;  // error or non-integer replies
  int64_t reply_min = 0;        // the PUBLISH ":n" replies seen
  int64_t reply_max = 0;
  absl::Duration warm_up;
  // The server's CPU with the clients connected and nothing published.
  PhaseCpu idle_cpu;
  Percentiles latency;      // publish -> receive, all subscribers together
  Percentiles publish_rtt;  // PUBLISH -> its reply
  Percentiles lateness;     // publisher behind its schedule
  PhaseCpu latency_cpu;
  // Throughput run.
  uint64_t throughput_published = 0;
  uint64_t throughput_publish_errors = 0;
  double publish_per_second = 0;
  double slowest_per_second = 0;
  double mean_per_second = 0;
  PhaseCpu throughput_cpu;
  std::vector<SubscriberFigures> subscribers;
};

// Runs both runs; fails only when the clients cannot be set up (connect,
// SUBSCRIBE, warm-up). Losses and errors afterwards are in the results.
absl::StatusOr<RedisLoadResults> RunRedisLoad(const RedisLoadOptions& options);

// Whether every subscriber got every message of both runs, in order.
bool Complete(const RedisLoadResults& results);

}  // namespace bench
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_BENCH_REDIS_LOAD_H_
