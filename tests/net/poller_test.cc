// net::Poller over a mesh, an app server and a plain fd (an eventfd, as the
// daemon's HTTP threads use to wake the loop).
#include "net/poller.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/app_channel.h"
#include "net/context.h"
#include "net/mesh.h"
#include "tests/net/mesh_test_util.h"

namespace cachemesh {
namespace net {
namespace {

using ::cachemesh::net::testing::ConnectBothWays;
using ::cachemesh::net::testing::kPatience;
using ::cachemesh::net::testing::MakeMesh;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class PollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Context>> context = Context::Create();
    ASSERT_TRUE(context.ok()) << context.status();
    context_ = *std::move(context);
    a_ = MakeMesh(*context_);
    b_ = MakeMesh(*context_);
    ASSERT_TRUE(a_ && b_);
    absl::StatusOr<std::unique_ptr<AppServer>> server =
        AppServer::Create(*context_, "inproc://poller-test");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(wake_fd_, 0);
    poller_.Add(a_.get());
    poller_.Add(server_.get());
    poller_.AddFd(wake_fd_);
  }

  void TearDown() override {
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  void Wake() {
    const uint64_t one = 1;
    ASSERT_EQ(write(wake_fd_, &one, sizeof(one)), sizeof(one));
  }

  std::unique_ptr<Context> context_;
  std::unique_ptr<Mesh> a_;
  std::unique_ptr<Mesh> b_;
  std::unique_ptr<AppServer> server_;
  int wake_fd_ = -1;
  Poller poller_;
};

TEST_F(PollerTest, TimesOutWhenNothingIsReady) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Ready> ready = poller_.Wait(absl::Milliseconds(50));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(49));
}

TEST_F(PollerTest, ZeroTimeoutOnlyLooks) {
  absl::StatusOr<Ready> ready = poller_.Wait(absl::ZeroDuration());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
}

TEST_F(PollerTest, WakesOnAnFdAndKeepsReportingItUntilRead) {
  Wake();
  const absl::Time start = absl::Now();
  absl::StatusOr<Ready> ready = poller_.Wait(kPatience);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_LT(absl::Now() - start, kPatience);
  EXPECT_THAT(ready->fds, ElementsAre(wake_fd_));
  EXPECT_THAT(ready->meshes, IsEmpty());
  EXPECT_THAT(ready->app_servers, IsEmpty());

  ready = poller_.Wait(absl::ZeroDuration());
  ASSERT_TRUE(ready.ok());
  EXPECT_THAT(ready->fds, ElementsAre(wake_fd_));

  uint64_t count = 0;
  ASSERT_EQ(read(wake_fd_, &count, sizeof(count)), sizeof(count));
  ready = poller_.Wait(absl::ZeroDuration());
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(ready->empty());
}

TEST_F(PollerTest, WakesOnMeshInput) {
  ASSERT_TRUE(ConnectBothWays(*a_, *b_));
  ASSERT_TRUE(b_->Broadcast("wake up").ok());

  absl::StatusOr<Ready> ready = poller_.Wait(kPatience);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_THAT(ready->meshes, ElementsAre(a_.get()));
  EXPECT_THAT(ready->fds, IsEmpty());
  absl::StatusOr<MeshInput> input = a_->Drain();
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_THAT(input->payloads, ElementsAre("wake up"));
}

TEST_F(PollerTest, WakesOnAnnouncement) {
  ASSERT_TRUE(b_->Connect(a_->advertised_endpoint()).ok());

  absl::StatusOr<Ready> ready = poller_.Wait(kPatience);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_THAT(ready->meshes, ElementsAre(a_.get()));
}

}  // namespace
}  // namespace net
}  // namespace cachemesh
