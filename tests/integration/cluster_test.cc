// Real cachemeshd processes on loopback: propagation, crash, pause, stop,
// restart, SSE resume and /health. Every invalidation published here must
// be received or flushed.
#include <signal.h>

#include <atomic>
#include <thread>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/test_cluster.h"

namespace cachemesh::testing {
namespace {

using ::testing::HasSubstr;

class ClusterTest : public ::testing::Test {
 protected:
  void StartCluster(int size, std::vector<std::string> extra_lines = {}) {
    std::string why;
    ASSERT_TRUE(cluster_.Start(
        size,
        [&](int, DaemonSpec& spec) { spec.extra_lines = extra_lines; }, &why))
        << why;
  }

  DaemonProcess& node(int i) { return cluster_.node(i); }
  std::string Logs() const { return cluster_.Logs(); }

  // Publishes `key` on `from` and checks that every reader gets it.
  void ExpectPropagates(int from, const std::string& key,
                        const std::vector<SseReader*>& readers) {
    std::vector<size_t> before;
    for (SseReader* reader : readers) before.push_back(reader->events().size());
    ASSERT_EQ(node(from).Post("/v1/invalidations", InvalidationJson(key))
                  .status,
              202);
    for (size_t r = 0; r < readers.size(); ++r) {
      ASSERT_TRUE(readers[r]->WaitForCount(before[r] + 1, absl::Seconds(5)))
          << "reader " << r << " did not get " << key << "\n" << Logs();
      const SseReader::Event event = readers[r]->events()[before[r]];
      EXPECT_EQ(event.type, "invalidation");
      EXPECT_EQ(event.event.invalidation().key(), key);
      EXPECT_EQ(event.event.origin_id(), node(from).spec().id);
    }
  }

  TestCluster cluster_;
};

TEST_F(ClusterTest, InvalidationReachesEveryOtherNodeAndNotItsOrigin) {
  StartCluster(3);
  SseReader origin(node(0).spec().http_port);
  SseReader reader1(node(1).spec().http_port);
  SseReader reader2(node(2).spec().http_port);
  ExpectPropagates(0, "fbfJHSPpUQD", {&reader1, &reader2});
  ExpectPropagates(2, "second", {&origin, &reader1});
  EXPECT_EQ(origin.events().size(), 1u);  // Its own was not echoed.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(node(i).HealthStatus(), 200);
}

TEST_F(ClusterTest, KilledNodeIsDeadEverywhereWithinTwoSeconds) {
  StartCluster(3);
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(node(2).Signal(SIGKILL).has_value());
  ASSERT_TRUE(WaitUntil([&] { return cluster_.OthersSee(2, v1::DEAD); },
                        absl::Seconds(2)))
      << Logs();
  EXPECT_LT(absl::Now() - killed, absl::Seconds(2));
  EXPECT_EQ(node(0).HealthStatus(), 200);  // The survivors stay ready.
}

TEST_F(ClusterTest, PausedNodeIsNeverDead) {
  StartCluster(3);
  node(1).Signal(SIGSTOP);
  // Watch the others while the node is stopped for 300 ms, then for 2 s more.
  const absl::Time resume_at = absl::Now() + absl::Milliseconds(300);
  bool resumed = false;
  bool saw_dead = false;
  WaitUntil(
      [&] {
        if (!resumed && absl::Now() >= resume_at) {
          node(1).Signal(SIGCONT);
          resumed = true;
        }
        saw_dead |= cluster_.AnyoneSees(1, v1::DEAD);
        return saw_dead;
      },
      absl::Milliseconds(2300));
  EXPECT_TRUE(resumed);
  EXPECT_FALSE(saw_dead) << Logs();
  EXPECT_TRUE(cluster_.OthersSee(1, v1::ALIVE));
}

TEST_F(ClusterTest, GracefulStopIsLeftAtOnce) {
  StartCluster(3);
  const std::optional<absl::Duration> took = node(1).Signal(SIGTERM);
  ASSERT_TRUE(took.has_value());
  EXPECT_LT(*took, absl::Seconds(1));
  EXPECT_TRUE(WaitUntil([&] { return cluster_.OthersSee(1, v1::LEFT); },
                        absl::Milliseconds(200)))
      << Logs();
}

TEST_F(ClusterTest, GracefulStopPublishesEverythingItAccepted) {
  StartCluster(2);
  SseReader reader(node(1).spec().http_port);
  // Publish as fast as n0 accepts, across its SIGTERM.
  std::atomic<int> accepted{0};
  std::thread publisher([&] {
    for (int i = 0;; ++i) {
      const int status = node(0)
                             .Post("/v1/invalidations",
                                   InvalidationJson(absl::StrCat("k", i)))
                             .status;
      if (status != 202) return;
      ++accepted;
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return accepted >= 50; }, absl::Seconds(5)));
  const std::optional<absl::Duration> took = node(0).Signal(SIGTERM);
  publisher.join();
  ASSERT_TRUE(took.has_value());
  EXPECT_TRUE(reader.WaitForCount(accepted, absl::Seconds(5)))
      << reader.events().size() << " of " << accepted << " arrived\n"
      << Logs();
  const std::vector<SseReader::Event> events = reader.events();
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    ASSERT_EQ(events[i].event.invalidation().key(), absl::StrCat("k", i));
  }
}

TEST_F(ClusterTest, RestartOnTheSameEndpointIsAliveAgain) {
  StartCluster(3);
  ASSERT_TRUE(node(2).Signal(SIGKILL).has_value());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster_.OthersSee(2, v1::DEAD); }, absl::Seconds(3)));
  node(2).Start();
  ASSERT_TRUE(WaitUntil([&] { return cluster_.AllSee(v1::ALIVE); }, absl::Seconds(3)))
      << Logs();
  SseReader reader(node(2).spec().http_port);
  ASSERT_TRUE(WaitUntil([&] { return node(2).HealthStatus() == 200; },
                        absl::Seconds(6)));
  ExpectPropagates(0, "after-restart", {&reader});
}

TEST_F(ClusterTest, StreamResumesFromLastEventIdWithoutLoss) {
  StartCluster(2);
  uint64_t last_seen = 0;
  {
    SseReader reader(node(1).spec().http_port);
    ExpectPropagates(0, "one", {&reader});
    last_seen = reader.events().back().id;
  }
  // Disconnected: these arrive while nobody reads.
  for (const char* key : {"two", "three"}) {
    ASSERT_EQ(node(0).Post("/v1/invalidations", InvalidationJson(key))
                  .status,
              202);
  }
  SseReader resumed(node(1).spec().http_port, last_seen);
  ASSERT_TRUE(resumed.WaitForCount(2, absl::Seconds(5))) << Logs();
  const std::vector<SseReader::Event> events = resumed.events();
  EXPECT_EQ(events[0].event.invalidation().key(), "two");
  EXPECT_EQ(events[1].event.invalidation().key(), "three");
  EXPECT_EQ(events[0].id, last_seen + 1);
}

TEST_F(ClusterTest, ResumeFromAnUnknownPointStartsWithFlush) {
  StartCluster(2);
  // An id from before this daemon started: its events are gone.
  SseReader reader(node(1).spec().http_port, /*last_event_id=*/1);
  ASSERT_TRUE(reader.WaitForCount(1, absl::Seconds(5))) << Logs();
  EXPECT_EQ(reader.events()[0].type, "flush");
  EXPECT_EQ(reader.events()[0].event.kind(), v1::AppEvent::FLUSH);
}

TEST_F(ClusterTest, DrainTakesTheNodeOutAndBack) {
  StartCluster(2);
  const DaemonProcess::Reply drained = node(0).Post("/v1/drain", "");
  EXPECT_EQ(drained.status, 200);
  const DaemonProcess::Reply health = node(0).Get("/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_THAT(health.body, HasSubstr(R"("status":"DRAINING")"));
  EXPECT_EQ(node(1).HealthStatus(), 200);
  EXPECT_EQ(node(0).Delete("/v1/drain").status, 200);
  EXPECT_EQ(node(0).HealthStatus(), 200);
}

TEST_F(ClusterTest, AppThatIsNotReadyMakesHealthDown) {
  // The app's own health URL: 503 until the test says it is ready.
  httplib::Server app;
  std::atomic<bool> ready{false};
  app.Get("/api/system/ping", [&](const httplib::Request&,
                                   httplib::Response& response) {
    response.status = ready ? 200 : 503;
    response.set_content(ready ? "pong" : "starting", "text/plain");
  });
  const int app_port = app.bind_to_any_port("127.0.0.1");
  std::thread app_thread([&] { app.listen_after_bind(); });
  StartCluster(2, {absl::StrCat("cachemesh.app.health.url = http://127.0.0.1:",
                                app_port, "/api/system/ping"),
                   "cachemesh.app.health.interval.ms = 50"});
  EXPECT_TRUE(WaitUntil(
      [&] {
        const DaemonProcess::Reply health = node(0).Get("/health");
        return health.status == 503 &&
               health.body.find("HTTP 503") != std::string::npos;
      },
      absl::Seconds(3)))
      << node(0).Get("/health").body;
  ready = true;
  EXPECT_TRUE(WaitUntil([&] { return node(0).HealthStatus() == 200; },
                        absl::Seconds(3)))
      << node(0).Get("/health").body;
  app.stop();
  app_thread.join();
}

TEST_F(ClusterTest, MetricsCountWhatHappened) {
  StartCluster(2);
  SseReader reader(node(1).spec().http_port);
  ExpectPropagates(0, "counted", {&reader});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return node(1).Get("/metrics").body.find(
                   "cachemesh_invalidations_received_total 1") !=
               std::string::npos;
      },
      absl::Seconds(2)))
      << node(1).Get("/metrics").body;
  const std::string metrics = node(0).Get("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("cachemesh_invalidations_sent_total 1"));
  EXPECT_THAT(metrics, HasSubstr(R"(cachemesh_members{state="alive"} 2)"));
}

}  // namespace
}  // namespace cachemesh::testing
