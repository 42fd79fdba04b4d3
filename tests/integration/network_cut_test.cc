// A node that cannot hear one peer (a one-way cut) must take itself out of
// the load balancer: /health answers 503 naming the peer, while the peer's
// invalidations still reach it through a relay. When the cut heals, it is
// ready again.
//
// The real cut runs in a private network namespace (unshare -n, as root):
// node i lives on 127.0.0.(i+1), and iptables drops what n1's cache port
// sends to n2, silently, as a broken firewall would. n1 still hears n2. Where
// a namespace cannot be made, the test-only switch --testonly_deaf_to stands
// in for the cut.
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_cluster.h"

namespace cachemesh::testing {
namespace {

int Shell(const std::string& command) { return RunShell(command).first; }

bool NotHeardFrom(DaemonProcess& node, const std::string& peer) {
  const DaemonProcess::Reply health = node.Get("/health");
  return health.status == 503 &&
         health.body.find(absl::StrCat("member ", peer, " is ALIVE to others "
                                                        "but not heard here")) !=
             std::string::npos;
}

// Publishes on n1 and checks n2, which cannot hear n1, still gets it (from
// n0, which relays n1's stream when n2 asks).
void ExpectRelayedToTheCutNode(TestCluster& cluster) {
  SseReader reader(cluster.node(2).spec().http_port);
  ASSERT_EQ(cluster.node(1)
                .Post("/v1/invalidations", InvalidationJson("across-the-cut"))
                .status,
            202);
  ASSERT_TRUE(reader.WaitForCount(1, absl::Seconds(5))) << cluster.Logs();
  const SseReader::Event event = reader.events()[0];
  EXPECT_EQ(event.event.invalidation().key(), "across-the-cut");
  EXPECT_EQ(event.event.origin_id(), "n1");
}

TEST(NetworkCutTest, OneWayCutTakesTheNodeOutUntilItHeals) {
  if (!InPrivateNetwork()) {
    if (!CanMakePrivateNetwork() || access("/usr/sbin/iptables", X_OK) != 0) {
      GTEST_SKIP() << "needs root, unshare -n and iptables; "
                      "TestOnlySwitchCutsOnePeer covers the logic";
    }
    EXPECT_EQ(RerunInPrivateNetwork(
                  "NetworkCutTest.OneWayCutTakesTheNodeOutUntilItHeals"),
              0);
    return;
  }
  ASSERT_EQ(Shell("ip link set lo up"), 0);
  TestCluster cluster;
  std::string why;
  ASSERT_TRUE(cluster.Start(
      3,
      [](int i, DaemonSpec& spec) {
        spec.host = absl::StrCat("127.0.0.", i + 1);
      },
      &why))
      << why;
  ASSERT_TRUE(WaitUntil([&] { return cluster.node(2).HealthStatus() == 200; },
                        absl::Seconds(6)));

  const std::string rule = absl::StrCat(
      "INPUT -p tcp -s ", cluster.node(1).spec().host, " --sport ",
      cluster.node(1).spec().cache_port, " -d ", cluster.node(2).spec().host,
      " -j DROP");
  ASSERT_EQ(Shell("iptables -A " + rule), 0);
  EXPECT_TRUE(WaitUntil([&] { return NotHeardFrom(cluster.node(2), "n1"); },
                        absl::Seconds(5)))
      << cluster.node(2).Get("/health").body << cluster.Logs();
  EXPECT_EQ(cluster.node(0).HealthStatus(), 200);
  EXPECT_EQ(cluster.node(1).HealthStatus(), 200);
  EXPECT_EQ(cluster.node(0).StateOf("n1"), v1::ALIVE);
  ExpectRelayedToTheCutNode(cluster);

  ASSERT_EQ(Shell("iptables -D " + rule), 0);
  EXPECT_TRUE(WaitUntil([&] { return cluster.node(2).HealthStatus() == 200; },
                        absl::Seconds(5)))
      << cluster.node(2).Get("/health").body;
}

TEST(NetworkCutTest, TestOnlySwitchCutsOnePeer) {
  TestCluster cluster;
  std::string why;
  // n2 drops everything n1 sends; it learns of n1 from n0's gossip only.
  ASSERT_TRUE(cluster.Start(
      3,
      [](int i, DaemonSpec& spec) {
        if (i == 2) spec.flags = {"--testonly_deaf_to=n1"};
      },
      &why))
      << why;
  EXPECT_TRUE(WaitUntil([&] { return NotHeardFrom(cluster.node(2), "n1"); },
                        absl::Seconds(8)))
      << cluster.node(2).Get("/health").body << cluster.Logs();
  EXPECT_EQ(cluster.node(0).HealthStatus(), 200);
  EXPECT_EQ(cluster.node(1).HealthStatus(), 200);
  ExpectRelayedToTheCutNode(cluster);
}

}  // namespace
}  // namespace cachemesh::testing
