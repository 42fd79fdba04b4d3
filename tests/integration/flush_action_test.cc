// The flush action on real daemons: what makes the local app (DHIS 2) drop
// its caches when it may have missed invalidations. A stand-in app records
// the requests (method, path, token) and answers as the test says.
#include <stdlib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_cluster.h"

namespace cachemesh::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kPatience = absl::Seconds(10);
constexpr char kPath[] = "/api/maintenance/cacheClear";
constexpr char kToken[] = "d2p_test-token";

// DHIS 2's side of the flush: POST /api/maintenance/cacheClear.
class FakeApp {
 public:
  FakeApp() {
    server_.Post(kPath, [this](const httplib::Request& request,
                               httplib::Response& response) {
      absl::MutexLock lock(&mutex_);
      authorizations_.push_back(request.get_header_value("Authorization"));
      response.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound means listening: connections wait in the backlog until the
    // thread accepts them.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeApp() {
    server_.stop();
    thread_.join();
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, kPath);
  }
  void set_status(int status) {
    absl::MutexLock lock(&mutex_);
    status_ = status;
  }
  std::vector<std::string> authorizations() const {
    absl::MutexLock lock(&mutex_);
    return authorizations_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mutex_;
  int status_ ABSL_GUARDED_BY(mutex_) = 200;
  std::vector<std::string> authorizations_ ABSL_GUARDED_BY(mutex_);
};

std::vector<std::string> FlushLines(const std::string& url) {
  return {absl::StrCat("cachemesh.flush.url = ", url),
          "cachemesh.flush.retry.ms = 50"};
}

class FlushActionTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("CACHEMESH_FLUSH_TOKEN", kToken, 1); }
  void TearDown() override { unsetenv("CACHEMESH_FLUSH_TOKEN"); }
};

// The FLUSH every daemon delivers at start: the app that already runs is
// told to drop its caches, and /health stays 503, naming why, until it has.
TEST_F(FlushActionTest, HealthWaitsForTheAppToFlush) {
  FakeApp app;
  app.set_status(500);
  DaemonSpec spec;
  spec.id = "n0";
  spec.cache_port = PickFreePort();
  spec.http_port = PickFreePort();
  spec.extra_lines = FlushLines(app.url());
  DaemonProcess daemon(spec);
  daemon.Start();
  ASSERT_TRUE(
      WaitUntil([&] { return app.authorizations().size() >= 2; }, kPatience))
      << daemon.log();
  EXPECT_EQ(app.authorizations()[0], absl::StrCat("ApiToken ", kToken));
  const DaemonProcess::Reply health = daemon.Get("/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_THAT(health.body, HasSubstr("flush action pending"));
  EXPECT_THAT(health.body, HasSubstr("HTTP 500"));

  app.set_status(204);
  ASSERT_TRUE(
      WaitUntil([&] { return daemon.HealthStatus() == 200; }, kPatience))
      << daemon.log();
  EXPECT_THAT(
      daemon.Get("/metrics").body,
      HasSubstr("cachemesh_flush_actions_total{result=\"succeeded\"} 1\n"));
  EXPECT_THAT(daemon.log(), ::testing::Not(HasSubstr(kToken)));
}

// An app that does not run yet has nothing to flush: the start-up FLUSH
// does not hold /health at 503 for it.
TEST_F(FlushActionTest, NoAppRunningMeansNothingToFlush) {
  DaemonSpec spec;
  spec.id = "n0";
  spec.cache_port = PickFreePort();
  spec.http_port = PickFreePort();
  spec.extra_lines =
      FlushLines(absl::StrCat("http://127.0.0.1:", PickFreePort(), kPath));
  DaemonProcess daemon(spec);
  daemon.Start();
  ASSERT_TRUE(
      WaitUntil([&] { return daemon.HealthStatus() == 200; }, kPatience))
      << daemon.log();
  EXPECT_THAT(daemon.log(), HasSubstr("app not running"));
}

// A CLEAR_ALL published anywhere makes every other node's app flush.
TEST_F(FlushActionTest, ClearAllFromAnotherNodeRunsIt) {
  FakeApp app;
  TestCluster cluster;
  std::string why;
  ASSERT_TRUE(cluster.Start(
      2,
      [&](int i, DaemonSpec& spec) {
        if (i == 1) spec.extra_lines = FlushLines(app.url());
      },
      &why))
      << why;
  ASSERT_TRUE(WaitUntil(
      [&] {
        return app.authorizations().size() == 1 &&
               cluster.node(1).HealthStatus() == 200;
      },
      kPatience))
      << cluster.Logs();
  ASSERT_EQ(cluster.node(0)
                .Post("/v1/invalidations",
                      R"({"invalidations":[{"op":"CLEAR_ALL"}]})")
                .status,
            202);
  ASSERT_TRUE(
      WaitUntil([&] { return app.authorizations().size() == 2; }, kPatience))
      << cluster.Logs();
  EXPECT_THAT(cluster.node(1).log(), HasSubstr("CLEAR_ALL from n0"));
}

}  // namespace
}  // namespace cachemesh::testing
