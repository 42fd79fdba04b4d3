// What the benchmarks share: latency percentiles, the open-loop pacer that
// releases events on an absolute schedule, process CPU accounting, delivery
// rates, and the size of the envelopes cachemesh puts on the wire (so the raw
// ZeroMQ hop can send payloads of the same size).
#ifndef CACHEMESH_TOOLS_BENCH_MEASURE_H_
#define CACHEMESH_TOOLS_BENCH_MEASURE_H_

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cachemesh {
namespace bench {

// Nearest-rank percentiles of a set of latencies.
struct LatencySummary {
  size_t count = 0;
  absl::Duration p50;
  absl::Duration p99;
  absl::Duration p999;
  absl::Duration max;
};

// Sorts `samples_ns` (nanoseconds) in place and summarises them; all zero
// when there are none.
LatencySummary Summarize(std::vector<int64_t>& samples_ns);

// Releases events at `per_second` on an absolute schedule: event i is due at
// start + i / per_second, so a late event does not delay the ones after it
// (no drift), and a publisher that fell behind catches up at once. Sleeps
// with clock_nanosleep(TIMER_ABSTIME) instead of spinning, which would steal
// a core from the code being measured. Lowers the calling thread's timer
// slack to 1 ns so wake-ups are on time.
class Pacer {
 public:
  explicit Pacer(double per_second);

  // Sleeps until the next event is due; returns how late it is released.
  absl::Duration WaitForNext();

 private:
  timespec start_;
  double period_ns_;
  uint64_t next_ = 0;
};

// Ends the process with exit code 2 once `limit` has passed, so a benchmark
// is bounded in time whatever hangs (e.g. a daemon that never stops);
// `before_exit` runs first (e.g. to kill a child server).
void StartWatchdog(absl::string_view program, absl::Duration limit,
                   std::function<void()> before_exit = nullptr);

// A duration in (fractional) microseconds, for printing.
inline double Micros(absl::Duration duration) {
  return absl::ToDoubleMicroseconds(duration);
}

// User plus system CPU time of this whole process so far.
absl::Duration ProcessCpuTime();

// Measures how busy the machine's cores were between construction and
// Busy(): process CPU time over wall time times the number of cores.
class CpuMeter {
 public:
  CpuMeter();
  // Fraction in [0, 1] (slightly above when clocks disagree).
  double Busy() const;

 private:
  absl::Time wall_start_;
  absl::Duration cpu_start_;
};

// CPU time of this process's threads between construction and Take(),
// grouped by role. Roles come from thread names: "node-0" (the publisher's
// daemon loop), "node-N" (receivers' daemon loops), "app-N" (receiving
// apps), "ZMQbg/..." (ZeroMQ I/O threads), the main thread (the publishing
// app); the rest (HTTP servers, ...) is "other". Read from
// /proc/self/task/*/schedstat (nanoseconds on CPU).
class ThreadCpuMeter {
 public:
  ThreadCpuMeter();
  // Role -> CPU time since construction, by role name, sorted.
  std::vector<std::pair<std::string, absl::Duration>> Take() const;

 private:
  // tid -> CPU nanoseconds at construction.
  std::vector<std::pair<int, int64_t>> start_;
};

// Number of cores this process may run on.
int CoreCount();

// "opt", "dbg" or "fastbuild", from the compiler's macros.
const char* CompileMode();

// The CPU model from /proc/cpuinfo, or "unknown".
std::string CpuModel();

// Events per second for `count` events spread over `span`; 0 when the span
// is empty.
double PerSecond(uint64_t count, absl::Duration span);

// The serialized size of a cachemesh.v1.Envelope carrying a batch of
// `invalidations` invalidations, shaped like the ones the benchmark
// publishes (DHIS 2 region names, 20-byte keys) and sent by a node on
// 127.0.0.1: what one mesh message of cachemesh weighs.
size_t TypicalEnvelopeBytes(int invalidations);

// The DHIS 2 cache region every benchmark invalidation names.
inline constexpr char kRegion[] = "org.hisp.dhis.dataelement.DataElement";

}  // namespace bench
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_BENCH_MEASURE_H_
