// GET /health: whether this node should take traffic, and why not.
//
// A pure function of what the HTTP thread can see: the latest snapshot, the
// draining flag and the local app's health.
#ifndef CACHEMESH_SERVICE_HEALTH_H_
#define CACHEMESH_SERVICE_HEALTH_H_

#include <string>

#include "absl/time/time.h"
#include "proto/cachemesh.pb.h"
#include "service/snapshot.h"

namespace cachemesh {

// The local app's health, as the prober last saw it.
struct AppHealthState {
  enum class Status { kUnknown, kUp, kDown };
  // cachemesh.app.health.url is set. When false the rest is ignored.
  bool configured = false;
  Status status = Status::kUnknown;
  // Why it is not up, naming the URL; empty when up.
  std::string reason;
  // When the last probe finished; InfinitePast() before the first.
  absl::Time checked_at = absl::InfinitePast();
};

struct HealthResult {
  v1::Health health;
  // 200 when status is "UP", else 503.
  int http_status = 503;
};

// Not ready ("DOWN") while: no snapshot yet; startup not synced; the cache is
// untrusted; the app health URL is configured and not up (failing or not yet
// checked). "DRAINING" while draining, whatever else holds. `reasons` lists
// every cause. `snapshot` may be null (the loop has not published yet).
HealthResult EvaluateHealth(const NodeSnapshot* snapshot, bool draining,
                            const AppHealthState& app);

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_HEALTH_H_
