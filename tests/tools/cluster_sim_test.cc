// Property tests of the cachemesh protocol in the cluster simulator: five
// nodes, many seeds. Every run must keep the guarantees (no silent loss, no
// duplicate or out-of-order delivery, no false DEAD, views converge), plus
// the property each test is about.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/sim/cluster.h"
#include "tools/sim/figures.h"
#include "tools/sim/scenarios.h"

namespace cachemesh {
namespace sim {
namespace {

constexpr int kNodes = 5;
constexpr uint64_t kSeeds = 20;

ClusterOptions Options(uint64_t seed, double loss = 0) {
  ClusterOptions options;
  options.nodes = kNodes;
  options.seed = seed;
  options.network.loss = loss;
  return options;
}

absl::Time At(const ClusterSim& cluster, double seconds) {
  return cluster.start() + absl::Seconds(seconds);
}

void ExpectGuarantees(const SimFigures& figures) {
  const std::string details = FormatFigures(figures);
  EXPECT_EQ(figures.invalidations.silent_losses, 0) << details;
  EXPECT_EQ(figures.invalidations.duplicates, 0) << details;
  EXPECT_EQ(figures.invalidations.out_of_order, 0) << details;
  EXPECT_EQ(figures.invalidations.corrupt, 0) << details;
  EXPECT_EQ(figures.membership.false_dead, 0) << details;
  EXPECT_TRUE(figures.converged_at_end) << details;
  EXPECT_TRUE(Passed(figures)) << details;
}

// How `observer` sees `subject` right now; UNSPECIFIED if not at all.
v1::MemberView ViewOf(const ClusterSim& cluster, int observer, int subject) {
  for (const v1::MemberView& view :
       cluster.node(observer)->Members(cluster.now())) {
    if (view.id() == cluster.id(subject)) return view;
  }
  return v1::MemberView();
}

// Every running node other than `subject` sees it in `state` (and, if
// given, with instance `instance`).
void ExpectSeenEverywhereAs(const ClusterSim& cluster, int subject,
                            v1::MemberState state, uint64_t instance = 0) {
  for (int observer : cluster.Running()) {
    if (observer == subject) continue;
    const v1::MemberView view = ViewOf(cluster, observer, subject);
    EXPECT_EQ(view.state(), state)
        << cluster.id(observer) << " sees " << cluster.id(subject) << " as "
        << v1::MemberState_Name(view.state());
    if (instance != 0) {
      EXPECT_EQ(view.instance_id(), instance) << cluster.id(observer);
    }
  }
}

TEST(ClusterSimTest, CrashIsDeadEverywhereWithinTwoSeconds) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    ClusterSim cluster(Options(seed));
    const int victim = static_cast<int>(seed % kNodes);
    cluster.At(At(cluster, 6), [&] { cluster.Crash(victim); });
    cluster.RunUntil(At(cluster, 8));
    ExpectSeenEverywhereAs(cluster, victim, v1::DEAD);
    const SimFigures figures = SettleAndFinish(cluster, At(cluster, 15));
    ExpectGuarantees(figures);
    EXPECT_EQ(figures.membership.crashes, 1);
    ASSERT_EQ(figures.membership.detections.size(), 1);
    EXPECT_LE(figures.membership.detections[0], absl::Seconds(2));
    EXPECT_EQ(figures.membership.undetected, 0);
  }
}

TEST(ClusterSimTest, PausedNodeIsNeverDeadAnywhere) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    ClusterSim cluster(Options(seed));
    const int paused = static_cast<int>(seed % kNodes);
    cluster.At(At(cluster, 6),
               [&] { cluster.Pause(paused, absl::Milliseconds(500)); });
    cluster.RunUntil(At(cluster, 6.4));
    EXPECT_TRUE(cluster.IsPaused(paused));
    cluster.RunUntil(At(cluster, 7));
    EXPECT_FALSE(cluster.IsPaused(paused));
    // Lifeguard: the node noticed that it was the one that stalled.
    EXPECT_GE(cluster.node(paused)->stats().late_ticks, 1);
    ExpectSeenEverywhereAs(cluster, paused, v1::ALIVE);
    const SimFigures figures = SettleAndFinish(cluster, At(cluster, 15));
    ExpectGuarantees(figures);
    EXPECT_EQ(figures.membership.excused_dead, 0);
  }
}

TEST(ClusterSimTest, RestartIsAcceptedAsAliveAgain) {
  // Back before anyone could call it DEAD, and well after.
  for (absl::Duration downtime : {absl::Milliseconds(300), absl::Seconds(3)}) {
    for (uint64_t seed = 1; seed <= kSeeds / 2; ++seed) {
      SCOPED_TRACE(seed);
      ClusterSim cluster(Options(seed));
      const int victim = static_cast<int>(seed % kNodes);
      cluster.At(At(cluster, 6), [&] { cluster.Crash(victim); });
      cluster.At(At(cluster, 6) + downtime, [&] { cluster.Restart(victim); });
      cluster.RunUntil(At(cluster, 6) + downtime + absl::Seconds(1));
      ExpectSeenEverywhereAs(cluster, victim, v1::ALIVE,
                             cluster.node(victim)->options().instance_id);
      const SimFigures figures = SettleAndFinish(cluster, At(cluster, 16));
      ExpectGuarantees(figures);
      EXPECT_EQ(figures.membership.undetected, 0);
    }
  }
}

TEST(ClusterSimTest, OneSeedJoinLearnsTheWholeCluster) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    ClusterSim cluster(Options(seed));
    int joiner = -1;
    cluster.At(At(cluster, 6), [&] {
      joiner = cluster.Join({static_cast<int>(seed % kNodes)});
    });
    cluster.RunUntil(At(cluster, 7));
    ASSERT_EQ(joiner, kNodes);
    for (int member : cluster.Running()) {
      if (member == joiner) continue;
      EXPECT_EQ(ViewOf(cluster, joiner, member).state(), v1::ALIVE)
          << cluster.id(member);
    }
    ExpectSeenEverywhereAs(cluster, joiner, v1::ALIVE);
    const SimFigures figures = SettleAndFinish(cluster, At(cluster, 15));
    ExpectGuarantees(figures);
    // The joiner owed (and got) the others' invalidations after its grace.
    EXPECT_GT(figures.invalidations.obligations, 0);
  }
}

TEST(ClusterSimTest, GracefulLeaveIsLeftEverywhere) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    ClusterSim cluster(Options(seed));
    const int leaver = static_cast<int>(seed % kNodes);
    cluster.At(At(cluster, 6), [&] { cluster.Leave(leaver); });
    cluster.RunUntil(At(cluster, 6.1));
    EXPECT_FALSE(cluster.IsUp(leaver));
    ExpectSeenEverywhereAs(cluster, leaver, v1::LEFT);
    const SimFigures figures = SettleAndFinish(cluster, At(cluster, 15));
    ExpectGuarantees(figures);
    EXPECT_EQ(figures.membership.leaves, 1);
    EXPECT_EQ(figures.membership.leaves_missed, 0);
  }
}

TEST(ClusterSimTest, PartitionsHealWithoutLoss) {
  uint64_t recovered = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    ClusterSim cluster(Options(seed));
    const std::vector<int> left = {0, 1};
    const std::vector<int> right = {2, 3, 4};
    // Symmetric for 3 s, then {0, 1} deaf to the others for 3 s.
    cluster.At(At(cluster, 6), [&] { cluster.Partition(left, right, false); });
    cluster.At(At(cluster, 9), [&] { cluster.Heal(); });
    cluster.At(At(cluster, 11), [&] { cluster.Partition(right, left, true); });
    cluster.At(At(cluster, 14), [&] { cluster.Heal(); });
    const SimFigures figures = SettleAndFinish(cluster, At(cluster, 22));
    ExpectGuarantees(figures);
    EXPECT_EQ(figures.membership.unconverged, 0);
    recovered += figures.invalidations.recovered;
  }
  // What was published across the cut came back by retransmission.
  EXPECT_GT(recovered, 0);
}

TEST(ClusterSimTest, OriginCrashRightAfterPublishingIsCoveredByRelays) {
  uint64_t cut_by_crash = 0, recovered = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    ClusterSim cluster(Options(seed));
    const int origin = static_cast<int>(seed % kNodes);
    cluster.At(At(cluster, 6),
               [&] { cluster.PublishThenCrash(origin, absl::ZeroDuration()); });
    const SimFigures figures = SettleAndFinish(cluster, At(cluster, 15));
    ExpectGuarantees(figures);
    EXPECT_FALSE(cluster.IsUp(origin));
    // Its first delivery always arrives, so every invalidation is owed.
    EXPECT_EQ(figures.invalidations.unrecoverable, 0);
    EXPECT_EQ(figures.membership.undetected, 0);
    cut_by_crash += figures.traffic.cut_by_crash;
    recovered += figures.invalidations.recovered;
  }
  // Some fan-outs were cut short, and relays filled the holes.
  EXPECT_GT(cut_by_crash, 0);
  EXPECT_GT(recovered, 0);
}

TEST(ClusterSimTest, FivePercentLossLosesNothing) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    ClusterSim cluster(Options(seed, /*loss=*/0.05));
    const SimFigures figures = SettleAndFinish(cluster, At(cluster, 15));
    ExpectGuarantees(figures);
    EXPECT_GT(figures.traffic.lost, 0);
    EXPECT_GT(figures.invalidations.recovered, 0);
  }
}

TEST(ClusterSimTest, SameSeedSameRun) {
  auto run = [](uint64_t seed) {
    ClusterSim cluster(Options(seed, /*loss=*/0.05));
    cluster.At(At(cluster, 6), [&] { cluster.Crash(2); });
    return SettleAndFinish(cluster, At(cluster, 12));
  };
  const SimFigures first = run(4);
  const SimFigures again = run(4);
  const SimFigures other = run(5);
  EXPECT_EQ(first.events, again.events);
  EXPECT_EQ(SummaryLine(first), SummaryLine(again));
  EXPECT_EQ(first.traffic.bytes, again.traffic.bytes);
  EXPECT_NE(first.traffic.bytes, other.traffic.bytes);
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh
