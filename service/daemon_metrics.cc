#include "service/daemon_metrics.h"

#include <utility>

#include "absl/status/status.h"

namespace cachemesh {
namespace {

// Collects registration results: keeps the first error, else assigns.
class Registration {
 public:
  template <typename T>
  void Take(absl::StatusOr<T*> result, T*& out) {
    if (!result.ok()) {
      if (status_.ok()) status_ = result.status();
      return;
    }
    out = *result;
  }
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

constexpr char kMembersHelp[] = "Members by state, as this node sees them.";

}  // namespace

std::vector<double> PropagationLatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
}

std::vector<double> HeartbeatLatenessBuckets() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

absl::StatusOr<DaemonMetrics> DaemonMetrics::Register(
    MetricsRegistry& registry, const std::vector<std::string>& restart_keys) {
  DaemonMetrics m;
  Registration r;
  r.Take(registry.AddGauge("cachemesh_members", kMembersHelp,
                           {{"state", "alive"}}),
         m.members_alive);
  r.Take(registry.AddGauge("cachemesh_members", kMembersHelp,
                           {{"state", "suspect"}}),
         m.members_suspect);
  r.Take(
      registry.AddGauge("cachemesh_members", kMembersHelp, {{"state", "dead"}}),
      m.members_dead);
  r.Take(
      registry.AddGauge("cachemesh_members", kMembersHelp, {{"state", "left"}}),
      m.members_left);
  r.Take(registry.AddCounter("cachemesh_invalidations_sent_total",
                             "Invalidations this node published to the mesh."),
         m.invalidations_sent);
  r.Take(registry.AddCounter(
             "cachemesh_invalidations_received_total",
             "Invalidations from other members delivered to the local app."),
         m.invalidations_received);
  r.Take(registry.AddCounter(
             "cachemesh_invalidations_recovered_total",
             "Invalidations delivered only after a NACK and retransmission."),
         m.invalidations_recovered);
  r.Take(registry.AddCounter("cachemesh_flushes_total",
                             "FLUSH events for invalidations that could not "
                             "be recovered (the startup FLUSH not counted)."),
         m.flushes);
  r.Take(registry.AddCounter("cachemesh_nacks_sent_total",
                             "Missing ranges this node asked to be resent."),
         m.nacks_sent);
  r.Take(registry.AddCounter("cachemesh_mesh_bytes_sent_total",
                             "Bytes of envelopes sent on the mesh."),
         m.mesh_bytes_sent);
  r.Take(registry.AddCounter("cachemesh_mesh_bytes_received_total",
                             "Bytes of envelopes received from the mesh."),
         m.mesh_bytes_received);
  r.Take(registry.AddHistogram(
             "cachemesh_propagation_latency_seconds",
             "Time from an invalidation's first send by its origin to its "
             "delivery here.",
             PropagationLatencyBuckets()),
         m.propagation_latency);
  r.Take(registry.AddHistogram(
             "cachemesh_heartbeat_lateness_seconds",
             "How much later than the heartbeat interval heartbeats came.",
             HeartbeatLatenessBuckets()),
         m.heartbeat_lateness);
  r.Take(registry.AddGauge("cachemesh_redis_clients",
                           "Connections to the Redis-protocol endpoint."),
         m.redis_clients);
  r.Take(registry.AddGauge("cachemesh_redis_subscriptions",
                           "Channels and patterns its clients subscribe to."),
         m.redis_subscriptions);
  constexpr absl::string_view kRedisMessagesHelp =
      "Redis-protocol messages: PUBLISHes taken (in), messages queued to "
      "local subscribers (out).";
  r.Take(registry.AddCounter("cachemesh_redis_messages_total",
                             kRedisMessagesHelp, {{"direction", "in"}}),
         m.redis_messages_in);
  r.Take(registry.AddCounter("cachemesh_redis_messages_total",
                             kRedisMessagesHelp, {{"direction", "out"}}),
         m.redis_messages_out);
  r.Take(registry.AddCounter("cachemesh_redis_losses_total",
                             "Times a Redis subscriber may have missed "
                             "messages: it fell behind, stayed away longer "
                             "than cachemesh.redis.park.ms, or went away with "
                             "messages unsent. Each runs the flush action."),
         m.redis_losses);
  constexpr absl::string_view kFlushHelp =
      "Flush action HTTP requests to the local app, and how they ended.";
  r.Take(registry.AddCounter("cachemesh_flush_actions_total", kFlushHelp,
                             {{"result", "run"}}),
         m.flush_runs);
  r.Take(registry.AddCounter("cachemesh_flush_actions_total", kFlushHelp,
                             {{"result", "succeeded"}}),
         m.flush_succeeded);
  r.Take(registry.AddCounter("cachemesh_flush_actions_total", kFlushHelp,
                             {{"result", "failed"}}),
         m.flush_failed);
  constexpr absl::string_view kReloadsHelp =
      "SIGHUP re-reads of the config file: applied, or refused (invalid "
      "file, nothing changed).";
  r.Take(registry.AddCounter("cachemesh_config_reloads_total", kReloadsHelp,
                             {{"result", "applied"}}),
         m.config_reloads_applied);
  r.Take(registry.AddCounter("cachemesh_config_reloads_total", kReloadsHelp,
                             {{"result", "refused"}}),
         m.config_reloads_refused);
  for (const std::string& key : restart_keys) {
    r.Take(registry.AddGauge("cachemesh_config_restart_pending",
                             "1 while a changed value of this dhis.conf key "
                             "waits for a restart to take effect.",
                             {{"key", key}}),
           m.restart_pending[key]);
  }
  if (!r.status().ok()) return r.status();
  return m;
}

void DaemonMetrics::RecordMembers(const v1::MemberList& members) const {
  double alive = 0, suspect = 0, dead = 0, left = 0;
  for (const v1::MemberView& member : members.members()) {
    switch (member.state()) {
      case v1::ALIVE:
        ++alive;
        break;
      case v1::SUSPECT:
        ++suspect;
        break;
      case v1::DEAD:
        ++dead;
        break;
      case v1::LEFT:
        ++left;
        break;
      default:
        break;
    }
  }
  members_alive->Set(alive);
  members_suspect->Set(suspect);
  members_dead->Set(dead);
  members_left->Set(left);
}

}  // namespace cachemesh
