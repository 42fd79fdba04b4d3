// The member table's merge rules and Lifeguard suspicion.
#include "core/membership.h"

#include "gtest/gtest.h"

namespace cachemesh {
namespace {

const absl::Time kStart = absl::UnixEpoch() + absl::Seconds(1000);

v1::NodeIdentity Identity(const std::string& id, uint64_t incarnation,
                          uint64_t instance) {
  v1::NodeIdentity identity;
  identity.set_id(id);
  identity.set_endpoint("mem://" + id);
  identity.set_incarnation(incarnation);
  identity.set_instance_id(instance);
  return identity;
}

v1::MemberDigest Digest(const std::string& id, v1::MemberState state,
                        uint64_t incarnation, uint64_t instance) {
  v1::MemberDigest digest;
  digest.set_id(id);
  digest.set_endpoint("mem://" + id);
  digest.set_state(state);
  digest.set_incarnation(incarnation);
  digest.set_instance_id(instance);
  return digest;
}

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest()
      : table_("self", absl::Milliseconds(50), FailureDetectorOptions(),
               SuspicionOptions()) {}

  v1::MemberState StateOf(const std::string& id) {
    const Member* member = table_.Find(id);
    return member == nullptr ? v1::MEMBER_STATE_UNSPECIFIED : member->state;
  }

  MemberTable table_;
};

TEST_F(MembershipTest, MergeFollowsIncarnationPrecedence) {
  table_.OnDirect(Identity("a", 5, 1), true, kStart);
  table_.OnDigest("b", Digest("a", v1::ALIVE, 4, 1), kStart);
  EXPECT_EQ(table_.Find("a")->incarnation, 5u);  // Older news ignored.

  table_.OnDigest("b", Digest("a", v1::SUSPECT, 5, 1), kStart);
  EXPECT_EQ(StateOf("a"), v1::SUSPECT);  // SUSPECT(i) beats ALIVE(i).
  table_.OnDigest("c", Digest("a", v1::ALIVE, 5, 1), kStart);
  EXPECT_EQ(StateOf("a"), v1::SUSPECT);  // ALIVE(i) does not beat SUSPECT(i).
  table_.OnDigest("c", Digest("a", v1::ALIVE, 6, 1), kStart);
  EXPECT_EQ(StateOf("a"), v1::ALIVE);  // The refutation.

  table_.OnDigest("b", Digest("a", v1::DEAD, 6, 1), kStart);
  EXPECT_EQ(StateOf("a"), v1::DEAD);
  table_.OnDigest("b", Digest("a", v1::LEFT, 6, 1), kStart);
  EXPECT_EQ(StateOf("a"), v1::LEFT);  // LEFT beats DEAD.
  table_.OnDigest("b", Digest("a", v1::DEAD, 6, 1), kStart);
  EXPECT_EQ(StateOf("a"), v1::LEFT);
}

TEST_F(MembershipTest, NewInstanceReplacesDeadOrLeftAtOnce) {
  table_.OnDirect(Identity("a", 3, 1), true, kStart);
  table_.OnDigest("b", Digest("a", v1::DEAD, 3, 1), kStart);
  ASSERT_EQ(StateOf("a"), v1::DEAD);
  table_.OnDirect(Identity("a", 1, 2), true, kStart);
  EXPECT_EQ(StateOf("a"), v1::ALIVE);
  EXPECT_EQ(table_.Find("a")->instance_id, 2u);
  // Gossip about the old instance can no longer hurt it.
  table_.OnDigest("b", Digest("a", v1::DEAD, 9, 1), kStart);
  EXPECT_EQ(StateOf("a"), v1::ALIVE);
}

TEST_F(MembershipTest, RestartOnAnotherEndpointIsReportedWithTheOldOne) {
  table_.OnDirect(Identity("a", 1, 1), true, kStart);
  table_.TakeChanges();
  v1::NodeIdentity moved = Identity("a", 1, 2);
  moved.set_endpoint("mem://a-moved");
  table_.OnDirect(moved, true, kStart);
  std::vector<MembershipChange> changes = table_.TakeChanges();
  ASSERT_EQ(changes.size(), 1u);  // ALIVE to ALIVE, but a new instance.
  EXPECT_EQ(changes[0].instance_id, 2u);
  EXPECT_EQ(changes[0].endpoint, "mem://a-moved");
  EXPECT_EQ(changes[0].previous_endpoint, "mem://a");
}

TEST_F(MembershipTest, DirectMessagesFromStaleInstancesOrSelfAreIgnored) {
  EXPECT_TRUE(table_.OnDirect(Identity("a", 1, 2), true, kStart));
  EXPECT_FALSE(table_.OnDirect(Identity("a", 1, 1), true, kStart));
  EXPECT_TRUE(table_.OnDirect(Identity("a", 1, 2), true, kStart));
  EXPECT_FALSE(table_.OnDirect(Identity("self", 1, 1), true, kStart));
  EXPECT_EQ(table_.Find("self"), nullptr);
}

TEST_F(MembershipTest, RestartRecordsTheNewIncarnation) {
  table_.OnDirect(Identity("a", 1, 1), true, kStart);
  table_.TakeChanges();
  table_.OnDirect(Identity("a", 4, 2), true, kStart);
  std::vector<MembershipChange> changes = table_.TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].incarnation, 4u);
  EXPECT_EQ(changes[0].previous_endpoint, "");  // Same endpoint.
}

TEST_F(MembershipTest, HearsayNeverResurrectsAnUnknownDeadMember) {
  table_.OnDigest("b", Digest("ghost", v1::DEAD, 1, 1), kStart);
  EXPECT_EQ(table_.Find("ghost"), nullptr);
  table_.OnDigest("b", Digest("new", v1::ALIVE, 1, 1), kStart);
  EXPECT_EQ(StateOf("new"), v1::ALIVE);
}

TEST_F(MembershipTest, ConfirmationsShortenTheSuspicionTimeout) {
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    table_.OnDirect(Identity(id, 1, 1), true, kStart);
  }
  absl::Time now = kStart + absl::Milliseconds(10);
  table_.OnDigest("b", Digest("a", v1::SUSPECT, 1, 1), now);
  table_.OnDigest("c", Digest("a", v1::SUSPECT, 1, 1), now);
  table_.OnDigest("d", Digest("a", v1::SUSPECT, 1, 1), now);
  // Three confirmations: the minimum timeout (150 ms) applies.
  table_.Check(now + absl::Milliseconds(149), 1.0);
  EXPECT_EQ(StateOf("a"), v1::SUSPECT);
  table_.Check(now + absl::Milliseconds(151), 1.0);
  EXPECT_EQ(StateOf("a"), v1::DEAD);

  // One confirmation only: still SUSPECT at 300 ms, DEAD by the maximum.
  table_.OnDigest("c", Digest("e", v1::SUSPECT, 1, 1), now);
  table_.Check(now + absl::Milliseconds(300), 1.0);
  EXPECT_EQ(StateOf("e"), v1::SUSPECT);
  table_.Check(now + absl::Milliseconds(600), 1.0);
  EXPECT_EQ(StateOf("e"), v1::DEAD);
}

TEST_F(MembershipTest, LocalHealthScalesTheDetector) {
  table_.OnDirect(Identity("a", 1, 1), true, kStart);
  table_.Check(kStart + absl::Milliseconds(800), 1.0);
  EXPECT_EQ(StateOf("a"), v1::SUSPECT);
  table_.OnDirect(Identity("b", 1, 1), true, kStart);
  table_.Check(kStart + absl::Milliseconds(800), 3.0);
  EXPECT_EQ(StateOf("b"), v1::ALIVE);
}

TEST_F(MembershipTest, ChangesAreReportedOnce) {
  table_.OnDirect(Identity("a", 1, 1), true, kStart);
  std::vector<MembershipChange> changes = table_.TakeChanges();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from, v1::MEMBER_STATE_UNSPECIFIED);
  EXPECT_EQ(changes[0].to, v1::ALIVE);
  EXPECT_TRUE(table_.TakeChanges().empty());
}

}  // namespace
}  // namespace cachemesh
