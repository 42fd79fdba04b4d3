// Tests of the daemon's metric set.
#include "service/daemon_metrics.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/cachemesh.pb.h"
#include "service/metrics.h"

namespace cachemesh {
namespace {

using ::testing::HasSubstr;

TEST(DaemonMetricsTest, RegistersTheDocumentedNames) {
  MetricsRegistry registry;
  absl::StatusOr<DaemonMetrics> metrics = DaemonMetrics::Register(registry);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  metrics->invalidations_sent->Increment(3);
  metrics->propagation_latency->Observe(0.0002);

  const std::string text = registry.RenderPrometheus();
  for (const char* line : {
           "# TYPE cachemesh_members gauge\n",
           "cachemesh_members{state=\"alive\"} 0\n",
           "cachemesh_members{state=\"suspect\"} 0\n",
           "cachemesh_members{state=\"dead\"} 0\n",
           "cachemesh_members{state=\"left\"} 0\n",
           "cachemesh_invalidations_sent_total 3\n",
           "cachemesh_invalidations_received_total 0\n",
           "cachemesh_invalidations_recovered_total 0\n",
           "cachemesh_flushes_total 0\n",
           "cachemesh_nacks_sent_total 0\n",
           "cachemesh_mesh_bytes_sent_total 0\n",
           "cachemesh_mesh_bytes_received_total 0\n",
           "# TYPE cachemesh_propagation_latency_seconds histogram\n",
           "cachemesh_propagation_latency_seconds_bucket{le=\"5e-05\"} 0\n",
           "cachemesh_propagation_latency_seconds_bucket{le=\"0.00025\"} 1\n",
           "cachemesh_propagation_latency_seconds_bucket{le=\"5\"} 1\n",
           "cachemesh_propagation_latency_seconds_count 1\n",
           "# TYPE cachemesh_heartbeat_lateness_seconds histogram\n",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

TEST(DaemonMetricsTest, RecordsMemberCountsByState) {
  MetricsRegistry registry;
  absl::StatusOr<DaemonMetrics> metrics = DaemonMetrics::Register(registry);
  ASSERT_TRUE(metrics.ok());
  v1::MemberList members;
  for (v1::MemberState state : {v1::ALIVE, v1::ALIVE, v1::SUSPECT, v1::LEFT}) {
    members.add_members()->set_state(state);
  }
  metrics->RecordMembers(members);
  EXPECT_EQ(metrics->members_alive->value(), 2);
  EXPECT_EQ(metrics->members_suspect->value(), 1);
  EXPECT_EQ(metrics->members_dead->value(), 0);
  EXPECT_EQ(metrics->members_left->value(), 1);
}

TEST(DaemonMetricsTest, CannotRegisterTwiceInOneRegistry) {
  MetricsRegistry registry;
  ASSERT_TRUE(DaemonMetrics::Register(registry).ok());
  EXPECT_EQ(DaemonMetrics::Register(registry).status().code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace cachemesh
