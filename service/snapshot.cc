#include "service/snapshot.h"

#include <utility>

namespace cachemesh {

void SnapshotStore::Publish(NodeSnapshot snapshot) {
  std::shared_ptr<const NodeSnapshot> previous =
      std::make_shared<const NodeSnapshot>(std::move(snapshot));
  {
    absl::MutexLock lock(&mutex_);
    latest_.swap(previous);
  }
  // `previous` is released here, outside the lock.
}

std::shared_ptr<const NodeSnapshot> SnapshotStore::Latest() const {
  absl::MutexLock lock(&mutex_);
  return latest_;
}

}  // namespace cachemesh
