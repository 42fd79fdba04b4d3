// The event loop's view of this node, published for the HTTP threads.
//
// The loop thread owns the protocol; after every iteration it builds a fresh,
// immutable NodeSnapshot and publishes it. HTTP threads only ever read the
// latest snapshot, so they never touch protocol state or sockets.
#ifndef CACHEMESH_SERVICE_SNAPSHOT_H_
#define CACHEMESH_SERVICE_SNAPSHOT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

struct NodeSnapshot {
  // This node's member id.
  std::string self_id;
  // Every member as this node sees it, this node included (self = true).
  v1::MemberList members;
  // Startup sync is done, or its bounded wait expired.
  bool synced = false;
  // Why this node's cache cannot be trusted right now; empty if it can.
  std::vector<std::string> untrusted_reasons;
  // When the loop built this snapshot; /health/live checks its age.
  absl::Time taken_at = absl::InfinitePast();
};

// Holds the latest snapshot. Thread-safe; readers get a shared, immutable
// snapshot that stays valid however long they keep it.
class SnapshotStore {
 public:
  void Publish(NodeSnapshot snapshot);
  // nullptr until the first Publish.
  std::shared_ptr<const NodeSnapshot> Latest() const;

 private:
  mutable absl::Mutex mutex_;
  std::shared_ptr<const NodeSnapshot> latest_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_SNAPSHOT_H_
