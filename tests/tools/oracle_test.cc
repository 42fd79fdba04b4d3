#include "tools/sim/oracle.h"

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures.h"

namespace cachemesh {
namespace sim {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kZero = absl::UnixEpoch();

absl::Time At(double seconds) { return kZero + absl::Seconds(seconds); }

using test::Update;

AppDelivery Invalidation(const std::string& origin, uint64_t instance,
                         uint64_t seq, const std::string& key) {
  AppDelivery delivery;
  delivery.kind = v1::AppEvent::INVALIDATION;
  delivery.origin_id = origin;
  delivery.seq = seq;
  delivery.invalidation = std::make_shared<const v1::Invalidation>(Update(key));
  delivery.origin_instance = instance;
  return delivery;
}

AppDelivery Flush(const std::string& origin, uint64_t instance, uint64_t from,
                  uint64_t to) {
  AppDelivery delivery;
  delivery.kind = v1::AppEvent::FLUSH;
  delivery.origin_id = origin;
  delivery.origin_instance = instance;
  delivery.flushed_from = from;
  delivery.flushed_to = to;
  return delivery;
}

// Origin "a" (instance 7) and receiver "b" (instance 9), both up since t=0;
// "a" publishes keys k1..k3 as seq 1..3 at t=10 s.
class OracleTest : public ::testing::Test {
 protected:
  OracleTest() {
    origin_ = oracle_.NodeStarted("a", 7, At(0));
    receiver_ = oracle_.NodeStarted("b", 9, At(0));
  }

  void PublishThree() {
    for (uint64_t seq = 1; seq <= 3; ++seq) {
      oracle_.Published(origin_, seq, Update("k" + std::to_string(seq)),
                        At(10));
    }
  }

  void Deliver(Oracle::Handle receiver, uint64_t seq) {
    oracle_.Delivered(receiver,
                      Invalidation("a", 7, seq, "k" + std::to_string(seq)),
                      At(10.001));
  }

  Oracle oracle_;
  Oracle::Handle origin_;
  Oracle::Handle receiver_;
};

// The origin itself owes nothing of its own stream.
TEST_F(OracleTest, EverythingDeliveredInOrderPasses) {
  PublishThree();
  for (uint64_t seq = 1; seq <= 3; ++seq) Deliver(receiver_, seq);
  const OracleReport report = oracle_.Check();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.published, 3);
  EXPECT_EQ(report.obligations, 3);
  EXPECT_EQ(report.delivered, 3);
  EXPECT_EQ(report.max_latency, absl::Milliseconds(1));
  EXPECT_THAT(report.violations, IsEmpty());
}

TEST_F(OracleTest, MissingDeliveryIsASilentLoss) {
  PublishThree();
  Deliver(receiver_, 1);
  Deliver(receiver_, 3);
  const OracleReport report = oracle_.Check();
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.silent_losses, 1);
  EXPECT_THAT(report.violations,
              ElementsAre(HasSubstr("b#9 never got a#7 seq 2..2")));
}

TEST_F(OracleTest, NothingReceivedIsOneLossPerInvalidation) {
  PublishThree();
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.silent_losses, 3);
  EXPECT_THAT(report.violations,
              ElementsAre(HasSubstr("b#9 never got a#7 seq 1..3")));
}

TEST_F(OracleTest, FlushCoversTheGap) {
  PublishThree();
  Deliver(receiver_, 1);
  oracle_.Delivered(receiver_, Flush("a", 7, 2, 2), At(11));
  Deliver(receiver_, 3);
  const OracleReport report = oracle_.Check();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.covered_by_flush, 1);
  EXPECT_EQ(report.flushes, 1);
}

TEST_F(OracleTest, FlushOfAnotherInstanceCoversNothing) {
  PublishThree();
  oracle_.Delivered(receiver_, Flush("a", 6, 1, 3), At(11));
  EXPECT_EQ(oracle_.Check().silent_losses, 3);
}

TEST_F(OracleTest, DuplicateIsReported) {
  PublishThree();
  for (uint64_t seq : {1, 2, 2, 3}) Deliver(receiver_, seq);
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.duplicates, 1);
  EXPECT_EQ(report.out_of_order, 0);
  EXPECT_EQ(report.silent_losses, 0);
  EXPECT_FALSE(report.ok());
}

TEST_F(OracleTest, OutOfOrderIsReported) {
  PublishThree();
  for (uint64_t seq : {1, 3, 2}) Deliver(receiver_, seq);
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.out_of_order, 1);
  EXPECT_EQ(report.duplicates, 0);
  EXPECT_FALSE(report.ok());
}

TEST_F(OracleTest, DeliveryAfterAFlushPastItIsOutOfOrder) {
  PublishThree();
  oracle_.Delivered(receiver_, Flush("a", 7, 1, 3), At(11));
  Deliver(receiver_, 2);
  EXPECT_EQ(oracle_.Check().out_of_order, 1);
}

TEST_F(OracleTest, WrongContentIsCorrupt) {
  PublishThree();
  oracle_.Delivered(receiver_, Invalidation("a", 7, 1, "other"), At(11));
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.corrupt, 1);
  EXPECT_THAT(report.violations,
              Contains(HasSubstr("b#9 got a#7 seq 1 at t=11.000000s, not what "
                                 "was published")));
}

TEST_F(OracleTest, NeverPublishedIsCorrupt) {
  PublishThree();
  oracle_.Delivered(receiver_, Invalidation("a", 7, 4, "k4"), At(11));
  EXPECT_EQ(oracle_.Check().corrupt, 1);
}

TEST_F(OracleTest, ReceiverWithinSyncGraceOwesNothing) {
  oracle_.NodeStarted("c", 11, At(8));
  PublishThree();  // At 10 s: "c" has been up only 2 s.
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.obligations, 3);  // "b" only.
  EXPECT_EQ(report.silent_losses, 3);
  for (uint64_t seq = 1; seq <= 3; ++seq) Deliver(receiver_, seq);
  EXPECT_TRUE(oracle_.Check().ok());
}

TEST_F(OracleTest, StoppedReceiverOwesNothing) {
  PublishThree();
  oracle_.NodeStopped(receiver_, StopKind::kCrash);
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.obligations, 0);
  EXPECT_TRUE(report.ok());
}

TEST_F(OracleTest, CrashedOriginNobodyHeardIsUnrecoverable) {
  PublishThree();
  oracle_.NodeStopped(origin_, StopKind::kCrash);
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.unrecoverable, 3);  // Owed by "b" but for the crash.
  EXPECT_EQ(report.obligations, 0);
  EXPECT_TRUE(report.ok());
}

TEST_F(OracleTest, CrashedOriginSomeoneHeardIsOwedByEveryone) {
  const Oracle::Handle other = oracle_.NodeStarted("c", 11, At(0));
  PublishThree();
  oracle_.NodeStopped(origin_, StopKind::kCrash);
  Deliver(other, 1);  // "c" got seq 1 only: a relay could serve it to "b".
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.unrecoverable, 4);  // seq 2 and 3, by "b" and by "c".
  EXPECT_EQ(report.obligations, 2);    // seq 1, by "b" and by "c".
  EXPECT_EQ(report.silent_losses, 1);
  EXPECT_THAT(report.violations,
              ElementsAre(HasSubstr("b#9 never got a#7 seq 1..1")));
}

TEST_F(OracleTest, OriginThatLeftIsStillOwed) {
  PublishThree();
  oracle_.NodeStopped(origin_, StopKind::kLeave);
  EXPECT_EQ(oracle_.Check().silent_losses, 3);
}

TEST_F(OracleTest, ReportsLatency) {
  PublishThree();
  oracle_.Delivered(receiver_, Invalidation("a", 7, 1, "k1"), At(10.004));
  oracle_.Delivered(receiver_, Invalidation("a", 7, 2, "k2"), At(10.002));
  const OracleReport report = oracle_.Check();
  EXPECT_EQ(report.mean_latency, absl::Milliseconds(3));
  EXPECT_EQ(report.max_latency, absl::Milliseconds(4));
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh
