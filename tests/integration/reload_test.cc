// SIGHUP on a real cachemeshd follows the settings table: the peers and the
// live keys (log level, HTTP token) change at once; every other changed key
// is logged and shown in /metrics as waiting for a restart; a file that does
// not load changes nothing.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_process.h"

namespace cachemesh::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kPatience = absl::Seconds(10);
constexpr char kHeartbeatPending[] =
    "cachemesh_config_restart_pending{key=\"cachemesh.heartbeat.interval.ms\"}";

DaemonSpec Spec(const std::string& id) {
  DaemonSpec spec;
  spec.id = id;
  spec.cache_port = PickFreePort();
  spec.http_port = PickFreePort();
  return spec;
}

// POST /v1/drain from loopback, presenting `token` as a bearer token.
int DrainWithToken(const DaemonProcess& daemon, const std::string& token) {
  httplib::Client client("127.0.0.1", daemon.spec().http_port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(2, 0);
  const httplib::Result result = client.Post(
      "/v1/drain", {{"Authorization", absl::StrCat("Bearer ", token)}}, "",
      "application/json");
  return result ? result->status : -1;
}

bool MetricsHave(const DaemonProcess& daemon, const std::string& line) {
  return absl::StrContains(daemon.Get("/metrics").body, line + "\n");
}

class ReloadTest : public ::testing::Test {
 protected:
  void StartAlone(DaemonProcess& daemon) {
    daemon.Start();
    ASSERT_TRUE(WaitUntil(
        [&] { return daemon.Get("/health/live").status == 200; }, kPatience))
        << daemon.log();
  }

  DaemonProcess n0_{Spec("n0")};
  DaemonProcess n1_{Spec("n1")};
};

TEST_F(ReloadTest, LiveKeysApplyAtOnceAndTheRestWaitForARestart) {
  StartAlone(n0_);
  StartAlone(n1_);
  // No token yet: a loopback client's bearer token is not looked at.
  ASSERT_EQ(DrainWithToken(n0_, "wrong"), 200);
  ASSERT_EQ(n0_.Delete("/v1/drain").status, 200);
  ASSERT_EQ(n0_.StateOf("n1"), v1::MEMBER_STATE_UNSPECIFIED);

  n0_.SetExtraLines({
      absl::StrCat("cluster.members = ", n1_.address()),
      "cachemesh.http.token = s3cret-token",
      "cachemesh.log.level = warning",
      "cachemesh.heartbeat.interval.ms = 100",
  });
  kill(n0_.pid(), SIGHUP);

  // The peers: n0 now connects to n1, and they find each other.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return n0_.StateOf("n1") == v1::ALIVE && n1_.StateOf("n0") == v1::ALIVE;
      },
      kPatience))
      << n0_.log() << n1_.log();
  // The token: a wrong one is now refused, the right one accepted.
  EXPECT_EQ(DrainWithToken(n0_, "wrong"), 401);
  EXPECT_EQ(DrainWithToken(n0_, "s3cret-token"), 200);
  // The heartbeat interval needs a restart: logged and in /metrics.
  EXPECT_TRUE(MetricsHave(n0_, absl::StrCat(kHeartbeatPending, " 1")));
  EXPECT_TRUE(MetricsHave(
      n0_,
      "cachemesh_config_restart_pending{key=\"cachemesh.reap.after.ms\"} 0"));
  EXPECT_TRUE(
      MetricsHave(n0_, "cachemesh_config_reloads_total{result=\"applied\"} 1"));
  const std::string log = n0_.log();
  EXPECT_THAT(log, HasSubstr("SIGHUP: restart to apply the changed "
                             "cachemesh.heartbeat.interval.ms"));
  // The log level: the reload's own INFO line is already below it.
  EXPECT_THAT(log, Not(HasSubstr("SIGHUP: applied")));
  EXPECT_THAT(log, Not(HasSubstr("s3cret-token")));
  EXPECT_EQ(n0_.HealthStatus(), 503);  // Still drained, by the token holder.
}

TEST_F(ReloadTest, AFileThatDoesNotLoadChangesNothing) {
  StartAlone(n0_);
  n0_.SetExtraLines({"cachemesh.heartbeat.interval.ms = fast",
                     "cachemesh.http.token = never-applied"});
  kill(n0_.pid(), SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return MetricsHave(
            n0_, "cachemesh_config_reloads_total{result=\"refused\"} 1");
      },
      kPatience))
      << n0_.log();
  EXPECT_THAT(n0_.log(), HasSubstr("SIGHUP: kept the running configuration; "));
  EXPECT_THAT(n0_.log(), HasSubstr("cachemesh.heartbeat.interval.ms: "
                                   "\"fast\" is not a whole number"));
  EXPECT_EQ(DrainWithToken(n0_, "wrong"), 200);  // No token came in.
  EXPECT_TRUE(MetricsHave(n0_, absl::StrCat(kHeartbeatPending, " 0")));
  EXPECT_EQ(n0_.Get("/health/live").status, 200);

  // Changed back and forth: nothing is pending any more.
  n0_.SetExtraLines({"cachemesh.heartbeat.interval.ms = 100"});
  kill(n0_.pid(), SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return MetricsHave(n0_, absl::StrCat(kHeartbeatPending, " 1")); },
      kPatience))
      << n0_.log();
  n0_.SetExtraLines({});
  kill(n0_.pid(), SIGHUP);
  ASSERT_TRUE(WaitUntil(
      [&] { return MetricsHave(n0_, absl::StrCat(kHeartbeatPending, " 0")); },
      kPatience))
      << n0_.log();
  EXPECT_TRUE(
      MetricsHave(n0_, "cachemesh_config_reloads_total{result=\"applied\"} 2"));
}

}  // namespace
}  // namespace cachemesh::testing
