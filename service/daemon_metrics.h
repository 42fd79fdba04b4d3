// The metrics cachemeshd exports, registered in one place so the event loop
// gets plain pointers to update and /metrics always shows the same set.
#ifndef CACHEMESH_SERVICE_DAEMON_METRICS_H_
#define CACHEMESH_SERVICE_DAEMON_METRICS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "proto/cachemesh.pb.h"
#include "service/metrics.h"

namespace cachemesh {

// Bucket upper bounds in seconds, 50 µs to 5 s.
std::vector<double> PropagationLatencyBuckets();
// Bucket upper bounds in seconds, 1 ms to 10 s.
std::vector<double> HeartbeatLatenessBuckets();

// Owned by the registry they were registered in; valid as long as it is.
struct DaemonMetrics {
  // Registers every metric below in `registry`, with a restart_pending
  // series for each of `restart_keys`. Fails if any of these names is
  // already registered there.
  static absl::StatusOr<DaemonMetrics> Register(
      MetricsRegistry& registry,
      const std::vector<std::string>& restart_keys = {});

  // Sets the cachemesh_members gauges from the member list (self included).
  void RecordMembers(const v1::MemberList& members) const;

  // cachemesh_members{state="alive|suspect|dead|left"}
  Gauge* members_alive = nullptr;
  Gauge* members_suspect = nullptr;
  Gauge* members_dead = nullptr;
  Gauge* members_left = nullptr;
  // cachemesh_invalidations_{sent,received,recovered}_total
  Counter* invalidations_sent = nullptr;
  Counter* invalidations_received = nullptr;
  Counter* invalidations_recovered = nullptr;
  // cachemesh_flushes_total
  Counter* flushes = nullptr;
  // cachemesh_nacks_sent_total
  Counter* nacks_sent = nullptr;
  // cachemesh_mesh_bytes_{sent,received}_total
  Counter* mesh_bytes_sent = nullptr;
  Counter* mesh_bytes_received = nullptr;
  // cachemesh_propagation_latency_seconds: origin publish to local delivery.
  Histogram* propagation_latency = nullptr;
  // cachemesh_heartbeat_lateness_seconds: how much later than the heartbeat
  // interval a heartbeat came (the daemon decides whose: sent or received).
  Histogram* heartbeat_lateness = nullptr;
  // cachemesh_redis_clients, cachemesh_redis_subscriptions: the Redis
  // endpoint's connections and their channels plus patterns, now.
  Gauge* redis_clients = nullptr;
  Gauge* redis_subscriptions = nullptr;
  // cachemesh_redis_messages_total{direction="in|out"}: PUBLISHes taken,
  // messages queued to subscribers.
  Counter* redis_messages_in = nullptr;
  Counter* redis_messages_out = nullptr;
  // cachemesh_redis_losses_total: times a Redis subscriber may have missed
  // messages (each runs the flush action).
  Counter* redis_losses = nullptr;
  // cachemesh_flush_actions_total{result="run|succeeded|failed"}.
  Counter* flush_runs = nullptr;
  Counter* flush_succeeded = nullptr;
  Counter* flush_failed = nullptr;
  // cachemesh_config_reloads_total{result="applied|refused"}: SIGHUPs.
  Counter* config_reloads_applied = nullptr;
  Counter* config_reloads_refused = nullptr;
  // cachemesh_config_restart_pending{key="..."}: 1 while a changed value of
  // that key waits for a restart, one series per key that can need one.
  absl::flat_hash_map<std::string, Gauge*> restart_pending;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_DAEMON_METRICS_H_
