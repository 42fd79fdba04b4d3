// Commands from the HTTP threads to the event loop.
//
// HTTP threads Push(); the loop polls wake_fd() (an eventfd) next to its zmq
// sockets and calls Drain() when it is readable. A command is either fully
// queued (Push returns OK, the HTTP answer may promise delivery) or rejected;
// nothing accepted is ever dropped.
#ifndef CACHEMESH_SERVICE_COMMAND_QUEUE_H_
#define CACHEMESH_SERVICE_COMMAND_QUEUE_H_

#include <cstddef>
#include <memory>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

// Publish these invalidations from the local app to the mesh.
struct PublishCommand {
  v1::InvalidationList list;
};

// Enter (true) or leave (false) draining.
struct SetDrainingCommand {
  bool draining = false;
};

using Command = std::variant<PublishCommand, SetDrainingCommand>;

class CommandQueue {
 public:
  // `capacity` bounds the pending work, counted in invalidations; any other
  // command counts as one. Fails if the eventfd cannot be created.
  static absl::StatusOr<std::unique_ptr<CommandQueue>> Create(size_t capacity);
  ~CommandQueue();
  CommandQueue(const CommandQueue&) = delete;
  CommandQueue& operator=(const CommandQueue&) = delete;

  // Queues `command` and makes wake_fd() readable. ResourceExhausted when it
  // does not fit right now (retry later); InvalidArgument when it is larger
  // than the whole capacity (it never will).
  absl::Status Push(Command command);
  // Everything queued, oldest first. Afterwards wake_fd() is readable again
  // only once something new is pushed.
  std::vector<Command> Drain();

  // Readable (POLLIN) exactly while commands are pending. Owned by the queue.
  int wake_fd() const { return wake_fd_; }
  size_t capacity() const { return capacity_; }

 private:
  CommandQueue(size_t capacity, int wake_fd);

  const size_t capacity_;
  const int wake_fd_;
  absl::Mutex mutex_;
  std::vector<Command> pending_ ABSL_GUARDED_BY(mutex_);
  size_t pending_cost_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_COMMAND_QUEUE_H_
