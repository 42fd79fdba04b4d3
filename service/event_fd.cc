#include "service/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cachemesh {

absl::StatusOr<std::unique_ptr<EventFd>> EventFd::Create() {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  return std::unique_ptr<EventFd>(new EventFd(fd));
}

EventFd::~EventFd() { close(fd_); }

void EventFd::Notify() const {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof(one));
}

bool EventFd::Consume() const {
  uint64_t value = 0;
  return read(fd_, &value, sizeof(value)) == sizeof(value);
}

}  // namespace cachemesh
