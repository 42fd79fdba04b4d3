// Property tests at 64 nodes, in the cluster simulator. Apps publish at a
// lower rate than elsewhere to keep the test to a few seconds.
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tools/sim/cluster.h"
#include "tools/sim/figures.h"
#include "tools/sim/scenarios.h"

namespace cachemesh {
namespace sim {
namespace {

constexpr int kNodes = 64;

TEST(LargeClusterTest, CrashPauseAndOneSeedJoinAtSixtyFourNodes) {
  ClusterOptions options;
  options.nodes = kNodes;
  options.seed = 1;
  options.publish_rate = 4;
  options.network.loss = 0.01;
  ClusterSim cluster(options);
  const absl::Time start = cluster.start();
  cluster.At(start + absl::Seconds(3.5), [&] { cluster.Crash(10); });
  cluster.At(start + absl::Seconds(4),
             [&] { cluster.Pause(30, absl::Milliseconds(500)); });
  int joiner = -1;
  cluster.At(start + absl::Seconds(4.5), [&] { joiner = cluster.Join({20}); });
  cluster.RunUntil(start + absl::Seconds(6.5));

  // The joiner, seeded with one node, knows every running node after 2 s.
  ASSERT_EQ(joiner, kNodes);
  int alive = 0;
  for (const v1::MemberView& view :
       cluster.node(joiner)->Members(cluster.now())) {
    alive += !view.self() && view.state() == v1::ALIVE;
  }
  EXPECT_EQ(alive, static_cast<int>(cluster.Running().size()) - 1);

  const SimFigures figures =
      SettleAndFinish(cluster, start + absl::Seconds(10));
  const std::string details = FormatFigures(figures);
  EXPECT_TRUE(Passed(figures)) << details;
  EXPECT_EQ(figures.invalidations.silent_losses, 0) << details;
  EXPECT_EQ(figures.membership.false_dead, 0) << details;
  ASSERT_EQ(figures.membership.detections.size(), 1) << details;
  EXPECT_LE(figures.membership.detections[0], absl::Seconds(2)) << details;
  EXPECT_GT(figures.invalidations.recovered, 0) << details;
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh
