#include "service/command_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cachemesh {
namespace {

size_t CostOf(const Command& command) {
  if (const auto* publish = std::get_if<PublishCommand>(&command)) {
    return std::max<size_t>(1, publish->list.invalidations_size());
  }
  return 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CommandQueue>> CommandQueue::Create(
    size_t capacity) {
  if (capacity == 0) {
    return absl::InvalidArgumentError("command queue capacity must be > 0");
  }
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("eventfd for the command queue: ", std::strerror(errno)));
  }
  return std::unique_ptr<CommandQueue>(new CommandQueue(capacity, fd));
}

CommandQueue::CommandQueue(size_t capacity, int wake_fd)
    : capacity_(capacity), wake_fd_(wake_fd) {}

CommandQueue::~CommandQueue() { close(wake_fd_); }

absl::Status CommandQueue::Push(Command command) {
  const size_t cost = CostOf(command);
  if (cost > capacity_) {
    return absl::InvalidArgumentError(
        absl::StrCat(cost, " invalidations exceed the command queue capacity ",
                     capacity_, "; send them in smaller requests"));
  }
  absl::MutexLock lock(&mutex_);
  if (pending_cost_ + cost > capacity_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "command queue is full (", pending_cost_, " of ", capacity_,
        " pending); the event loop is behind, retry later"));
  }
  if (pending_.empty()) {
    // The counter can only overflow after 2^64 - 2 wakes without a Drain.
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof(one)) != sizeof(one)) {
      return absl::InternalError(
          absl::StrCat("waking the event loop: ", std::strerror(errno)));
    }
  }
  pending_.push_back(std::move(command));
  pending_cost_ += cost;
  return absl::OkStatus();
}

std::vector<Command> CommandQueue::Drain() {
  std::vector<Command> drained;
  absl::MutexLock lock(&mutex_);
  if (pending_.empty()) return drained;
  // Resets the counter. It is non-zero while commands are pending, so this
  // read cannot fail with EAGAIN.
  uint64_t wakes = 0;
  const ssize_t read_bytes = read(wake_fd_, &wakes, sizeof(wakes));
  (void)read_bytes;
  drained.swap(pending_);
  pending_cost_ = 0;
  return drained;
}

}  // namespace cachemesh
