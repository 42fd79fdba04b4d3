// The cachemesh benchmark: publish -> receive latency and throughput across a
// local cluster of real daemons (in this process, apps on net::Client over
// ipc), next to a raw ZeroMQ PUB/SUB hop (net::Mesh) with payloads of the
// same sizes. Prints a header, a table and one closing summary line, and
// stops by itself.
//
//   bazel run //tools/bench:bench -- --nodes=5 --rate=10000 --seconds=5
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "service/log.h"
#include "tools/bench/cachemesh_bench.h"
#include "tools/bench/local_cluster.h"
#include "tools/bench/measure.h"
#include "tools/bench/raw_mesh_bench.h"

ABSL_FLAG(int, nodes, 5, "Daemons in the local cluster (node 0 publishes).");
ABSL_FLAG(double, rate, 10000,
          "Latency runs: invalidations per second, one per Publish.");
ABSL_FLAG(int, seconds, 5, "Latency runs: how long to publish.");
ABSL_FLAG(int, batch, 500,
          "Throughput runs: invalidations per Publish (and per raw message).");
ABSL_FLAG(uint64_t, throughput_count, 2000000,
          "Throughput runs: invalidations to publish.");
ABSL_FLAG(uint64_t, window, 20000,
          "Throughput runs: most invalidations in flight ahead of the slowest "
          "receiver; 0 means no limit. Without a limit the publisher outruns "
          "the receivers until their apps' queues overflow (events dropped, "
          "turned into FLUSHes); a wider window also measured slower (more "
          "memory in flight).");
ABSL_FLAG(bool, skip_throughput, false, "Run the latency runs only.");

namespace cachemesh {
namespace bench {
namespace {

// The whole benchmark must end within this, whatever hangs.
constexpr absl::Duration kWatchdog = absl::Seconds(115);
constexpr absl::Duration kFormLimit = absl::Seconds(15);
constexpr absl::Duration kThroughputLimit = absl::Seconds(20);
constexpr absl::Duration kRawThroughputDuration = absl::Seconds(2);
constexpr absl::Duration kLatencyTarget = absl::Milliseconds(1);
constexpr double kThroughputTarget = 500000;

struct Settings {
  int nodes;
  double rate;
  int seconds;
  int batch;
  uint64_t throughput_count;
  uint64_t window;
  bool throughput;
};

absl::Status CheckSettings(const Settings& settings) {
  if (settings.nodes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--nodes must be at least 2, got ", settings.nodes));
  }
  if (settings.rate <= 0 || settings.rate > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rate must be in (0, 1000000], got ", settings.rate));
  }
  if (settings.seconds < 1 || settings.seconds > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("--seconds must be 1..20, got ", settings.seconds));
  }
  if (settings.batch < 1 || settings.batch > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch must be 1..100000, got ", settings.batch));
  }
  return absl::OkStatus();
}


double Ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0;
}

double Min(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::min_element(values.begin(), values.end());
}

double Mean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) /
         static_cast<double>(values.size());
}

bool AllDelivered(const std::vector<uint64_t>& delivered, uint64_t published) {
  return std::all_of(delivered.begin(), delivered.end(),
                     [published](uint64_t n) { return n == published; });
}

void PrintLatencyRow(const std::string& name, const LatencySummary& summary,
                     double cpu_busy) {
  std::printf("  %-30s %9zu %9.1f %9.1f %9.1f %9.1f %7.0f%%\n", name.c_str(),
              summary.count, Micros(summary.p50), Micros(summary.p99),
              Micros(summary.p999), Micros(summary.max), 100 * cpu_busy);
}

using CpuByRole = std::vector<std::pair<std::string, absl::Duration>>;

// CPU microseconds per published invalidation (which reaches every
// receiver): what one invalidation costs the whole local cluster. Unlike
// rates, this hardly depends on what else runs on the machine.
double CpuMicrosPerInvalidation(const CpuByRole& roles, uint64_t published) {
  if (published == 0) return 0;
  absl::Duration total;
  for (const auto& role : roles) total += role.second;
  return Micros(total) / static_cast<double>(published);
}

void PrintCpuByRole(const CpuByRole& roles, uint64_t published) {
  if (published == 0) return;
  std::printf("  CPU per published invalidation, by thread role:\n");
  for (const auto& [role, cpu] : roles) {
    std::printf("    %-32s %8.2f us\n", role.c_str(),
                Micros(cpu) / static_cast<double>(published));
  }
  const double per_invalidation = CpuMicrosPerInvalidation(roles, published);
  std::printf("    %-32s %8.2f us  (CPU-bound ceiling on %d cores: %.0f/s)\n",
              "total", per_invalidation, CoreCount(),
              Ratio(1e6 * CoreCount(), per_invalidation));
}

absl::Duration CpuOfRole(const CpuByRole& roles, absl::string_view role) {
  for (const auto& [name, cpu] : roles) {
    if (name == role) return cpu;
  }
  return absl::ZeroDuration();
}

// What one receiving node (its daemon loop and its app) spends per
// invalidation: the figure that bounds a real cluster, where every node has
// cores of its own. ZeroMQ's I/O threads are not attributed to nodes here.
void PrintPerReceivingNode(const CpuByRole& roles, uint64_t published,
                           int receivers) {
  if (published == 0 || receivers == 0) return;
  const double per = static_cast<double>(published) * receivers;
  const double loop = Micros(CpuOfRole(roles, "receivers' daemon loops")) / per;
  const double app = Micros(CpuOfRole(roles, "receiving apps")) / per;
  std::printf(
      "  per receiving node: daemon loop %.2f us + app %.2f us per "
      "invalidation (with a core each for the daemon and the app: %.0f/s, "
      "ZeroMQ I/O aside)\n",
      loop, app, Ratio(1e6, std::max(loop, app)));
}

// Published, delivered to each receiver, and FLUSHes: a complete run has
// every receiver at `published` and no FLUSH.
template <typename Run>
void PrintDeliveryCounts(const Run& run) {
  std::printf(
      "  cachemesh: published %llu (errors %llu), delivered per receiver %s, "
      "FLUSH events %llu\n",
      static_cast<unsigned long long>(run.published),
      static_cast<unsigned long long>(run.publish_errors),
      absl::StrJoin(run.delivered, "/").c_str(),
      static_cast<unsigned long long>(run.flushes));
}

void PrintHeader(const Settings& settings, const LocalCluster& cluster,
                 absl::Duration formed_in) {
  std::printf("cachemesh benchmark\n");
  std::printf("  machine: %d cores (%s), compile mode: %s\n", CoreCount(),
              CpuModel().c_str(), CompileMode());
  std::printf(
      "  cluster: %d real daemons in this process on loopback (node 0 "
      "publishes, %d receive), apps on net::Client over ipc://\n",
      settings.nodes, settings.nodes - 1);
  std::printf(
      "  note: all %d event loops, their ZeroMQ I/O threads and the %d app "
      "clients share these %d cores\n",
      settings.nodes, settings.nodes, CoreCount());
  std::printf(
      "  cluster formed (every node lists %d ALIVE) in %.0f ms; batch.max.size "
      "%d, batch.max.delay %s\n\n",
      settings.nodes, absl::ToDoubleMilliseconds(formed_in),
      cluster.config(0).node.streams.batch_max_size,
      absl::FormatDuration(cluster.config(0).node.streams.batch_max_delay)
          .c_str());
}

void PrintLatency(const Settings& settings, const CachemeshResults& mesh,
                  const RawMeshResults& raw, size_t single_bytes) {
  const LatencyRun& run = mesh.latency;
  std::printf(
      "latency: one invalidation per Publish, %.0f/s for %d s (warm-up took "
      "%.0f ms)\n",
      settings.rate, settings.seconds,
      absl::ToDoubleMilliseconds(mesh.warm_up));
  std::printf("  %-30s %9s %9s %9s %9s %9s %8s\n", "", "samples", "p50 us",
              "p99 us", "p999 us", "max us", "cpu");
  PrintLatencyRow("cachemesh publish->receive", run.latency, run.cpu_busy);
  PrintLatencyRow(absl::StrCat("raw mesh hop (", single_bytes, " B msgs)"),
                  raw.latency.latency, raw.latency.cpu_busy);
  std::printf(
      "  %-30s %9s %9.1f %9.1f %9.1f\n", "ratio cachemesh/raw", "",
      Ratio(Micros(run.latency.p50), Micros(raw.latency.latency.p50)),
      Ratio(Micros(run.latency.p99), Micros(raw.latency.latency.p99)),
      Ratio(Micros(run.latency.p999), Micros(raw.latency.latency.p999)));
  PrintDeliveryCounts(run);
  std::printf("  raw: sent %llu, received %llu\n",
              static_cast<unsigned long long>(raw.latency.sent),
              static_cast<unsigned long long>(raw.latency.received));
  std::printf(
      "  publisher lateness vs schedule: p50 %.1f us, p99 %.1f us, max %.1f "
      "us\n",
      Micros(run.publisher_lateness.p50), Micros(run.publisher_lateness.p99),
      Micros(run.publisher_lateness.max));
  PrintCpuByRole(run.cpu_by_role, run.published);
  std::printf("\n");
}

void PrintRawThroughputRow(const RawThroughputRun& run) {
  std::printf("  %-38s %14.0f %7.0f%%   (%.0f msgs/s)\n",
              absl::StrCat("raw mesh hop (", run.invalidations_per_message,
                           " per ", run.message_bytes, " B msg)")
                  .c_str(),
              run.invalidations_per_second, 100 * run.cpu_busy,
              run.messages_per_second);
}

void PrintThroughput(const Settings& settings, const CachemeshResults& mesh,
                     const RawMeshResults& raw, size_t batch_bytes) {
  const ThroughputRun& run = mesh.throughput;
  std::printf(
      "throughput: %d invalidations per Publish, %llu invalidations, at most "
      "%llu in flight\n",
      settings.batch,
      static_cast<unsigned long long>(settings.throughput_count),
      static_cast<unsigned long long>(settings.window));
  std::printf("  %-38s %14s %8s\n", "", "invalidations/s", "cpu");
  std::printf("  %-38s %14.0f %7.0f%%\n", "cachemesh per receiver, slowest",
              Min(run.per_second), 100 * run.cpu_busy);
  std::printf("  %-38s %14.0f\n", "cachemesh per receiver, mean",
              Mean(run.per_second));
  std::printf("  %-38s %14.0f\n", "cachemesh end to end (all receivers)",
              run.end_to_end_per_second);
  std::printf(
      "  %-38s %14.0f\n", "cachemesh deliveries, all receivers",
      std::accumulate(run.per_second.begin(), run.per_second.end(), 0.0));
  std::printf("  %-38s %14.0f\n", "cachemesh publisher (Publish calls)",
              PerSecond(run.published, run.publish_span));
  PrintRawThroughputRow(raw.batched);
  PrintRawThroughputRow(raw.single);
  std::printf("  %-38s %14.3f\n", "ratio cachemesh/raw (slowest)",
              Ratio(Min(run.per_second), raw.batched.invalidations_per_second));
  PrintDeliveryCounts(run);
  PrintCpuByRole(run.cpu_by_role, run.published);
  PrintPerReceivingNode(run.cpu_by_role, run.published, settings.nodes - 1);
  std::printf("  raw: sent %llu + %llu msgs, received %llu + %llu\n\n",
              static_cast<unsigned long long>(raw.batched.messages_sent),
              static_cast<unsigned long long>(raw.single.messages_sent),
              static_cast<unsigned long long>(raw.batched.messages_received),
              static_cast<unsigned long long>(raw.single.messages_received));
}

void PrintTargets(const Settings& settings, const CachemeshResults& mesh) {
  const LatencyRun& latency = mesh.latency;
  const bool complete = AllDelivered(latency.delivered, latency.published);
  std::printf(
      "targets:\n  p99 <= 1 ms at %.0f/s on %d nodes: %s (p99 %.1f "
      "us%s)\n",
      settings.rate, settings.nodes,
      complete && latency.latency.p99 <= kLatencyTarget ? "MET" : "MISSED",
      Micros(latency.latency.p99), complete ? "" : ", incomplete");
  if (!settings.throughput) return;
  const ThroughputRun& throughput = mesh.throughput;
  const bool all = AllDelivered(throughput.delivered, throughput.published) &&
                   throughput.flushes == 0;
  std::printf(
      "  >= 500k invalidations/s delivered per publisher: %s "
      "(slowest receiver %.0f/s%s)\n\n",
      all && Min(throughput.per_second) >= kThroughputTarget ? "MET" : "MISSED",
      Min(throughput.per_second), all ? "" : ", incomplete");
}

std::string Figure(bool present, double value, const char* format) {
  return present ? absl::StrFormat(format, value) : "-";
}

void PrintSummary(const Settings& settings, const CachemeshResults& mesh,
                  const RawMeshResults& raw) {
  const LatencySummary& latency = mesh.latency.latency;
  const LatencySummary& raw_latency = raw.latency.latency;
  const double throughput = Min(mesh.throughput.per_second);
  const double raw_throughput = raw.batched.invalidations_per_second;
  std::printf(
      "nodes=%d rate=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
      "throughput_per_s=%s raw_p50_us=%.1f raw_p99_us=%.1f "
      "raw_throughput_per_s=%s ratio_p50=%.2f ratio_p99=%.2f "
      "ratio_throughput=%s flushes=%llu cpu_us_per_inv_latency=%.1f "
      "cpu_us_per_inv_throughput=%s\n",
      settings.nodes, settings.rate, Micros(latency.p50), Micros(latency.p99),
      Micros(latency.p999), Micros(latency.max),
      Figure(settings.throughput, throughput, "%.0f").c_str(),
      Micros(raw_latency.p50), Micros(raw_latency.p99),
      Figure(settings.throughput, raw_throughput, "%.0f").c_str(),
      Ratio(Micros(latency.p50), Micros(raw_latency.p50)),
      Ratio(Micros(latency.p99), Micros(raw_latency.p99)),
      Figure(settings.throughput, Ratio(throughput, raw_throughput), "%.3f")
          .c_str(),
      static_cast<unsigned long long>(mesh.latency.flushes +
                                      mesh.throughput.flushes),
      CpuMicrosPerInvalidation(mesh.latency.cpu_by_role,
                               mesh.latency.published),
      Figure(settings.throughput,
             CpuMicrosPerInvalidation(mesh.throughput.cpu_by_role,
                                      mesh.throughput.published),
             "%.1f")
          .c_str());
}

absl::Status Run(const Settings& settings) {
  Logger logger(LogLevel::kWarning);
  absl::StatusOr<std::unique_ptr<LocalCluster>> cluster =
      LocalCluster::Start(settings.nodes, logger);
  if (!cluster.ok()) return cluster.status();
  const absl::Time started = absl::Now();
  if (absl::Status formed = (*cluster)->WaitUntilFormed(kFormLimit);
      !formed.ok()) {
    return formed;
  }
  PrintHeader(settings, **cluster, absl::Now() - started);
  std::fflush(stdout);

  CachemeshBenchOptions mesh_options;
  for (int i = 0; i < settings.nodes; ++i) {
    mesh_options.endpoints.push_back((*cluster)->client_endpoint(i));
  }
  mesh_options.rate = settings.rate;
  mesh_options.latency_duration = absl::Seconds(settings.seconds);
  mesh_options.throughput = settings.throughput;
  mesh_options.batch = settings.batch;
  mesh_options.throughput_count = settings.throughput_count;
  mesh_options.window = settings.window;
  mesh_options.throughput_limit = kThroughputLimit;
  absl::StatusOr<CachemeshResults> mesh = RunCachemeshBench(mesh_options);
  const int batch_max_size = (*cluster)->config(0).node.streams.batch_max_size;
  // The raw hop runs on an idle machine, as the daemons' did not.
  if (absl::Status stopped = (*cluster)->Stop(); !stopped.ok()) return stopped;
  if (!mesh.ok()) return mesh.status();

  // The daemons cut published lists into batches of at most batch.max.size.
  const size_t single_bytes = TypicalEnvelopeBytes(1);
  const size_t batch_bytes =
      TypicalEnvelopeBytes(std::min(settings.batch, batch_max_size));
  RawMeshBenchOptions raw_options;
  raw_options.rate = settings.rate;
  raw_options.latency_duration = absl::Seconds(settings.seconds);
  raw_options.single_bytes = single_bytes;
  raw_options.throughput = settings.throughput;
  raw_options.batch = std::min(settings.batch, batch_max_size);
  raw_options.batch_bytes = batch_bytes;
  raw_options.window = settings.window;
  raw_options.throughput_duration = kRawThroughputDuration;
  absl::StatusOr<RawMeshResults> raw = RunRawMeshBench(raw_options);
  if (!raw.ok()) return raw.status();

  PrintLatency(settings, *mesh, *raw, single_bytes);
  if (settings.throughput) PrintThroughput(settings, *mesh, *raw, batch_bytes);
  PrintTargets(settings, *mesh);
  PrintSummary(settings, *mesh, *raw);
  return absl::OkStatus();
}

}  // namespace
}  // namespace bench
}  // namespace cachemesh

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Measures cachemesh publish->receive latency and throughput on a local "
      "cluster of real daemons, next to a raw ZeroMQ hop.\n"
      "Usage: bench [--nodes=5] [--rate=10000] [--seconds=5] [--batch=500] "
      "[--throughput_count=2000000] [--window=20000] [--skip_throughput]");
  absl::ParseCommandLine(argc, argv);
  const cachemesh::bench::Settings settings{
      absl::GetFlag(FLAGS_nodes),
      absl::GetFlag(FLAGS_rate),
      absl::GetFlag(FLAGS_seconds),
      absl::GetFlag(FLAGS_batch),
      absl::GetFlag(FLAGS_throughput_count),
      absl::GetFlag(FLAGS_window),
      !absl::GetFlag(FLAGS_skip_throughput)};
  if (absl::Status valid = cachemesh::bench::CheckSettings(settings);
      !valid.ok()) {
    std::fprintf(stderr, "bench: %s\n", std::string(valid.message()).c_str());
    return 2;
  }
  cachemesh::bench::StartWatchdog("bench", cachemesh::bench::kWatchdog);
  if (absl::Status ran = cachemesh::bench::Run(settings); !ran.ok()) {
    std::fprintf(stderr, "bench: %s\n", ran.ToString().c_str());
    return 1;
  }
  return 0;
}
