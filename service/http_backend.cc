#include "service/http_backend.h"

#include <utility>

namespace cachemesh {

LoopBackend::LoopBackend(const SnapshotStore& snapshots, CommandQueue& commands,
                         const AppHealthProber* prober)
    : snapshots_(snapshots), commands_(commands), prober_(prober) {}

std::shared_ptr<const NodeSnapshot> LoopBackend::Snapshot() {
  return snapshots_.Latest();
}

absl::Status LoopBackend::Publish(v1::InvalidationList list) {
  return commands_.Push(PublishCommand{std::move(list)});
}

absl::Status LoopBackend::SetDraining(bool draining) {
  absl::MutexLock lock(&drain_mutex_);
  if (absl::Status pushed = commands_.Push(SetDrainingCommand{draining});
      !pushed.ok()) {
    return pushed;
  }
  draining_.store(draining);
  return absl::OkStatus();
}

bool LoopBackend::draining() { return draining_.load(); }

AppHealthState LoopBackend::AppHealth() {
  return prober_ == nullptr ? AppHealthState{} : prober_->Current();
}

}  // namespace cachemesh
