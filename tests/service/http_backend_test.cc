// Tests of LoopBackend, the daemon's glue between HTTP threads and the loop.
#include "service/http_backend.h"

#include <memory>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/cachemesh.pb.h"
#include "service/app_health.h"
#include "service/command_queue.h"
#include "service/snapshot.h"

namespace cachemesh {
namespace {

using ::testing::SizeIs;

class LoopBackendTest : public ::testing::Test {
 protected:
  LoopBackendTest()
      : commands_(*CommandQueue::Create(/*capacity=*/2)),
        backend_(snapshots_, *commands_, /*prober=*/nullptr) {}

  SnapshotStore snapshots_;
  std::unique_ptr<CommandQueue> commands_;
  LoopBackend backend_;
};

v1::InvalidationList ClearAll() {
  v1::InvalidationList list;
  list.add_invalidations()->set_op(v1::Invalidation::CLEAR_ALL);
  return list;
}

TEST_F(LoopBackendTest, ReadsTheLatestSnapshot) {
  EXPECT_EQ(backend_.Snapshot(), nullptr);
  NodeSnapshot snapshot;
  snapshot.self_id = "app1:4001";
  snapshots_.Publish(snapshot);
  ASSERT_NE(backend_.Snapshot(), nullptr);
  EXPECT_EQ(backend_.Snapshot()->self_id, "app1:4001");
}

TEST_F(LoopBackendTest, PublishesThroughTheQueue) {
  ASSERT_TRUE(backend_.Publish(ClearAll()).ok());
  const std::vector<Command> commands = commands_->Drain();
  ASSERT_THAT(commands, SizeIs(1));
  ASSERT_TRUE(std::holds_alternative<PublishCommand>(commands[0]));
  EXPECT_EQ(std::get<PublishCommand>(commands[0]).list.invalidations(0).op(),
            v1::Invalidation::CLEAR_ALL);
}

TEST_F(LoopBackendTest, DrainingIsQueuedAndVisibleAtOnce) {
  EXPECT_FALSE(backend_.draining());
  ASSERT_TRUE(backend_.SetDraining(true).ok());
  EXPECT_TRUE(backend_.draining());
  const std::vector<Command> commands = commands_->Drain();
  ASSERT_THAT(commands, SizeIs(1));
  ASSERT_TRUE(std::holds_alternative<SetDrainingCommand>(commands[0]));
  EXPECT_TRUE(std::get<SetDrainingCommand>(commands[0]).draining);
}

TEST_F(LoopBackendTest, AFullQueueChangesNothing) {
  ASSERT_TRUE(backend_.Publish(ClearAll()).ok());
  ASSERT_TRUE(backend_.Publish(ClearAll()).ok());
  EXPECT_EQ(backend_.Publish(ClearAll()).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(backend_.SetDraining(true).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(backend_.draining());
  EXPECT_THAT(commands_->Drain(), SizeIs(2));
}

TEST_F(LoopBackendTest, AppHealthIsUnconfiguredWithoutAProber) {
  EXPECT_FALSE(backend_.AppHealth().configured);
}

TEST_F(LoopBackendTest, AppHealthComesFromTheProber) {
  AppHealthOptions options;
  options.url = "http://127.0.0.1:1/ping";
  absl::StatusOr<std::unique_ptr<AppHealthProber>> prober =
      AppHealthProber::Create(options);
  ASSERT_TRUE(prober.ok());
  LoopBackend backend(snapshots_, *commands_, prober->get());
  const AppHealthState app = backend.AppHealth();
  EXPECT_TRUE(app.configured);
  EXPECT_EQ(app.status, AppHealthState::Status::kUnknown);
}

}  // namespace
}  // namespace cachemesh
