#include "tools/bench/measure.h"

#include <dirent.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace bench {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;

absl::Duration Nearest(const std::vector<int64_t>& sorted, double fraction) {
  const size_t rank = static_cast<size_t>(
      std::ceil(fraction * static_cast<double>(sorted.size())));
  const size_t index = std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1);
  return absl::Nanoseconds(sorted[index]);
}

timespec AddNanos(timespec base, int64_t nanos) {
  const int64_t total = base.tv_nsec + nanos;
  base.tv_sec += static_cast<time_t>(total / kNanosPerSecond);
  base.tv_nsec = static_cast<long>(total % kNanosPerSecond);
  return base;
}

int64_t NanosBetween(const timespec& from, const timespec& to) {
  return (static_cast<int64_t>(to.tv_sec) - from.tv_sec) * kNanosPerSecond +
         (to.tv_nsec - from.tv_nsec);
}

absl::Duration FromTimeval(const timeval& value) {
  return absl::Seconds(value.tv_sec) + absl::Microseconds(value.tv_usec);
}

struct ThreadSample {
  int tid = 0;
  std::string name;
  int64_t cpu_ns = 0;
};

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::vector<ThreadSample> SampleThreads() {
  std::vector<ThreadSample> samples;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return samples;
  while (dirent* entry = readdir(tasks)) {
    ThreadSample sample;
    if (!absl::SimpleAtoi(entry->d_name, &sample.tid)) continue;
    const std::string dir = absl::StrCat("/proc/self/task/", sample.tid);
    sample.name = ReadFirstLine(dir + "/comm");
    const std::string schedstat = ReadFirstLine(dir + "/schedstat");
    if (!absl::SimpleAtoi(schedstat.substr(0, schedstat.find(' ')),
                          &sample.cpu_ns)) {
      continue;
    }
    samples.push_back(std::move(sample));
  }
  closedir(tasks);
  return samples;
}

std::string RoleOf(const ThreadSample& thread) {
  if (thread.tid == getpid()) return "publishing app (main thread)";
  if (thread.name == "node-0") return "publisher's daemon loop";
  if (absl::StartsWith(thread.name, "node-")) return "receivers' daemon loops";
  if (absl::StartsWith(thread.name, "app-")) return "receiving apps";
  if (absl::StartsWith(thread.name, "ZMQbg")) return "ZeroMQ I/O threads";
  return "other threads";
}

}  // namespace

ThreadCpuMeter::ThreadCpuMeter() {
  for (const ThreadSample& thread : SampleThreads()) {
    start_.emplace_back(thread.tid, thread.cpu_ns);
  }
}

std::vector<std::pair<std::string, absl::Duration>> ThreadCpuMeter::Take()
    const {
  std::map<std::string, int64_t> by_role;
  for (const ThreadSample& thread : SampleThreads()) {
    int64_t before = 0;
    for (const auto& [tid, cpu_ns] : start_) {
      if (tid == thread.tid) before = cpu_ns;
    }
    by_role[RoleOf(thread)] += thread.cpu_ns - before;
  }
  std::vector<std::pair<std::string, absl::Duration>> roles;
  for (const auto& [role, cpu_ns] : by_role) {
    roles.emplace_back(role, absl::Nanoseconds(cpu_ns));
  }
  return roles;
}

LatencySummary Summarize(std::vector<int64_t>& samples_ns) {
  LatencySummary summary;
  if (samples_ns.empty()) return summary;
  std::sort(samples_ns.begin(), samples_ns.end());
  summary.count = samples_ns.size();
  summary.p50 = Nearest(samples_ns, 0.50);
  summary.p99 = Nearest(samples_ns, 0.99);
  summary.p999 = Nearest(samples_ns, 0.999);
  summary.max = absl::Nanoseconds(samples_ns.back());
  return summary;
}

Pacer::Pacer(double per_second) : period_ns_(1e9 / per_second) {
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  clock_gettime(CLOCK_MONOTONIC, &start_);
}

absl::Duration Pacer::WaitForNext() {
  const int64_t offset =
      static_cast<int64_t>(static_cast<double>(next_++) * period_ns_);
  const timespec due = AddNanos(start_, offset);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, nullptr) ==
         EINTR) {
  }
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::Nanoseconds(std::max<int64_t>(0, NanosBetween(due, now)));
}

void StartWatchdog(absl::string_view program, absl::Duration limit,
                   std::function<void()> before_exit) {
  std::thread([program = std::string(program), limit,
               before_exit = std::move(before_exit)] {
    absl::SleepFor(limit);
    std::fprintf(stderr, "%s: still running after %s; giving up\n",
                 program.c_str(), absl::FormatDuration(limit).c_str());
    if (before_exit) before_exit();
    std::_Exit(2);
  }).detach();
}

absl::Duration ProcessCpuTime() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return FromTimeval(usage.ru_utime) + FromTimeval(usage.ru_stime);
}

CpuMeter::CpuMeter() : wall_start_(absl::Now()), cpu_start_(ProcessCpuTime()) {}

double CpuMeter::Busy() const {
  const absl::Duration wall = absl::Now() - wall_start_;
  if (wall <= absl::ZeroDuration()) return 0;
  return absl::FDivDuration(ProcessCpuTime() - cpu_start_, wall) / CoreCount();
}

int CoreCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return std::max(1, CPU_COUNT(&set));
  }
  return std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
}

const char* CompileMode() {
#if !defined(__OPTIMIZE__)
  return "fastbuild or dbg (unoptimised: figures are not representative)";
#elif defined(NDEBUG)
  return "opt";
#else
  return "optimised with assertions";
#endif
}

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "model name")) continue;
    const size_t colon = rest.find(':');
    if (colon == absl::string_view::npos) continue;
    return std::string(absl::StripAsciiWhitespace(rest.substr(colon + 1)));
  }
  return "unknown";
}

double PerSecond(uint64_t count, absl::Duration span) {
  if (span <= absl::ZeroDuration()) return 0;
  return static_cast<double>(count) / absl::ToDoubleSeconds(span);
}

size_t TypicalEnvelopeBytes(int invalidations) {
  const int64_t now_micros = absl::ToUnixMicros(absl::Now());
  v1::Envelope envelope;
  envelope.set_cluster(absl::StrCat("cachemesh-bench-", getpid()));
  v1::NodeIdentity* sender = envelope.mutable_sender();
  sender->set_id("127.0.0.1:40001");
  sender->set_endpoint("tcp://127.0.0.1:40001");
  sender->set_incarnation(1);
  sender->set_instance_id(static_cast<uint64_t>(now_micros));
  v1::InvalidationBatch* batch = envelope.mutable_batch();
  batch->set_first_seq(1000000);
  batch->set_published_unix_micros(now_micros);
  for (int i = 0; i < invalidations; ++i) {
    v1::Invalidation* invalidation = batch->add_invalidations();
    invalidation->set_op(v1::Invalidation::UPDATE);
    invalidation->set_region(kRegion);
    invalidation->set_key(absl::StrFormat("l%019d", now_micros * 1000 + i));
  }
  return envelope.ByteSizeLong();
}

}  // namespace bench
}  // namespace cachemesh
