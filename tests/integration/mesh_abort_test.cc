// Node n2's mesh connections are aborted again and again (`ss -K`) while n0
// and n1 publish through the HTTP API: n2's app must still get every
// invalidation, in order per origin, and no FLUSH, because both origins stay
// alive and hold what n2 missed (docs/PROTOCOL.md, "Recovery").
//
// `ss -K` needs root and a kernel with INET_DIAG_DESTROY. The test runs
// itself again in a private network namespace (unshare -n), so that it
// aborts only its own daemons' connections; where that cannot work it fails
// and says why: a skip would hide that the scenario was never run.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_cluster.h"

namespace cachemesh::testing {
namespace {

// Each publisher's pace and how long it publishes.
constexpr absl::Duration kPublishEvery = absl::Milliseconds(5);
constexpr absl::Duration kPublishFor = absl::Seconds(3);
// When the aborts start (after publishing started), for how long, and how
// often n2's connections are aborted.
constexpr absl::Duration kAbortAfter = absl::Milliseconds(750);
constexpr absl::Duration kAbortFor = absl::Milliseconds(1500);
constexpr absl::Duration kAbortEvery = absl::Milliseconds(50);

// Aborts every established mesh connection of `cluster`'s node `victim`:
// to its cache port (its subscribers) and from it to the others' (its own
// subscriptions), both ends. Returns how many sockets `ss -K` reported.
int AbortMeshConnections(TestCluster& cluster, int victim) {
  const DaemonSpec& spec = cluster.node(victim).spec();
  std::string local_ports = absl::StrCat("sport = :", spec.cache_port);
  std::string remote_ports = absl::StrCat("dport = :", spec.cache_port);
  for (int i = 0; i < cluster.size(); ++i) {
    if (i == victim) continue;
    const int port = cluster.node(i).spec().cache_port;
    absl::StrAppend(&local_ports, " or dport = :", port);
    absl::StrAppend(&remote_ports, " or sport = :", port);
  }
  const std::string filter = absl::StrCat(
      "( src ", spec.host, " and ( ", local_ports, " ) ) or ( dst ", spec.host,
      " and ( ", remote_ports, " ) )");
  const std::string output =
      RunShell(absl::StrCat("ss -K -t -n state established '", filter, "'"))
          .second;
  int aborted = 0;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    aborted += absl::StrContains(line, spec.host);
  }
  return aborted;
}

// The value of the counter `name` in a Prometheus text page, 0 if absent.
double Counter(const std::string& metrics, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::ConsumePrefix(&line, name) || !absl::ConsumePrefix(&line, " ")) {
      continue;
    }
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return 0;
}

// How many times n2's log says it recovered lost invalidations (each line
// is one turn of its event loop that delivered retransmissions).
int RecoveryLogLines(const std::string& log) {
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    lines += absl::StrContains(line, "lost invalidations from");
  }
  return lines;
}

// Publishes "<id>-0", "<id>-1", ... on `node` every kPublishEvery for
// kPublishFor; returns how many were accepted (202) before the first
// refusal, which fails the test.
int PublishPaced(DaemonProcess& node) {
  const absl::Time start = absl::Now();
  int accepted = 0;
  for (absl::Time next = start; next < start + kPublishFor;
       next += kPublishEvery) {
    absl::SleepFor(next - absl::Now());  // Pacing: the load, not a wait.
    const DaemonProcess::Reply reply = node.Post(
        "/v1/invalidations",
        InvalidationJson(absl::StrCat(node.spec().id, "-", accepted)));
    if (reply.status != 202) {
      ADD_FAILURE() << node.spec().id << " refused a publish: " << reply.status
                    << " " << reply.body;
      break;
    }
    ++accepted;
  }
  return accepted;
}

TEST(MeshAbortTest, AbortedConnectionsAreRecoveredWithoutAFlush) {
  if (!InPrivateNetwork()) {
    ASSERT_EQ(geteuid(), 0)
        << "needs root: `ss -K` aborts connections through "
           "INET_DIAG_DESTROY, and `unshare -n` makes the network of its own";
    ASSERT_TRUE(CanMakePrivateNetwork())
        << "`unshare -n` failed: cannot make a private network namespace";
    EXPECT_EQ(RerunInPrivateNetwork("MeshAbortTest.*"), 0);
    return;
  }
  ASSERT_EQ(RunShell("ip link set lo up").first, 0);
  TestCluster cluster;
  std::string why;
  // Node i on 127.0.0.(i+1): n2's own connections can be told apart.
  ASSERT_TRUE(cluster.Start(
      3,
      [](int i, DaemonSpec& spec) {
        spec.host = absl::StrCat("127.0.0.", i + 1);
      },
      &why))
      << why;
  DaemonProcess& n2 = cluster.node(2);
  ASSERT_TRUE(
      WaitUntil([&] { return n2.HealthStatus() == 200; }, absl::Seconds(6)))
      << n2.Get("/health").body;
  SseReader reader(n2.spec().http_port);
  ASSERT_TRUE(WaitUntil([&] { return reader.connected(); }, absl::Seconds(5)));

  std::atomic<int> published[2] = {0, 0};
  std::vector<std::thread> publishers;
  for (int i : {0, 1}) {
    publishers.emplace_back(
        [&, i] { published[i] = PublishPaced(cluster.node(i)); });
  }
  // The aborts: the scenario's own pacing, as `ss -K` in a loop would do.
  absl::SleepFor(kAbortAfter);
  int rounds = 0;
  int aborted = 0;
  int rounds_with_aborts = 0;
  int first_round_aborted = 0;
  bool health_named_a_gap = false;
  const absl::Time stop = absl::Now() + kAbortFor;
  for (absl::Time next = absl::Now(); next < stop; next += kAbortEvery) {
    absl::SleepFor(next - absl::Now());
    const int now_aborted = AbortMeshConnections(cluster, 2);
    aborted += now_aborted;
    rounds_with_aborts += now_aborted > 0;
    if (rounds++ == 0) first_round_aborted = now_aborted;
    health_named_a_gap |=
        absl::StrContains(n2.Get("/health").body, "waiting for");
  }
  for (std::thread& publisher : publishers) publisher.join();
  ASSERT_GT(first_round_aborted, 0)
      << "`ss -K` aborted none of n2's mesh connections: it needs root and a "
         "kernel built with CONFIG_INET_DIAG_DESTROY";

  const size_t expected = published[0] + published[1];
  EXPECT_TRUE(reader.WaitForCount(expected, absl::Seconds(20)))
      << reader.events().size() << " of " << expected << " arrived\n"
      << n2.Get("/health").body << "\n"
      << cluster.Logs();
  std::vector<std::string> flushes;
  int next_index[2] = {0, 0};
  for (const SseReader::Event& event : reader.events()) {
    if (event.type == "flush") {
      flushes.push_back(event.event.reason());
      continue;
    }
    const std::string& origin = event.event.origin_id();
    ASSERT_TRUE(origin == "n0" || origin == "n1") << origin;
    const int i = origin == "n0" ? 0 : 1;
    ASSERT_EQ(event.event.invalidation().key(),
              absl::StrCat(origin, "-", next_index[i]))
        << "out of order or missing from " << origin;
    ++next_index[i];
  }
  EXPECT_EQ(next_index[0], published[0]);
  EXPECT_EQ(next_index[1], published[1]);
  EXPECT_THAT(flushes, ::testing::IsEmpty()) << cluster.Logs();
  EXPECT_TRUE(
      WaitUntil([&] { return n2.HealthStatus() == 200; }, absl::Seconds(5)))
      << n2.Get("/health").body;

  const std::string metrics = n2.Get("/metrics").body;
  std::cout << "published " << published[0] << " + " << published[1]
            << "; ss -K aborted " << aborted << " connections in "
            << rounds_with_aborts << " of " << rounds
            << " rounds; n2 recovered "
            << Counter(metrics, "cachemesh_invalidations_recovered_total")
            << " invalidations in " << RecoveryLogLines(n2.log())
            << " recoveries, sent "
            << Counter(metrics, "cachemesh_nacks_sent_total")
            << " NACKs, flushed " << Counter(metrics, "cachemesh_flushes_total")
            << " times"
            << "; /health named an open gap: "
            << (health_named_a_gap ? "yes" : "no") << std::endl;
}

}  // namespace
}  // namespace cachemesh::testing
