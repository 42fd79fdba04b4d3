// The node state machine on a perfect in-memory network: membership,
// failure detection, refutation, restart, leave, and loss-proof delivery.
#include "core/node.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/mini_cluster.h"
#include "tests/fixtures.h"

namespace cachemesh {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using test::Update;

std::vector<std::string> DeliveredKeys(const MiniCluster& cluster, int i) {
  std::vector<std::string> keys;
  for (const AppDelivery& delivery : cluster.deliveries(i)) {
    if (delivery.kind == v1::AppEvent::INVALIDATION) {
      keys.push_back(delivery.invalidation->key());
    }
  }
  return keys;
}

int Flushes(const MiniCluster& cluster, int i) {
  int flushes = 0;
  for (const AppDelivery& delivery : cluster.deliveries(i)) {
    flushes += delivery.kind == v1::AppEvent::FLUSH;
  }
  return flushes;
}

void Publish(MiniCluster& cluster, int i, std::vector<std::string> keys) {
  std::vector<v1::Invalidation> invalidations;
  for (const std::string& key : keys) invalidations.push_back(Update(key));
  ASSERT_TRUE(cluster.node(i).Publish(invalidations, cluster.now()).ok());
}

bool IsBatch(const v1::Envelope& envelope) { return envelope.has_batch(); }

TEST(NodeTest, OneSeedLearnsTheWholeClusterByGossip) {
  MiniCluster cluster(4, NodeOptions());  // Everyone is seeded with n0 only.
  cluster.Run(absl::Seconds(2));
  for (int observer = 0; observer < 4; ++observer) {
    for (int member = 0; member < 4; ++member) {
      EXPECT_EQ(cluster.StateOf(observer, member), v1::ALIVE)
          << observer << " sees " << member;
    }
    EXPECT_TRUE(cluster.node(observer).Synced(cluster.now()));
    EXPECT_THAT(cluster.node(observer).UntrustedReasons(cluster.now()),
                IsEmpty());
  }
}

TEST(NodeTest, CrashedNodeIsDeadEverywhereWithinTwoSeconds) {
  MiniCluster cluster(5, NodeOptions());
  cluster.Run(absl::Seconds(2));
  cluster.Crash(3);
  cluster.Run(absl::Milliseconds(550));
  for (int observer : {0, 1, 2, 4}) {
    EXPECT_EQ(cluster.StateOf(observer, 3), v1::ALIVE) << observer;
  }
  cluster.Run(absl::Milliseconds(1450));
  for (int observer : {0, 1, 2, 4}) {
    EXPECT_EQ(cluster.StateOf(observer, 3), v1::DEAD) << observer;
  }
}

TEST(NodeTest, PausedNodeIsNeverDeadAndPausedObserverAccusesNobody) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(2));
  cluster.Run(absl::Milliseconds(500), /*paused=*/{1});
  cluster.Run(absl::Seconds(2));
  for (int observer = 0; observer < 3; ++observer) {
    for (const MembershipChange& change : cluster.changes(observer)) {
      EXPECT_NE(change.to, v1::DEAD) << observer << " " << change.reason;
      EXPECT_NE(change.to, v1::SUSPECT) << observer << " " << change.reason;
    }
  }
  EXPECT_GE(cluster.node(1).stats().late_ticks, 1u);
  EXPECT_GE(cluster.node(1).stats().max_tick_lateness, absl::Milliseconds(450));
}

TEST(NodeTest, LocalHealthRecoversOnTimeAfterAPause) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  cluster.Run(absl::Milliseconds(500), /*paused=*/{1});
  cluster.Run(absl::Milliseconds(100));
  EXPECT_GE(cluster.node(1).stats().local_health, 1);
  cluster.Run(absl::Seconds(3));  // On-time ticks count as good ones.
  EXPECT_EQ(cluster.node(1).stats().local_health, 0);
}

TEST(NodeTest, SuspectedNodeRefutesWithAHigherIncarnation) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  // n2 cannot hear n1 for a while: it suspects n1, and n1 refutes.
  cluster.SetFilter([](int from, int to, const v1::Envelope&) {
    return !(from == 1 && to == 2);
  });
  cluster.Run(absl::Seconds(1));
  cluster.SetFilter(nullptr);
  cluster.Run(absl::Milliseconds(500));
  EXPECT_GT(cluster.node(1).Members(cluster.now())[0].incarnation(), 1u);
  EXPECT_EQ(cluster.StateOf(0, 1), v1::ALIVE);
  EXPECT_EQ(cluster.StateOf(2, 1), v1::ALIVE);
}

TEST(NodeTest, UnheardMemberThatOthersVouchForMakesTheCacheUntrusted) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  cluster.SetFilter([](int from, int to, const v1::Envelope&) {
    return !(from == 1 && to == 2);
  });
  cluster.Run(absl::Seconds(3));
  EXPECT_EQ(cluster.StateOf(2, 1), v1::ALIVE);  // Others vouch for n1...
  const std::vector<std::string> reasons =
      cluster.node(2).UntrustedReasons(cluster.now());
  ASSERT_EQ(reasons.size(), 1u);  // ...but n2 has not heard it.
  EXPECT_THAT(reasons[0], ::testing::HasSubstr("member n1 is ALIVE"));
  EXPECT_THAT(cluster.node(0).UntrustedReasons(cluster.now()), IsEmpty());
}

TEST(NodeTest, RestartedNodeIsAliveAtOnceNeverStuckDead) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  cluster.Crash(2);
  cluster.Run(absl::Seconds(2));
  ASSERT_EQ(cluster.StateOf(0, 2), v1::DEAD);
  cluster.Start(2);
  cluster.Run(absl::Milliseconds(60));
  EXPECT_EQ(cluster.StateOf(0, 2), v1::ALIVE);
  EXPECT_EQ(cluster.StateOf(1, 2), v1::ALIVE);
  EXPECT_EQ(cluster.StateOf(2, 0), v1::ALIVE);
}

TEST(NodeTest, GracefulLeaveIsLeftAtOnce) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  cluster.node(1).Leave(cluster.now());
  cluster.Pump();
  EXPECT_EQ(cluster.StateOf(0, 1), v1::LEFT);
  EXPECT_EQ(cluster.StateOf(2, 1), v1::LEFT);
  cluster.Crash(1);
  cluster.Run(absl::Seconds(2));
  EXPECT_EQ(cluster.StateOf(0, 1), v1::LEFT);  // Not DEAD afterwards.
}

TEST(NodeTest, DeadMembersAreReaped) {
  NodeOptions options;
  options.reap_after = absl::Seconds(3);
  MiniCluster cluster(3, options);
  cluster.Run(absl::Seconds(1));
  cluster.Crash(2);
  cluster.Run(absl::Seconds(5));
  EXPECT_EQ(cluster.StateOf(0, 2), v1::MEMBER_STATE_UNSPECIFIED);
  EXPECT_EQ(cluster.node(0).Members(cluster.now()).size(), 2u);
}

TEST(NodeTest, InvalidationsReachOthersInOrderAndAreNotEchoed) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  Publish(cluster, 0, {"a", "b"});
  Publish(cluster, 0, {"c"});
  cluster.Run(absl::Milliseconds(10));
  EXPECT_THAT(DeliveredKeys(cluster, 1), ElementsAre("a", "b", "c"));
  EXPECT_THAT(DeliveredKeys(cluster, 2), ElementsAre("a", "b", "c"));
  EXPECT_THAT(DeliveredKeys(cluster, 0), IsEmpty());
  EXPECT_EQ(cluster.node(0).stats().invalidations_published, 3u);
}

TEST(NodeTest, PublishesWithinTheWindowShareOneBatch) {
  MiniCluster cluster(2, NodeOptions());
  cluster.Run(absl::Seconds(1));
  int batches = 0;
  cluster.SetFilter([&](int, int, const v1::Envelope& envelope) {
    batches += IsBatch(envelope);
    return true;
  });
  for (int i = 0; i < 10; ++i) Publish(cluster, 0, {absl::StrCat("k", i)});
  cluster.Run(absl::Milliseconds(5));
  EXPECT_EQ(batches, 1);
  EXPECT_EQ(DeliveredKeys(cluster, 1).size(), 10u);
}

TEST(NodeTest, RejectsInvalidPublishesNamingTheField) {
  MiniCluster cluster(1, NodeOptions());
  v1::Invalidation missing_region = Update("k");
  missing_region.clear_region();
  const absl::Status status =
      cluster.node(0).Publish({missing_region}, cluster.now());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalidations[0].region is empty");
}

TEST(NodeTest, LostBatchIsRecoveredByNack) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  bool drop = true;
  cluster.SetFilter([&](int from, int to, const v1::Envelope& envelope) {
    return !(drop && from == 0 && to == 2 && IsBatch(envelope));
  });
  Publish(cluster, 0, {"a", "b"});
  cluster.Run(absl::Milliseconds(5));
  drop = false;
  EXPECT_THAT(DeliveredKeys(cluster, 2), IsEmpty());
  cluster.Run(absl::Milliseconds(300));  // The next heartbeat shows the gap.
  EXPECT_THAT(DeliveredKeys(cluster, 2), ElementsAre("a", "b"));
  EXPECT_TRUE(cluster.deliveries(2)[0].recovered);
  EXPECT_GE(cluster.node(2).stats().nacks_sent, 1u);
  EXPECT_EQ(Flushes(cluster, 2), 0);
}

TEST(NodeTest, EvictedRangeIsAnsweredGoneAndFlushed) {
  NodeOptions options;
  options.streams.recovery_buffer = 4;
  MiniCluster cluster(3, options);
  cluster.Run(absl::Seconds(1));
  bool drop = true;
  cluster.SetFilter([&](int from, int to, const v1::Envelope& envelope) {
    return !(drop && from == 0 && to == 2 && IsBatch(envelope));
  });
  Publish(cluster, 0, {"a", "b", "c", "d", "e", "f"});
  cluster.Run(absl::Milliseconds(5));
  drop = false;
  Publish(cluster, 0, {"g"});
  cluster.Run(absl::Milliseconds(300));
  // Seqs 1-2 fell out of the ring: FLUSH covers them, then 3.. arrive.
  ASSERT_GE(cluster.deliveries(2).size(), 1u);
  const AppDelivery& flush = cluster.deliveries(2)[0];
  EXPECT_EQ(flush.kind, v1::AppEvent::FLUSH);
  EXPECT_EQ(flush.flushed_from, 1u);
  EXPECT_GE(flush.flushed_to, 2u);
  EXPECT_THAT(flush.reason, ::testing::HasSubstr("no longer holds"));
  EXPECT_EQ(DeliveredKeys(cluster, 2).back(), "g");
  EXPECT_EQ(Flushes(cluster, 2), 1);
}

TEST(NodeTest, OriginCrashAfterPublishIsRecoveredFromARelay) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  cluster.SetFilter([&](int from, int to, const v1::Envelope& envelope) {
    return !(from == 0 && to == 2 && IsBatch(envelope));
  });
  Publish(cluster, 0, {"a", "b", "c"});
  cluster.Run(absl::Milliseconds(1));
  cluster.Crash(0);  // Only n1 got the batch.
  cluster.SetFilter(nullptr);
  cluster.Run(absl::Seconds(3));
  EXPECT_THAT(DeliveredKeys(cluster, 2), ElementsAre("a", "b", "c"));
  EXPECT_EQ(Flushes(cluster, 2), 0);
}

TEST(NodeTest, OnlyHolderCrashingAfterTheOriginStillLeadsToFlush) {
  MiniCluster cluster(4, NodeOptions());
  cluster.Run(absl::Seconds(1));
  // n0 publishes; only n1 gets it; n0 dies before its next heartbeat, and n1
  // dies before anyone suspects n0. n1 must have spoken up in between.
  cluster.SetFilter([&](int from, int to, const v1::Envelope& envelope) {
    return !(from == 0 && to != 1 && IsBatch(envelope));
  });
  Publish(cluster, 0, {"a"});
  cluster.Run(absl::Milliseconds(1));
  cluster.Crash(0);
  cluster.Run(absl::Milliseconds(200));
  cluster.Crash(1);
  cluster.SetFilter(nullptr);
  cluster.Run(absl::Seconds(4));
  for (int receiver : {2, 3}) {
    ASSERT_EQ(Flushes(cluster, receiver), 1) << receiver;
    EXPECT_EQ(cluster.deliveries(receiver)[0].flushed_to, 1u);
  }
}

TEST(NodeTest, UnrecoverableLossAfterOriginCrashIsFlushed) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  // Nobody gets the batch, but n0's next heartbeat tells n1 and n2 it exists.
  cluster.SetFilter([&](int from, int, const v1::Envelope& envelope) {
    return !(from == 0 && IsBatch(envelope));
  });
  Publish(cluster, 0, {"a"});
  cluster.Run(absl::Milliseconds(120));
  cluster.Crash(0);
  cluster.Run(absl::Seconds(4));
  for (int receiver : {1, 2}) {
    ASSERT_EQ(Flushes(cluster, receiver), 1) << receiver;
    EXPECT_EQ(cluster.deliveries(receiver)[0].flushed_to, 1u);
  }
}

TEST(NodeTest, JoinerStartsAtEachOriginsCurrentSequence) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Crash(2);
  cluster.Run(absl::Seconds(1));
  Publish(cluster, 0, {"before"});
  cluster.Run(absl::Seconds(1));
  cluster.Start(2);
  cluster.Run(absl::Milliseconds(300));
  Publish(cluster, 0, {"after"});
  cluster.Run(absl::Milliseconds(300));
  EXPECT_THAT(DeliveredKeys(cluster, 2), ElementsAre("after"));
  EXPECT_EQ(Flushes(cluster, 2), 0);
}

TEST(NodeTest, LeaveFlushesThePendingBatchFirst) {
  MiniCluster cluster(2, NodeOptions());
  cluster.Run(absl::Seconds(1));
  Publish(cluster, 0, {"last words"});
  cluster.node(0).Leave(cluster.now());
  cluster.Pump();
  EXPECT_THAT(DeliveredKeys(cluster, 1), ElementsAre("last words"));
  EXPECT_FALSE(cluster.node(0).Publish({Update("x")}, cluster.now()).ok());
}

// An envelope from member `from` of `cluster`, as the mesh would carry it.
v1::Envelope From(MiniCluster& cluster, int from) {
  v1::Envelope envelope;
  envelope.set_cluster(cluster.node(from).options().cluster);
  v1::NodeIdentity* sender = envelope.mutable_sender();
  sender->set_id(MiniCluster::Id(from));
  sender->set_endpoint(MiniCluster::Endpoint(from));
  sender->set_instance_id(cluster.node(from).options().instance_id);
  sender->set_incarnation(1);
  return envelope;
}

TEST(NodeTest, BatchNumberedBeyondAnyStreamOpensNoGap) {
  MiniCluster cluster(2, NodeOptions());
  cluster.Run(absl::Seconds(3));  // Past the join window.
  v1::Envelope bogus = From(cluster, 0);
  bogus.mutable_batch()->set_first_seq(~uint64_t{0});
  *bogus.mutable_batch()->add_invalidations() = Update("x");
  cluster.node(1).OnEnvelope(std::make_shared<const v1::Envelope>(bogus),
                             cluster.now());
  Publish(cluster, 0, {"real"});
  cluster.Run(absl::Seconds(3));
  EXPECT_THAT(DeliveredKeys(cluster, 1), ElementsAre("real"));
  EXPECT_EQ(Flushes(cluster, 1), 0);
  EXPECT_EQ(cluster.node(1).stats().nacks_sent, 0u);
}

TEST(NodeTest, GoneCountsOnlyFromTheOriginAndWithinWhatItAnnounced) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(3));
  Publish(cluster, 0, {"a"});
  cluster.Run(absl::Milliseconds(100));
  auto gone_from = [&](int sender, uint64_t to) {
    v1::Envelope envelope = From(cluster, sender);
    v1::Gone* gone = envelope.mutable_gone();
    gone->set_origin_id(MiniCluster::Id(0));
    gone->set_origin_instance(cluster.node(0).options().instance_id);
    gone->set_from_seq(2);
    gone->set_to_seq(to);
    cluster.node(2).OnEnvelope(std::make_shared<const v1::Envelope>(envelope),
                               cluster.now());
  };
  gone_from(1, 2);        // Not the origin.
  gone_from(0, 1000000);  // Beyond what n0 announced: would skip its future.
  cluster.Pump();
  Publish(cluster, 0, {"b"});
  cluster.Run(absl::Milliseconds(100));
  EXPECT_THAT(DeliveredKeys(cluster, 2), ElementsAre("a", "b"));
  EXPECT_EQ(Flushes(cluster, 2), 0);
}

TEST(NodeTest, LargeOrphanedGapIsOneFlush) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(3));
  // n1 hears that n0 published 10000 it never got, then n0 dies.
  v1::Envelope heartbeat = From(cluster, 0);
  heartbeat.mutable_heartbeat()->set_published_seq(10000);
  cluster.node(1).OnEnvelope(std::make_shared<const v1::Envelope>(heartbeat),
                             cluster.now());
  cluster.Crash(0);
  cluster.Run(absl::Seconds(5));
  ASSERT_EQ(Flushes(cluster, 1), 1);
  EXPECT_EQ(cluster.deliveries(1)[0].flushed_from, 1u);
  EXPECT_EQ(cluster.deliveries(1)[0].flushed_to, 10000u);
}

// Regression: the sender's member entry must not be read after the digest
// grew the table (a B-tree insert moves entries; ASan flags a stale read).
TEST(NodeTest, NewcomerWhoseDigestGrowsTheTableGetsItsOwnStream) {
  MiniCluster cluster(2, NodeOptions());
  cluster.Run(absl::Seconds(3));  // Past the join window: streams start at 0.
  v1::Envelope heartbeat;
  heartbeat.set_cluster(cluster.node(1).options().cluster);
  heartbeat.mutable_sender()->set_id("m");
  heartbeat.mutable_sender()->set_endpoint("mem://m");
  heartbeat.mutable_sender()->set_instance_id(7);
  heartbeat.mutable_sender()->set_incarnation(1);
  heartbeat.mutable_heartbeat()->set_published_seq(2);
  for (int i = 0; i < 300; ++i) {
    v1::MemberDigest* digest = heartbeat.mutable_heartbeat()->add_members();
    digest->set_id(absl::StrFormat("m%03d", i));
    digest->set_endpoint(absl::StrFormat("mem://m%03d", i));
    digest->set_state(v1::ALIVE);
    digest->set_incarnation(1);
    digest->set_instance_id(1);
  }
  cluster.node(1).OnEnvelope(std::make_shared<const v1::Envelope>(heartbeat),
                             cluster.now());
  std::vector<v1::MemberView> members = cluster.node(1).Members(cluster.now());
  ASSERT_EQ(members.size(), 2u + 1 + 300);
  EXPECT_EQ(members[1].id(), "m");  // Self first, then by id.
  EXPECT_EQ(members[1].instance_id(), 7u);
  // m#7 announced seq 1..2, which n1 lacks: at its next failure check
  // (every 25 ms) it asks m#7 itself for them.
  cluster.Run(absl::Milliseconds(60));
  EXPECT_GE(cluster.node(1).stats().nacks_sent, 1u);
  EXPECT_EQ(Flushes(cluster, 1), 0);
}

TEST(NodeTest, OtherClustersAreIgnored) {
  MiniCluster cluster(2, NodeOptions());
  v1::Envelope stranger;
  stranger.set_cluster("someone-else");
  stranger.mutable_sender()->set_id("x");
  stranger.mutable_sender()->set_instance_id(1);
  stranger.mutable_heartbeat();
  cluster.Run(absl::Milliseconds(100));
  cluster.node(0).OnEnvelope(std::make_shared<const v1::Envelope>(stranger),
                             cluster.now());
  EXPECT_EQ(cluster.StateOf(0, 1), v1::ALIVE);
  for (const v1::MemberView& view : cluster.node(0).Members(cluster.now())) {
    EXPECT_NE(view.id(), "x");
  }
  // The same envelope in our own cluster is heard.
  stranger.set_cluster(cluster.node(0).options().cluster);
  cluster.node(0).OnEnvelope(std::make_shared<const v1::Envelope>(stranger),
                             cluster.now());
  EXPECT_EQ(cluster.node(0).Members(cluster.now()).size(), 3u);
}

// Cuts recovery between origin n0 and receiver n2 while `cut` holds: n2
// gets none of n0's batches (nor retransmissions), and n0 none of n2's loss
// reports. Heartbeats pass both ways, so n0 stays ALIVE for everyone.
MiniCluster::LinkFilter RecoveryCut(const bool& cut) {
  return [&cut](int from, int to, const v1::Envelope& envelope) {
    if (!cut) return true;
    const bool batch_to_receiver = from == 0 && to == 2 && IsBatch(envelope);
    const bool report_to_origin =
        from == 2 && to == 0 && envelope.has_loss_report();
    return !batch_to_receiver && !report_to_origin;
  };
}

// The reasons of `i` that name an open gap.
std::vector<std::string> GapReasons(MiniCluster& cluster, int i) {
  std::vector<std::string> gaps;
  for (const std::string& reason :
       cluster.node(i).UntrustedReasons(cluster.now())) {
    if (reason.find("waiting for") != std::string::npos) {
      gaps.push_back(reason);
    }
  }
  return gaps;
}

TEST(NodeTest, LiveOriginIsAskedUntilTheLinkIsBackNeverFlushed) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  bool cut = true;
  cluster.SetFilter(RecoveryCut(cut));
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) {  // 3 s, far past 10 loss reports.
    keys.push_back(absl::StrCat("k", i));
    Publish(cluster, 0, {keys.back()});
    cluster.Run(absl::Milliseconds(100));
    if (i == 0) {  // An ordinary gap is not reported at once.
      EXPECT_THAT(GapReasons(cluster, 2), IsEmpty());
    }
  }
  EXPECT_EQ(cluster.StateOf(2, 0), v1::ALIVE);
  EXPECT_EQ(cluster.StateOf(1, 0), v1::ALIVE);
  EXPECT_EQ(Flushes(cluster, 2), 0);
  EXPECT_THAT(DeliveredKeys(cluster, 2), IsEmpty());
  const std::vector<std::string> open = GapReasons(cluster, 2);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_THAT(open[0], ::testing::StartsWith("waiting for n0 seq 1..30 for "));
  EXPECT_THAT(open[0], ::testing::HasSubstr(" loss reports)"));
  const uint64_t nacks_during_cut = cluster.node(2).stats().nacks_sent;
  EXPECT_GE(nacks_during_cut, 20u);
  EXPECT_LE(nacks_during_cut, 31u);  // At most one per nack_interval.

  cut = false;
  cluster.Run(absl::Milliseconds(300));
  EXPECT_THAT(DeliveredKeys(cluster, 2), ::testing::ElementsAreArray(keys));
  EXPECT_TRUE(cluster.deliveries(2)[0].recovered);
  EXPECT_EQ(Flushes(cluster, 2), 0);
  EXPECT_THAT(cluster.node(2).UntrustedReasons(cluster.now()), IsEmpty());
}

TEST(NodeTest, OriginDyingWhileAskedHandsTheGapToARelay) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  bool cut = true;
  cluster.SetFilter(RecoveryCut(cut));
  Publish(cluster, 0, {"a", "b", "c"});
  cluster.Run(absl::Seconds(2));
  EXPECT_EQ(Flushes(cluster, 2), 0);
  cluster.Crash(0);  // n1 holds everything.
  cluster.Run(absl::Seconds(4));
  EXPECT_THAT(DeliveredKeys(cluster, 2), ElementsAre("a", "b", "c"));
  EXPECT_EQ(Flushes(cluster, 2), 0);
  EXPECT_THAT(GapReasons(cluster, 2), IsEmpty());
}

TEST(NodeTest, OriginDyingWhileAskedWithNoHolderLeadsToAnOrphanFlush) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  // Nobody gets n0's batch, and n0 hears no loss report; its heartbeats
  // tell n1 and n2 what they miss.
  cluster.SetFilter([](int from, int to, const v1::Envelope& envelope) {
    return !(from == 0 && IsBatch(envelope)) &&
           !(to == 0 && envelope.has_loss_report());
  });
  Publish(cluster, 0, {"a"});
  cluster.Run(absl::Seconds(2));
  for (int receiver : {1, 2}) {
    EXPECT_EQ(Flushes(cluster, receiver), 0) << receiver;
    EXPECT_EQ(GapReasons(cluster, receiver).size(), 1u) << receiver;
  }
  cluster.Crash(0);
  cluster.Run(absl::Seconds(4));
  for (int receiver : {1, 2}) {
    ASSERT_EQ(Flushes(cluster, receiver), 1) << receiver;
    const AppDelivery& flush = cluster.deliveries(receiver)[0];
    EXPECT_EQ(flush.flushed_to, 1u);
    EXPECT_THAT(flush.reason, ::testing::HasSubstr("no live member holds"));
    EXPECT_THAT(GapReasons(cluster, receiver), IsEmpty());
  }
}

TEST(NodeTest, GoneFromALiveOriginStillFlushesAWaitingGap) {
  MiniCluster cluster(3, NodeOptions());
  cluster.Run(absl::Seconds(1));
  bool cut = true;
  cluster.SetFilter(RecoveryCut(cut));
  Publish(cluster, 0, {"a", "b"});
  cluster.Run(absl::Milliseconds(1500));
  ASSERT_EQ(Flushes(cluster, 2), 0);
  v1::Envelope envelope = From(cluster, 0);
  v1::Gone* gone = envelope.mutable_gone();
  gone->set_origin_id(MiniCluster::Id(0));
  gone->set_origin_instance(cluster.node(0).options().instance_id);
  gone->set_from_seq(1);
  gone->set_to_seq(2);
  cluster.node(2).OnEnvelope(std::make_shared<const v1::Envelope>(envelope),
                             cluster.now());
  cluster.Pump();
  ASSERT_EQ(Flushes(cluster, 2), 1);
  EXPECT_THAT(cluster.deliveries(2)[0].reason,
              ::testing::HasSubstr("no longer holds"));
  EXPECT_THAT(GapReasons(cluster, 2), IsEmpty());
  cut = false;
  Publish(cluster, 0, {"c"});
  cluster.Run(absl::Milliseconds(100));
  EXPECT_THAT(DeliveredKeys(cluster, 2), ElementsAre("c"));
}

TEST(NodeTest, GapBeyondWhatTheOriginsRingCanHoldIsNotWaitedFor) {
  NodeOptions options;
  options.streams.recovery_buffer = 4;
  MiniCluster cluster(3, options);
  cluster.Run(absl::Seconds(1));
  bool cut = true;
  cluster.SetFilter(RecoveryCut(cut));
  for (const char* key : {"a", "b", "c", "d", "e", "f"}) {
    Publish(cluster, 0, {key});
    cluster.Run(absl::Milliseconds(1));
  }
  // n0 announced 6; a ring of 4 no longer holds seq 1, and n0 cannot say
  // Gone: n2 gives up after nack_attempts, as before.
  cluster.Run(absl::Seconds(2));
  ASSERT_EQ(Flushes(cluster, 2), 1);
  EXPECT_THAT(cluster.deliveries(2)[0].reason,
              ::testing::HasSubstr("no answer to 10 loss reports"));
}

}  // namespace
}  // namespace cachemesh
