// Tests of the event log behind GET /v1/invalidations/stream.
#include "service/event_log.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;


std::vector<uint64_t> Ids(const std::vector<v1::AppEvent>& events) {
  std::vector<uint64_t> ids;
  for (const v1::AppEvent& event : events) ids.push_back(event.event_id());
  return ids;
}

void AppendKeys(EventLog& log, int count) {
  for (int i = 0; i < count; ++i) {
    log.Append(test::UpdateDelivery("key" + std::to_string(i)));
  }
}

TEST(EventLogTest, AssignsStrictlyIncreasingIdsFromFirstId) {
  EventLog log(/*capacity=*/10, /*first_id=*/1);
  EXPECT_EQ(log.newest_id(), 0u);
  EXPECT_EQ(log.Append(test::UpdateDelivery("a")), 1u);
  EXPECT_EQ(log.Append(test::UpdateDelivery("b")), 2u);
  EXPECT_EQ(log.Append(test::UpdateDelivery("c")), 3u);
  EXPECT_EQ(log.newest_id(), 3u);

  const std::vector<v1::AppEvent> events =
      log.WaitAfter(0, 10, absl::ZeroDuration());
  EXPECT_THAT(Ids(events), ElementsAre(1, 2, 3));
  EXPECT_EQ(events[1].invalidation().key(), "b");
  EXPECT_EQ(events[1].origin_id(), "app2:4001");
}

TEST(EventLogTest, AppendAllSharesInvalidationsAndReadersGetThemInside) {
  EventLog log(/*capacity=*/2, /*first_id=*/7);
  std::vector<AppDelivery> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(test::UpdateDelivery("k" + std::to_string(i)));
  }
  std::weak_ptr<const v1::Invalidation> first = events[0].invalidation;
  std::weak_ptr<const v1::Invalidation> last = events[2].invalidation;
  EXPECT_EQ(log.AppendAll(&events), 7u);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(log.newest_id(), 9u);
  // Capacity 2: the first event, and its share of the invalidation, is gone.
  EXPECT_TRUE(first.expired());
  EXPECT_FALSE(last.expired());

  std::vector<v1::AppEvent> read = log.WaitAfter(7, 10, absl::ZeroDuration());
  EXPECT_THAT(Ids(read), ElementsAre(8, 9));
  EXPECT_EQ(read[0].invalidation().key(), "k1");
  EXPECT_EQ(read[1].invalidation().key(), "k2");
  EXPECT_EQ(read[1].origin_id(), "app2:4001");
}

TEST(EventLogTest, StartsAtAnEpoch) {
  EventLog log(10, /*first_id=*/1700000000000000);
  EXPECT_EQ(log.newest_id(), 1699999999999999u);
  EXPECT_EQ(log.Append(test::UpdateDelivery("a")), 1700000000000000u);
  EXPECT_THAT(Ids(log.WaitAfter(1699999999999999, 10, absl::ZeroDuration())),
              ElementsAre(1700000000000000u));
}

TEST(EventLogTest, ReturnsOnlyEventsAfterTheResumePointUpToMax) {
  EventLog log(10, 1);
  AppendKeys(log, 5);
  EXPECT_THAT(Ids(log.WaitAfter(2, 10, absl::ZeroDuration())),
              ElementsAre(3, 4, 5));
  EXPECT_THAT(Ids(log.WaitAfter(2, 2, absl::ZeroDuration())),
              ElementsAre(3, 4));
}

TEST(EventLogTest, WrapsAroundKeepingTheNewestEvents) {
  EventLog log(/*capacity=*/3, 1);
  AppendKeys(log, 5);
  // Events 3..5 are held; resuming after 2 loses nothing.
  const std::vector<v1::AppEvent> events =
      log.WaitAfter(2, 10, absl::ZeroDuration());
  EXPECT_THAT(Ids(events), ElementsAre(3, 4, 5));
  EXPECT_EQ(events[0].invalidation().key(), "key2");
}

TEST(EventLogTest, GoneResumePointGivesFlushThenTheOldestHeld) {
  EventLog log(/*capacity=*/3, 1);
  AppendKeys(log, 5);  // Events 1 and 2 were dropped.

  const std::vector<v1::AppEvent> events =
      log.WaitAfter(1, 10, absl::ZeroDuration());
  ASSERT_THAT(Ids(events), ElementsAre(2, 3, 4, 5));
  EXPECT_EQ(events[0].kind(), v1::AppEvent::FLUSH);
  EXPECT_EQ(events[0].reason(),
            "resume point 1 is gone: events up to 2 were dropped from the "
            "3-event buffer");
  EXPECT_EQ(events[1].kind(), v1::AppEvent::INVALIDATION);

  // The flush counts towards max_events, and resuming from its id works.
  EXPECT_THAT(Ids(log.WaitAfter(0, 2, absl::ZeroDuration())),
              ElementsAre(2, 3));
  EXPECT_EQ(log.WaitAfter(2, 10, absl::ZeroDuration())[0].kind(),
            v1::AppEvent::INVALIDATION);
}

TEST(EventLogTest, FutureResumePointGivesFlushThenLiveEvents) {
  EventLog log(10, 1);
  AppendKeys(log, 2);

  const std::vector<v1::AppEvent> flush =
      log.WaitAfter(7, 10, absl::ZeroDuration());
  ASSERT_THAT(Ids(flush), ElementsAre(2));  // Continue after the newest.
  EXPECT_EQ(flush[0].kind(), v1::AppEvent::FLUSH);
  EXPECT_THAT(flush[0].reason(), HasSubstr("resume point 7 is unknown"));

  log.Append(test::UpdateDelivery("live"));
  EXPECT_THAT(Ids(log.WaitAfter(2, 10, absl::ZeroDuration())), ElementsAre(3));
}

TEST(EventLogTest, IdsFromAnEarlierDaemonRunAlwaysFlush) {
  // This run's ids start at its epoch; an earlier run's ids were below it.
  EventLog log(10, /*first_id=*/5000);
  AppendKeys(log, 3);
  const std::vector<v1::AppEvent> from_earlier_run =
      log.WaitAfter(4100, 10, absl::ZeroDuration());
  ASSERT_THAT(Ids(from_earlier_run), ElementsAre(4999, 5000, 5001, 5002));
  EXPECT_EQ(from_earlier_run[0].kind(), v1::AppEvent::FLUSH);
  EXPECT_EQ(from_earlier_run[0].reason(),
            "resume point 4100 is gone: it predates this daemon process, "
            "whose first event is 5000");
}

TEST(EventLogTest, TimesOutWithNothingNew) {
  EventLog log(10, 1);
  AppendKeys(log, 1);
  EXPECT_THAT(log.WaitAfter(1, 10, absl::Milliseconds(1)), IsEmpty());
}

TEST(EventLogTest, AppendWakesAWaiter) {
  EventLog log(10, 1);
  std::vector<v1::AppEvent> received;
  std::thread waiter(
      [&] { received = log.WaitAfter(0, 10, absl::InfiniteDuration()); });
  log.Append(test::UpdateDelivery("wake"));
  waiter.join();
  EXPECT_THAT(Ids(received), ElementsAre(1));
}

TEST(EventLogTest, ShutdownWakesWaitersAndStopsBlocking) {
  EventLog log(10, 1);
  std::vector<v1::AppEvent> received = {
      test::UpdateDelivery("placeholder").ToAppEvent(1)};
  std::thread waiter(
      [&] { received = log.WaitAfter(0, 10, absl::InfiniteDuration()); });
  log.Shutdown();
  waiter.join();
  EXPECT_THAT(received, IsEmpty());
  EXPECT_TRUE(log.is_shutdown());
  EXPECT_THAT(log.WaitAfter(0, 10, absl::InfiniteDuration()), IsEmpty());
}

TEST(EventLogTest, CancelledFlagAndWakeWaitersReleaseAWaiter) {
  EventLog log(10, 1);
  std::atomic<bool> cancelled{false};
  std::vector<v1::AppEvent> received = {
      test::UpdateDelivery("placeholder").ToAppEvent(1)};
  std::thread waiter([&] {
    received = log.WaitAfter(0, 10, absl::InfiniteDuration(), &cancelled);
  });
  cancelled.store(true);
  log.WakeWaiters();
  waiter.join();
  EXPECT_THAT(received, IsEmpty());
  EXPECT_FALSE(log.is_shutdown());
}

}  // namespace
}  // namespace cachemesh
