// What the HTTP server needs from the rest of the daemon, as an interface
// (so the server can be tested with a fake), and the daemon's implementation
// of it on top of the snapshot store, the command queue and the app prober.
#ifndef CACHEMESH_SERVICE_HTTP_BACKEND_H_
#define CACHEMESH_SERVICE_HTTP_BACKEND_H_

#include <atomic>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/cachemesh.pb.h"
#include "service/app_health.h"
#include "service/command_queue.h"
#include "service/health.h"
#include "service/snapshot.h"

namespace cachemesh {

// Called from any HTTP thread, concurrently; implementations are thread-safe
// and never block on the event loop.
class HttpBackend {
 public:
  virtual ~HttpBackend() = default;

  // The loop's latest snapshot; nullptr before its first.
  virtual std::shared_ptr<const NodeSnapshot> Snapshot() = 0;
  // Hands a validated list to the loop. OK means it will be published;
  // ResourceExhausted means the loop is behind (answer 503).
  virtual absl::Status Publish(v1::InvalidationList list) = 0;
  // Enters or leaves draining; draining() reflects it when this returns OK.
  virtual absl::Status SetDraining(bool draining) = 0;
  virtual bool draining() = 0;
  virtual AppHealthState AppHealth() = 0;
};

// The daemon's backend. The loop must apply SetDrainingCommand and
// PublishCommand from `commands`.
class LoopBackend : public HttpBackend {
 public:
  // All referenced objects must outlive this. `prober` is null when no app
  // health URL is configured.
  LoopBackend(const SnapshotStore& snapshots, CommandQueue& commands,
              const AppHealthProber* prober);

  std::shared_ptr<const NodeSnapshot> Snapshot() override;
  absl::Status Publish(v1::InvalidationList list) override;
  absl::Status SetDraining(bool draining) override;
  bool draining() override;
  AppHealthState AppHealth() override;

 private:
  const SnapshotStore& snapshots_;
  CommandQueue& commands_;
  const AppHealthProber* const prober_;
  // Keeps the flag and the order of drain commands in the queue in step.
  absl::Mutex drain_mutex_;
  std::atomic<bool> draining_{false};
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_HTTP_BACKEND_H_
