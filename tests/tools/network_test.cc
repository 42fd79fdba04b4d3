#include "tools/sim/network.h"

#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace sim {
namespace {

const absl::Time kNow = absl::UnixEpoch() + absl::Seconds(1000);

SimNetwork ThreeNodes(const NetworkOptions& options, uint64_t seed = 1) {
  SimNetwork network(options, seed);
  for (int i = 0; i < 3; ++i) network.AddNode();
  return network;
}

TEST(SimNetworkTest, DelayIsLatencyPlusOrMinusJitter) {
  SimNetwork network = ThreeNodes({});
  for (int i = 0; i < 1000; ++i) {
    const std::optional<absl::Time> at = network.Send(0, 1, kNow);
    ASSERT_TRUE(at.has_value());
    // FIFO may hold a message back behind an earlier, slower one.
    EXPECT_GE(*at - kNow, absl::Microseconds(100));
    EXPECT_LE(*at - kNow, absl::Microseconds(300));
  }
}

TEST(SimNetworkTest, LinksAreFifo) {
  NetworkOptions options;
  options.jitter = absl::Microseconds(200);
  SimNetwork network = ThreeNodes(options);
  absl::Time last = absl::InfinitePast();
  for (int i = 0; i < 1000; ++i) {
    const absl::Time sent = kNow + absl::Microseconds(i);
    const absl::Time at = *network.Send(0, 1, sent);
    EXPECT_GE(at, last);
    last = at;
  }
}

TEST(SimNetworkTest, LossIsRoughlyTheRateAndSeeded) {
  NetworkOptions options;
  options.loss = 0.2;
  auto losses = [&](uint64_t seed) {
    SimNetwork network = ThreeNodes(options, seed);
    std::vector<bool> lost;
    for (int i = 0; i < 10000; ++i) {
      lost.push_back(!network.Send(0, 1, kNow).has_value());
    }
    return lost;
  };
  const std::vector<bool> first = losses(7);
  EXPECT_EQ(first, losses(7));
  EXPECT_NE(first, losses(8));
  int lost = 0;
  for (bool one : first) lost += one;
  EXPECT_NEAR(lost, 2000, 200);
}

TEST(SimNetworkTest, ReliableSendIgnoresLossButNotCuts) {
  NetworkOptions options;
  options.loss = 0.99;
  SimNetwork network = ThreeNodes(options);
  EXPECT_TRUE(network.SendReliably(0, 1, kNow).has_value());
  network.Cut(0, 1);
  EXPECT_FALSE(network.SendReliably(0, 1, kNow).has_value());
}

TEST(SimNetworkTest, CutIsOneWayAndHeals) {
  SimNetwork network = ThreeNodes({});
  network.Cut(0, 1);
  EXPECT_TRUE(network.AnyCut());
  EXPECT_FALSE(network.Send(0, 1, kNow).has_value());
  EXPECT_TRUE(network.Send(1, 0, kNow).has_value());
  EXPECT_EQ(network.stats().cut, 1);
  network.HealAll(kNow + absl::Seconds(1));
  EXPECT_FALSE(network.AnyCut());
  EXPECT_TRUE(network.Send(0, 1, kNow + absl::Seconds(1)).has_value());
}

TEST(SimNetworkTest, CutRecentlyCoversTheCutAndAWindowAfterIt) {
  SimNetwork network = ThreeNodes({});
  const absl::Duration window = absl::Seconds(5);
  EXPECT_FALSE(network.CutRecently(1, kNow, window));
  network.Cut(0, 1);
  EXPECT_TRUE(network.CutRecently(0, kNow, window));
  EXPECT_TRUE(network.CutRecently(1, kNow, window));
  EXPECT_FALSE(network.CutRecently(2, kNow, window));
  network.HealAll(kNow + absl::Seconds(1));
  EXPECT_TRUE(network.CutRecently(1, kNow + absl::Seconds(6), window));
  EXPECT_FALSE(network.CutRecently(1, kNow + absl::Seconds(7), window));
}

TEST(SimNetworkTest, AddedNodesGetLinks) {
  SimNetwork network = ThreeNodes({});
  network.Cut(2, 0);
  EXPECT_EQ(network.AddNode(), 3);
  EXPECT_TRUE(network.Send(3, 0, kNow).has_value());
  EXPECT_TRUE(network.Send(0, 3, kNow).has_value());
  EXPECT_TRUE(network.IsCut(2, 0));
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh
