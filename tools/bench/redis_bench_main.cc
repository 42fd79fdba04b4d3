// The Redis pub/sub benchmark: the same RESP2 clients and the same load
// (tools/bench/redis_load.h) against cachemesh's Redis-protocol endpoint on
// N real daemons (in this process: a subscriber on each node, the publisher
// on node 0, messages crossing the ZeroMQ mesh) and against one real
// redis-server (N subscribers and the publisher on the one server). Prints
// each system's figures and a side-by-side table, and stops by itself.
//
//   bazel run //tools:redis_bench -- --nodes=5 --rate=2000 --seconds=5
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "service/log.h"
#include "tools/bench/local_cluster.h"
#include "tools/bench/measure.h"
#include "tools/bench/redis_cluster.h"
#include "tools/bench/redis_load.h"

ABSL_FLAG(int, nodes, 5,
          "cachemesh daemons, and subscribers on each system (one per node).");
ABSL_FLAG(double, rate, 2000, "Latency run: PUBLISHes per second.");
ABSL_FLAG(int, seconds, 5, "Latency run: how long to publish.");
ABSL_FLAG(int, throughput_seconds, 5,
          "Throughput run: how long to publish as fast as the window allows.");
ABSL_FLAG(uint64_t, window, 1000,
          "Throughput run: most messages ahead of the slowest subscriber (and "
          "most PUBLISH replies outstanding).");
ABSL_FLAG(bool, skip_throughput, false, "Run the latency run only.");
ABSL_FLAG(std::string, redis_server, "redis-server",
          "The redis-server binary (looked up in PATH).");

namespace cachemesh {
namespace bench {
namespace {

// The whole benchmark must end within this, whatever hangs.
constexpr absl::Duration kWatchdog = absl::Seconds(150);
constexpr absl::Duration kFormLimit = absl::Seconds(15);
constexpr absl::Duration kRedisStartLimit = absl::Seconds(5);

// The redis-server child, for the watchdog to kill.
std::atomic<pid_t> redis_pid{0};

struct Settings {
  int nodes;
  double rate;
  int seconds;
  int throughput_seconds;
  uint64_t window;
  bool throughput;
  std::string redis_server;
};

absl::Status CheckSettings(const Settings& settings) {
  if (settings.nodes < 2 || settings.nodes > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("--nodes must be 2..16, got ", settings.nodes));
  }
  if (settings.rate <= 0 || settings.rate > 200000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rate must be in (0, 200000], got ", settings.rate));
  }
  if (settings.seconds < 1 || settings.seconds > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("--seconds must be 1..20, got ", settings.seconds));
  }
  if (settings.throughput_seconds < 1 || settings.throughput_seconds > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("--throughput_seconds must be 1..20, got ",
                     settings.throughput_seconds));
  }
  if (settings.window < 1 || settings.window > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--window must be 1..1000000, got ", settings.window));
  }
  return absl::OkStatus();
}

double PercentOfCore(const PhaseCpu& cpu, absl::Duration used) {
  const double wall = absl::ToDoubleSeconds(cpu.wall);
  return wall > 0 ? 100 * absl::ToDoubleSeconds(used) / wall : 0;
}

double MicrosPer(absl::Duration used, uint64_t messages) {
  return messages == 0 ? 0 : Micros(used) / static_cast<double>(messages);
}

uint64_t MinOf(const RedisLoadResults& r,
               const std::function<uint64_t(const SubscriberFigures&)>& get) {
  uint64_t least = UINT64_MAX;
  for (const SubscriberFigures& s : r.subscribers)
    least = std::min(least, get(s));
  return r.subscribers.empty() ? 0 : least;
}

uint64_t Lost(const RedisLoadResults& r) {
  uint64_t lost = 0;
  for (const SubscriberFigures& s : r.subscribers) {
    lost += r.published - std::min(r.published, s.latency_received);
    lost += r.throughput_published -
            std::min(r.throughput_published, s.throughput_received);
  }
  return lost;
}

void PrintCpu(const char* run, const PhaseCpu& cpu, uint64_t published,
              const std::string& server_name) {
  std::printf(
      "  CPU in the %s run (%.1f s): %s %.0f ms (%.0f%% of a core, %.2f us per "
      "published message), clients %.0f ms (%.2f us per message)\n",
      run, absl::ToDoubleSeconds(cpu.wall), server_name.c_str(),
      absl::ToDoubleMilliseconds(cpu.server), PercentOfCore(cpu, cpu.server),
      MicrosPer(cpu.server, published), absl::ToDoubleMilliseconds(cpu.clients),
      MicrosPer(cpu.clients, published));
}

void PrintSystem(const std::string& title, const std::string& server_name,
                 const std::vector<std::string>& where,
                 const Settings& settings, const RedisLoadResults& r) {
  std::printf("== %s ==\n", title.c_str());
  std::printf(
      "latency run: PUBLISH one at a time at %.0f/s for %d s: published %llu, "
      "errors %llu, replies :%lld..:%lld, warm-up %.0f ms\n",
      settings.rate, settings.seconds,
      static_cast<unsigned long long>(r.published),
      static_cast<unsigned long long>(r.publish_errors),
      static_cast<long long>(r.reply_min), static_cast<long long>(r.reply_max),
      absl::ToDoubleMilliseconds(r.warm_up));
  std::printf("  %-22s %9s %6s %7s %9s %9s %9s %9s\n", "subscriber", "received",
              "lost", "order", "p50 us", "p90 us", "p99 us", "max us");
  for (size_t i = 0; i < r.subscribers.size(); ++i) {
    const SubscriberFigures& s = r.subscribers[i];
    std::printf("  %-22s %9llu %6llu %7llu %9.1f %9.1f %9.1f %9.1f%s%s\n",
                absl::StrCat(i, " ", where[i]).c_str(),
                static_cast<unsigned long long>(s.latency_received),
                static_cast<unsigned long long>(
                    r.published - std::min(r.published, s.latency_received)),
                static_cast<unsigned long long>(s.out_of_order),
                Micros(s.latency.p50), Micros(s.latency.p90),
                Micros(s.latency.p99), Micros(s.latency.max),
                s.error.empty() ? "" : "  error: ", s.error.c_str());
  }
  std::printf("  %-22s %9zu %6s %7s %9.1f %9.1f %9.1f %9.1f\n", "all",
              r.latency.count, "", "", Micros(r.latency.p50),
              Micros(r.latency.p90), Micros(r.latency.p99),
              Micros(r.latency.max));
  std::printf(
      "  PUBLISH -> reply: p50 %.1f us, p99 %.1f us, max %.1f us; publisher "
      "behind schedule: p99 %.1f us, max %.1f us\n",
      Micros(r.publish_rtt.p50), Micros(r.publish_rtt.p99),
      Micros(r.publish_rtt.max), Micros(r.lateness.p99),
      Micros(r.lateness.max));
  std::printf(
      "  CPU with the clients connected and nothing published (%.1f s): %s "
      "%.0f ms (%.1f%% of a core)\n",
      absl::ToDoubleSeconds(r.idle_cpu.wall), server_name.c_str(),
      absl::ToDoubleMilliseconds(r.idle_cpu.server),
      PercentOfCore(r.idle_cpu, r.idle_cpu.server));
  PrintCpu("latency", r.latency_cpu, r.published, server_name);
  if (settings.throughput) {
    std::printf(
        "throughput run: PUBLISH pipelined for %d s, at most %llu messages "
        "ahead of the slowest subscriber: published %llu (%.0f/s), errors "
        "%llu\n",
        settings.throughput_seconds,
        static_cast<unsigned long long>(settings.window),
        static_cast<unsigned long long>(r.throughput_published),
        r.publish_per_second,
        static_cast<unsigned long long>(r.throughput_publish_errors));
    std::printf("  %-22s %9s %6s %7s %12s\n", "subscriber", "received", "lost",
                "order", "msgs/s");
    for (size_t i = 0; i < r.subscribers.size(); ++i) {
      const SubscriberFigures& s = r.subscribers[i];
      std::printf("  %-22s %9llu %6llu %7s %12.0f\n",
                  absl::StrCat(i, " ", where[i]).c_str(),
                  static_cast<unsigned long long>(s.throughput_received),
                  static_cast<unsigned long long>(
                      r.throughput_published -
                      std::min(r.throughput_published, s.throughput_received)),
                  "", s.throughput_per_second);
    }
    PrintCpu("throughput", r.throughput_cpu, r.throughput_published,
             server_name);
  }
  uint64_t unexpected = 0;
  uint64_t out_of_order = 0;
  for (const SubscriberFigures& s : r.subscribers) {
    unexpected += s.unexpected;
    out_of_order += s.out_of_order;
  }
  std::printf(
      "  %s: every subscriber got every message in order: %s (lost %llu, "
      "out of order %llu, unexpected frames %llu)\n\n",
      server_name.c_str(), Complete(r) ? "yes" : "NO",
      static_cast<unsigned long long>(Lost(r)),
      static_cast<unsigned long long>(out_of_order),
      static_cast<unsigned long long>(unexpected));
}

RedisLoadOptions LoadOptions(const Settings& settings) {
  RedisLoadOptions options;
  options.rate = settings.rate;
  options.latency_duration = absl::Seconds(settings.seconds);
  options.throughput = settings.throughput;
  options.throughput_duration = absl::Seconds(settings.throughput_seconds);
  options.window = settings.window;
  return options;
}

absl::StatusOr<RedisLoadResults> RunCachemesh(const Settings& settings,
                                              absl::Duration* formed_in) {
  Logger logger(LogLevel::kWarning);
  absl::StatusOr<std::vector<int>> redis_ports = PickFreePorts(settings.nodes);
  if (!redis_ports.ok()) return redis_ports.status();
  // Each daemon serves the Redis protocol on a port of its own.
  absl::StatusOr<std::unique_ptr<LocalCluster>> cluster =
      LocalCluster::Start(settings.nodes, logger, [&](int index) {
        return absl::StrCat("cachemesh.redis.enabled = on\n",
                            "redis.host = 127.0.0.1\n",
                            "redis.port = ", (*redis_ports)[index], "\n");
      });
  if (!cluster.ok()) return cluster.status();
  const absl::Time started = absl::Now();
  if (absl::Status formed = (*cluster)->WaitUntilFormed(kFormLimit);
      !formed.ok()) {
    return formed;
  }
  *formed_in = absl::Now() - started;
  RedisLoadOptions options = LoadOptions(settings);
  options.publisher_port = (*redis_ports)[0];
  options.subscriber_ports = *redis_ports;
  options.server_pid = 0;  // the daemons are this process's other threads
  absl::StatusOr<RedisLoadResults> results = RunRedisLoad(options);
  if (absl::Status stopped = (*cluster)->Stop(); !stopped.ok()) return stopped;
  return results;
}

absl::StatusOr<RedisLoadResults> RunRedisServer(const Settings& settings,
                                                std::string* version) {
  absl::StatusOr<std::unique_ptr<RedisServerProcess>> server =
      RedisServerProcess::Start(settings.redis_server, kRedisStartLimit);
  if (!server.ok()) return server.status();
  redis_pid.store((*server)->pid());
  *version = (*server)->version();
  RedisLoadOptions options = LoadOptions(settings);
  options.publisher_port = (*server)->port();
  options.subscriber_ports.assign(settings.nodes, (*server)->port());
  options.server_pid = (*server)->pid();
  absl::StatusOr<RedisLoadResults> results = RunRedisLoad(options);
  (*server)->Stop();
  redis_pid.store(0);
  return results;
}

std::string Row(const char* name, const std::string& a, const std::string& b) {
  return absl::StrFormat("  %-44s %16s %16s\n", name, a, b);
}

std::string Count(uint64_t n) { return absl::StrCat(n); }

std::string F(double value, const char* format = "%.1f") {
  return absl::StrFormat(format, value);
}

void PrintSummary(const Settings& settings, const RedisLoadResults& m,
                  const RedisLoadResults& r) {
  std::printf(
      "summary (%d subscribers each, %.0f/s for %d s, then %d s "
      "pipelined with window %llu):\n",
      settings.nodes, settings.rate, settings.seconds,
      settings.throughput_seconds,
      static_cast<unsigned long long>(settings.window));
  std::string table = Row("", "cachemesh", "redis-server");
  const auto both =
      [&](const char* name,
          const std::function<std::string(const RedisLoadResults&)>& get) {
        table += Row(name, get(m), get(r));
      };
  both("latency run: published",
       [](const RedisLoadResults& x) { return Count(x.published); });
  both("latency run: fewest delivered to a subscriber",
       [](const RedisLoadResults& x) {
         return Count(MinOf(
             x, [](const SubscriberFigures& s) { return s.latency_received; }));
       });
  both("latency p50 us",
       [](const RedisLoadResults& x) { return F(Micros(x.latency.p50)); });
  both("latency p90 us",
       [](const RedisLoadResults& x) { return F(Micros(x.latency.p90)); });
  both("latency p99 us",
       [](const RedisLoadResults& x) { return F(Micros(x.latency.p99)); });
  both("latency max us",
       [](const RedisLoadResults& x) { return F(Micros(x.latency.max)); });
  both("PUBLISH round trip p50 us",
       [](const RedisLoadResults& x) { return F(Micros(x.publish_rtt.p50)); });
  both("server CPU, idle, % of a core", [](const RedisLoadResults& x) {
    return F(PercentOfCore(x.idle_cpu, x.idle_cpu.server));
  });
  both("server CPU, latency run, % of a core", [](const RedisLoadResults& x) {
    return F(PercentOfCore(x.latency_cpu, x.latency_cpu.server));
  });
  both("server CPU, latency run, us per message",
       [](const RedisLoadResults& x) {
         return F(MicrosPer(x.latency_cpu.server, x.published), "%.2f");
       });
  if (settings.throughput) {
    both("throughput run: published", [](const RedisLoadResults& x) {
      return Count(x.throughput_published);
    });
    both("throughput run: fewest delivered to a subscriber",
         [](const RedisLoadResults& x) {
           return Count(MinOf(x, [](const SubscriberFigures& s) {
             return s.throughput_received;
           }));
         });
    both("throughput msgs/s per subscriber, slowest",
         [](const RedisLoadResults& x) {
           return F(x.slowest_per_second, "%.0f");
         });
    both(
        "throughput msgs/s per subscriber, mean",
        [](const RedisLoadResults& x) { return F(x.mean_per_second, "%.0f"); });
    both("server CPU, throughput run, % of a core",
         [](const RedisLoadResults& x) {
           return F(PercentOfCore(x.throughput_cpu, x.throughput_cpu.server));
         });
    both("server CPU, throughput run, us per message",
         [](const RedisLoadResults& x) {
           return F(MicrosPer(x.throughput_cpu.server, x.throughput_published),
                    "%.2f");
         });
    both("client CPU, throughput run, us per message",
         [](const RedisLoadResults& x) {
           return F(MicrosPer(x.throughput_cpu.clients, x.throughput_published),
                    "%.2f");
         });
  }
  both("messages lost (all subscribers, both runs)",
       [](const RedisLoadResults& x) { return Count(Lost(x)); });
  both("complete and in order", [](const RedisLoadResults& x) {
    return std::string(Complete(x) ? "yes" : "NO");
  });
  std::fputs(table.c_str(), stdout);
}

absl::Status Run(const Settings& settings) {
  std::printf(
      "Redis pub/sub benchmark: cachemesh's Redis endpoint vs "
      "redis-server\n");
  std::printf("  machine: %d cores (%s), compile mode: %s\n", CoreCount(),
              CpuModel().c_str(), CompileMode());
  std::printf(
      "  clients: RESP2 over TCP on 127.0.0.1, %d subscriber connections (a "
      "thread each) and 1 publisher, channel dhis2_cache_invalidation, "
      "94-byte payloads\n",
      settings.nodes);
  std::printf(
      "  note: the servers, their threads and all the clients share these %d "
      "cores; each system runs alone\n\n",
      CoreCount());
  std::fflush(stdout);

  absl::Duration formed_in;
  absl::StatusOr<RedisLoadResults> mesh = RunCachemesh(settings, &formed_in);
  if (!mesh.ok()) return mesh.status();
  std::vector<std::string> mesh_where;
  for (int i = 0; i < settings.nodes; ++i) {
    mesh_where.push_back(i == 0 ? "(node 0, local)"
                                : absl::StrCat("(node ", i, ")"));
  }
  PrintSystem(
      absl::StrFormat("cachemesh: %d daemons in this process (formed in %.0f "
                      "ms), publisher on node 0, subscriber i on node i",
                      settings.nodes, absl::ToDoubleMilliseconds(formed_in)),
      "daemons", mesh_where, settings, *mesh);
  std::fflush(stdout);

  std::string version;
  absl::StatusOr<RedisLoadResults> redis = RunRedisServer(settings, &version);
  if (!redis.ok()) return redis.status();
  PrintSystem(absl::StrFormat("redis-server %s: one process, %d subscribers "
                              "and the publisher on it",
                              version, settings.nodes),
              "redis-server",
              std::vector<std::string>(settings.nodes, "(redis-server)"),
              settings, *redis);
  PrintSummary(settings, *mesh, *redis);
  return absl::OkStatus();
}

}  // namespace
}  // namespace bench
}  // namespace cachemesh

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Measures Redis pub/sub publish->receive latency and throughput through "
      "cachemesh's Redis endpoint on N local daemons and through one "
      "redis-server, with the same clients and load.\n"
      "Usage: redis_bench [--nodes=5] [--rate=2000] [--seconds=5] "
      "[--throughput_seconds=5] [--window=1000] [--skip_throughput] "
      "[--redis_server=redis-server]");
  absl::ParseCommandLine(argc, argv);
  const cachemesh::bench::Settings settings{
      absl::GetFlag(FLAGS_nodes),       absl::GetFlag(FLAGS_rate),
      absl::GetFlag(FLAGS_seconds),     absl::GetFlag(FLAGS_throughput_seconds),
      absl::GetFlag(FLAGS_window),      !absl::GetFlag(FLAGS_skip_throughput),
      absl::GetFlag(FLAGS_redis_server)};
  if (absl::Status valid = cachemesh::bench::CheckSettings(settings);
      !valid.ok()) {
    std::fprintf(stderr, "redis_bench: %s\n",
                 std::string(valid.message()).c_str());
    return 2;
  }
  cachemesh::bench::StartWatchdog(
      "redis_bench", cachemesh::bench::kWatchdog, [] {
        const pid_t pid = cachemesh::bench::redis_pid.load();
        if (pid > 0) kill(pid, SIGKILL);
      });
  if (absl::Status ran = cachemesh::bench::Run(settings); !ran.ok()) {
    std::fprintf(stderr, "redis_bench: %s\n", ran.ToString().c_str());
    return 1;
  }
  return 0;
}
