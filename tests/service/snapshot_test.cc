// Tests of the snapshot store shared by the loop and the HTTP threads.
#include "service/snapshot.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace {

NodeSnapshot Snapshot(const std::string& self_id, int64_t taken_at_seconds) {
  NodeSnapshot snapshot;
  snapshot.self_id = self_id;
  snapshot.taken_at = absl::FromUnixSeconds(taken_at_seconds);
  return snapshot;
}

TEST(SnapshotStoreTest, EmptyUntilTheFirstPublish) {
  SnapshotStore store;
  EXPECT_EQ(store.Latest(), nullptr);
}

TEST(SnapshotStoreTest, ReadersKeepTheSnapshotTheyGot) {
  SnapshotStore store;
  store.Publish(Snapshot("app1:4001", 1));
  const std::shared_ptr<const NodeSnapshot> first = store.Latest();
  store.Publish(Snapshot("app1:4001", 2));

  EXPECT_EQ(first->taken_at, absl::FromUnixSeconds(1));
  EXPECT_EQ(store.Latest()->taken_at, absl::FromUnixSeconds(2));
}

TEST(SnapshotStoreTest, ReadersSeeWholeSnapshotsWhilePublishing) {
  SnapshotStore store;
  store.Publish(Snapshot("0", 0));
  constexpr int kPublishes = 2000;
  std::thread publisher([&] {
    for (int i = 1; i <= kPublishes; ++i) {
      store.Publish(Snapshot(std::to_string(i), i));
    }
  });
  int64_t last_seen = 0;
  while (last_seen < kPublishes) {
    const std::shared_ptr<const NodeSnapshot> snapshot = store.Latest();
    const int64_t seen = absl::ToUnixSeconds(snapshot->taken_at);
    ASSERT_EQ(snapshot->self_id, std::to_string(seen));
    ASSERT_GE(seen, last_seen);
    last_seen = seen;
  }
  publisher.join();
}

}  // namespace
}  // namespace cachemesh
