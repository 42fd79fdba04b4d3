// Tests of the queue that carries commands from HTTP threads to the loop.
#include "service/command_queue.h"

#include <poll.h>

#include <memory>
#include <thread>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

bool Readable(int fd) {
  pollfd poll_fd{fd, POLLIN, 0};
  return poll(&poll_fd, 1, /*timeout=*/0) == 1 &&
         (poll_fd.revents & POLLIN) != 0;
}

PublishCommand Publish(int count) {
  PublishCommand command;
  for (int i = 0; i < count; ++i) {
    v1::Invalidation* invalidation = command.list.add_invalidations();
    invalidation->set_op(v1::Invalidation::UPDATE);
    invalidation->set_region("org.hisp.dhis.dataelement.DataElement");
    invalidation->set_key("key" + std::to_string(i));
  }
  return command;
}

std::unique_ptr<CommandQueue> MakeQueue(size_t capacity) {
  absl::StatusOr<std::unique_ptr<CommandQueue>> queue =
      CommandQueue::Create(capacity);
  EXPECT_TRUE(queue.ok()) << queue.status();
  return *std::move(queue);
}

TEST(CommandQueueTest, WakeFdIsReadableExactlyWhileCommandsArePending) {
  std::unique_ptr<CommandQueue> queue = MakeQueue(10);
  EXPECT_FALSE(Readable(queue->wake_fd()));

  ASSERT_TRUE(queue->Push(Publish(2)).ok());
  EXPECT_TRUE(Readable(queue->wake_fd()));
  ASSERT_TRUE(queue->Push(SetDrainingCommand{true}).ok());
  EXPECT_TRUE(Readable(queue->wake_fd()));

  std::vector<Command> drained = queue->Drain();
  EXPECT_FALSE(Readable(queue->wake_fd()));
  ASSERT_THAT(drained, SizeIs(2));
  ASSERT_TRUE(std::holds_alternative<PublishCommand>(drained[0]));
  EXPECT_EQ(std::get<PublishCommand>(drained[0]).list.invalidations(1).key(),
            "key1");
  ASSERT_TRUE(std::holds_alternative<SetDrainingCommand>(drained[1]));
  EXPECT_TRUE(std::get<SetDrainingCommand>(drained[1]).draining);

  EXPECT_THAT(queue->Drain(), SizeIs(0));
  ASSERT_TRUE(queue->Push(SetDrainingCommand{false}).ok());
  EXPECT_TRUE(Readable(queue->wake_fd()));
}

TEST(CommandQueueTest, IsBoundedByPendingInvalidations) {
  std::unique_ptr<CommandQueue> queue = MakeQueue(5);
  ASSERT_TRUE(queue->Push(Publish(3)).ok());
  ASSERT_TRUE(queue->Push(SetDrainingCommand{true}).ok());  // Costs one.

  const absl::Status full = queue->Push(Publish(2));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("full"));
  EXPECT_TRUE(queue->Push(Publish(1)).ok());

  // What was accepted is all there, and draining makes room again.
  EXPECT_THAT(queue->Drain(), SizeIs(3));
  EXPECT_TRUE(queue->Push(Publish(5)).ok());
}

TEST(CommandQueueTest, RejectsACommandLargerThanTheWholeQueue) {
  std::unique_ptr<CommandQueue> queue = MakeQueue(5);
  const absl::Status status = queue->Push(Publish(6));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("capacity 5"));
  EXPECT_FALSE(Readable(queue->wake_fd()));
}

TEST(CommandQueueTest, RejectsZeroCapacity) {
  EXPECT_EQ(CommandQueue::Create(0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CommandQueueTest, LosesNothingPushedConcurrently) {
  std::unique_ptr<CommandQueue> queue = MakeQueue(100000);
  constexpr int kThreads = 4;
  constexpr int kPushesEach = 500;
  std::vector<std::thread> pushers;
  for (int t = 0; t < kThreads; ++t) {
    pushers.emplace_back([&] {
      for (int i = 0; i < kPushesEach; ++i) {
        ASSERT_TRUE(queue->Push(Publish(1)).ok());
      }
    });
  }
  size_t drained = 0;
  while (drained < kThreads * kPushesEach) {
    pollfd poll_fd{queue->wake_fd(), POLLIN, 0};
    ASSERT_EQ(poll(&poll_fd, 1, /*timeout=*/-1), 1);
    drained += queue->Drain().size();
  }
  for (std::thread& pusher : pushers) pusher.join();
  EXPECT_EQ(drained, static_cast<size_t>(kThreads * kPushesEach));
  EXPECT_FALSE(Readable(queue->wake_fd()));
}

}  // namespace
}  // namespace cachemesh
