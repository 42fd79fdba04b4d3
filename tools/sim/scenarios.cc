#include "tools/sim/scenarios.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace cachemesh {
namespace sim {
namespace {

constexpr absl::Duration kWarmup = absl::Seconds(5);
constexpr absl::Duration kSettle = absl::Seconds(5);
constexpr absl::Duration kAppsStopBeforeEnd = absl::Seconds(1);
constexpr absl::Duration kMinDuration = absl::Seconds(20);
constexpr int kMaxNodes = 1000;

struct Timeline {
  absl::Time faults_begin;
  absl::Time settle_begin;
  absl::Time end;

  // `count` times spread evenly over the fault window, leaving `reserve`
  // before the settling period for each fault to play out.
  std::vector<absl::Time> Spread(int count, absl::Duration reserve) const {
    std::vector<absl::Time> times;
    const absl::Duration window = settle_begin - reserve - faults_begin;
    for (int i = 0; i < count; ++i) {
      times.push_back(faults_begin + window * i / count);
    }
    return times;
  }
};

int PickFrom(ClusterSim& cluster, const std::vector<int>& slots) {
  if (slots.empty()) return -1;
  const int index = static_cast<int>(cluster.Uniform() * slots.size());
  return slots[std::min<size_t>(index, slots.size() - 1)];
}

// A running node, or -1 when stopping one would leave fewer than `keep`.
int PickVictim(ClusterSim& cluster, int keep) {
  const std::vector<int> running = cluster.Running();
  if (static_cast<int>(running.size()) <= keep) return -1;
  return PickFrom(cluster, running);
}

std::vector<int> Shuffled(ClusterSim& cluster, std::vector<int> slots) {
  for (size_t i = slots.size(); i > 1; --i) {
    std::swap(slots[i - 1], slots[static_cast<size_t>(cluster.Uniform() * i)]);
  }
  return slots;
}

int Fraction(int nodes, int divisor, int low, int high) {
  return std::clamp(nodes / divisor, low, high);
}

void CrashScript(ClusterSim& cluster, const Timeline& timeline, int nodes) {
  const int crashes = Fraction(nodes, 4, 1, 3);
  for (absl::Time at : timeline.Spread(crashes, absl::Seconds(3))) {
    cluster.At(at, [&cluster] {
      const int victim = PickVictim(cluster, 2);
      if (victim >= 0) cluster.Crash(victim);
    });
  }
}

void PauseScript(ClusterSim& cluster, const Timeline& timeline, int nodes) {
  for (absl::Time at : timeline.Spread(3, absl::Seconds(1))) {
    cluster.At(at, [&cluster] {
      const int victim = PickVictim(cluster, 1);
      if (victim >= 0) cluster.Pause(victim, absl::Milliseconds(500));
    });
  }
}

void RestartScript(ClusterSim& cluster, const Timeline& timeline, int nodes) {
  // Before anyone could call it DEAD, well after, and in between.
  const absl::Duration downtimes[] = {absl::Milliseconds(300), absl::Seconds(3),
                                      absl::Seconds(1)};
  const std::vector<absl::Time> times =
      timeline.Spread(Fraction(nodes, 2, 1, 3), absl::Seconds(4));
  for (size_t i = 0; i < times.size(); ++i) {
    const absl::Duration downtime = downtimes[i];
    cluster.At(times[i], [&cluster, downtime] {
      const int victim = PickVictim(cluster, 2);
      if (victim < 0) return;
      cluster.Crash(victim);
      cluster.At(cluster.now() + downtime,
                 [&cluster, victim] { cluster.Restart(victim); });
    });
  }
}

void JoinScript(ClusterSim& cluster, const Timeline& timeline, int nodes) {
  for (absl::Time at : timeline.Spread(2, absl::Seconds(2))) {
    cluster.At(at, [&cluster] {
      const int seed = PickFrom(cluster, cluster.Running());
      if (seed >= 0) cluster.Join({seed});
    });
  }
}

void LeaveScript(ClusterSim& cluster, const Timeline& timeline, int nodes) {
  for (absl::Time at :
       timeline.Spread(Fraction(nodes, 4, 1, 2), absl::Seconds(1))) {
    cluster.At(at, [&cluster] {
      const int leaver = PickVictim(cluster, 2);
      if (leaver >= 0) cluster.Leave(leaver);
    });
  }
}

void PartitionScript(ClusterSim& cluster, const Timeline& timeline, int nodes) {
  const std::vector<absl::Time> times = timeline.Spread(3, absl::Seconds(1));
  // A symmetric split into halves, for 3 s.
  cluster.At(times[0], [&cluster] {
    std::vector<int> nodes = Shuffled(cluster, cluster.Running());
    const std::vector<int> half(nodes.begin(),
                                nodes.begin() + nodes.size() / 2);
    const std::vector<int> rest(nodes.begin() + nodes.size() / 2, nodes.end());
    cluster.Partition(half, rest, /*one_way=*/false);
    cluster.At(cluster.now() + absl::Seconds(3),
               [&cluster] { cluster.Heal(); });
  });
  // A third of the nodes stop hearing the others (one way), for 3 s.
  cluster.At(times[1], [&cluster] {
    std::vector<int> nodes = Shuffled(cluster, cluster.Running());
    const size_t deaf = std::max<size_t>(1, nodes.size() / 3);
    const std::vector<int> minority(nodes.begin(), nodes.begin() + deaf);
    const std::vector<int> rest(nodes.begin() + deaf, nodes.end());
    cluster.Partition(rest, minority, /*one_way=*/true);
    cluster.At(cluster.now() + absl::Seconds(3),
               [&cluster] { cluster.Heal(); });
  });
  // One node cut off briefly: 400 ms, too short to suspect.
  cluster.At(times[2], [&cluster] {
    const int lonely = PickFrom(cluster, cluster.Running());
    if (lonely < 0) return;
    std::vector<int> others = cluster.Running();
    others.erase(std::find(others.begin(), others.end(), lonely));
    cluster.Partition({lonely}, others, /*one_way=*/false);
    cluster.At(cluster.now() + absl::Milliseconds(400),
               [&cluster] { cluster.Heal(); });
  });
}

void OriginCrashScript(ClusterSim& cluster, const Timeline& timeline,
                       int nodes) {
  const std::vector<absl::Time> times =
      timeline.Spread(Fraction(nodes, 4, 1, 3), absl::Seconds(3));
  for (size_t i = 0; i < times.size(); ++i) {
    const bool at_once = i == 0;
    cluster.At(times[i], [&cluster, at_once] {
      const int origin = PickVictim(cluster, 2);
      if (origin < 0) return;
      // At once (the whole fan-out still in flight), or within 2 ms.
      const absl::Duration delay =
          at_once ? absl::ZeroDuration()
                  : absl::Microseconds(2000 * cluster.Uniform());
      cluster.PublishThenCrash(origin, delay);
    });
  }
}

// Churn keeps n00 up as a stable seed that every node is configured with:
// a node whose every seed is gone, and that nobody knows, is cut off for
// good (a configuration problem, not a protocol one).
constexpr int kStableSeed = 0;

// A running node other than the stable seed, or -1 when stopping one would
// leave fewer than `keep`.
int PickChurnVictim(ClusterSim& cluster, int keep) {
  std::vector<int> running = cluster.Running();
  if (static_cast<int>(running.size()) <= keep) return -1;
  running.erase(std::remove(running.begin(), running.end(), kStableSeed),
                running.end());
  return PickFrom(cluster, running);
}

void ChurnEvent(ClusterSim& cluster, int nodes) {
  const int keep = std::max(2, nodes / 2);
  std::vector<int> down;
  for (int slot = 0; slot < cluster.size(); ++slot) {
    if (!cluster.IsUp(slot)) down.push_back(slot);
  }
  switch (static_cast<int>(cluster.Uniform() * 6)) {
    case 0:
      if (int victim = PickChurnVictim(cluster, keep); victim >= 0) {
        cluster.Crash(victim);
      }
      break;
    case 1:
      if (int slot = PickFrom(cluster, down); slot >= 0) {
        cluster.Restart(slot);
      }
      break;
    case 2:
      if (cluster.size() < nodes + nodes / 2 + 1) {
        if (int seed = PickFrom(cluster, cluster.Running()); seed >= 0) {
          cluster.Join({seed, kStableSeed});
        }
      }
      break;
    case 3:
      if (int leaver = PickChurnVictim(cluster, keep); leaver >= 0) {
        cluster.Leave(leaver);
      }
      break;
    case 4:
      if (int victim = PickVictim(cluster, 1); victim >= 0) {
        cluster.Pause(victim,
                      absl::Milliseconds(100 + 400 * cluster.Uniform()));
      }
      break;
    default:
      if (int origin = PickChurnVictim(cluster, keep); origin >= 0) {
        cluster.PublishThenCrash(origin,
                                 absl::Microseconds(2000 * cluster.Uniform()));
      }
      break;
  }
}

void ChurnScript(ClusterSim& cluster, const Timeline& timeline, int nodes) {
  for (int slot = 0; slot < cluster.size(); ++slot) {
    std::vector<int> seeds = cluster.seeds(slot);
    if (slot != kStableSeed &&
        std::find(seeds.begin(), seeds.end(), kStableSeed) == seeds.end()) {
      seeds.push_back(kStableSeed);
    }
    cluster.ConfigureSeeds(slot, std::move(seeds));
  }
  // About one event a second; the last ones have 3 s to play out.
  const absl::Time last = timeline.settle_begin - absl::Seconds(3);
  for (absl::Time at = timeline.faults_begin; at < last;
       at += absl::Seconds(-std::log(1 - cluster.Uniform()))) {
    cluster.At(at, [&cluster, nodes] { ChurnEvent(cluster, nodes); });
  }
}

using Script = void (*)(ClusterSim& cluster, const Timeline& timeline,
                        int nodes);

struct NamedScript {
  const char* name;
  Script script;
};

// In the order "all" runs them.
constexpr NamedScript kScripts[] = {
    {"crash", CrashScript},
    {"pause", PauseScript},
    {"restart", RestartScript},
    {"join", JoinScript},
    {"leave", LeaveScript},
    {"partition", PartitionScript},
    {"origin-crash", OriginCrashScript},
    {"churn", ChurnScript},
};

}  // namespace

const std::vector<std::string>& ScenarioNames() {
  static const auto* names = [] {
    auto* names = new std::vector<std::string>;
    for (const NamedScript& named : kScripts) names->push_back(named.name);
    return names;
  }();
  return *names;
}

absl::Status ValidateScenarioOptions(const ScenarioOptions& options) {
  if (options.nodes < 3 || options.nodes > kMaxNodes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "nodes must be in [3, %d], got %d", kMaxNodes, options.nodes));
  }
  if (!(options.loss >= 0 && options.loss < 1)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("loss must be in [0, 1), got %g", options.loss));
  }
  if (!(options.publish_rate >= 0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "publish_rate must be at least 0, got %g", options.publish_rate));
  }
  if (options.duration < kMinDuration) {
    return absl::InvalidArgumentError(
        absl::StrFormat("duration must be at least %d s, got %s",
                        absl::ToInt64Seconds(kMinDuration),
                        absl::FormatDuration(options.duration)));
  }
  return absl::OkStatus();
}

ClusterOptions ClusterOptionsFor(const ScenarioOptions& options) {
  ClusterOptions cluster;
  cluster.nodes = options.nodes;
  cluster.seed = options.seed;
  cluster.network.loss = options.loss;
  cluster.publish_rate = options.publish_rate;
  cluster.trace = options.trace;
  return cluster;
}

SimFigures SettleAndFinish(ClusterSim& cluster, absl::Time end) {
  cluster.At(end - kSettle, [&cluster] {
    cluster.SetLoss(0);
    cluster.Heal();
  });
  cluster.At(end - kAppsStopBeforeEnd, [&cluster] { cluster.StopApps(); });
  cluster.RunUntil(end);
  return cluster.Finish();
}

absl::StatusOr<SimFigures> RunScenario(const std::string& name,
                                       const ScenarioOptions& options) {
  if (absl::Status valid = ValidateScenarioOptions(options); !valid.ok()) {
    return valid;
  }
  auto script = std::find_if(
      std::begin(kScripts), std::end(kScripts),
      [&name](const NamedScript& named) { return name == named.name; });
  if (script == std::end(kScripts)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown scenario \"%s\"; known: all, %s", name,
                        absl::StrJoin(ScenarioNames(), ", ")));
  }
  const absl::Time wall_start = absl::Now();
  ClusterSim cluster(ClusterOptionsFor(options));
  Timeline timeline;
  timeline.faults_begin = cluster.start() + kWarmup;
  timeline.end = cluster.start() + options.duration;
  timeline.settle_begin = timeline.end - kSettle;
  script->script(cluster, timeline, options.nodes);
  SimFigures figures = SettleAndFinish(cluster, timeline.end);
  figures.scenario = name;
  figures.loss = options.loss;
  figures.wall = absl::Now() - wall_start;
  return figures;
}

}  // namespace sim
}  // namespace cachemesh
