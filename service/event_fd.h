// A Linux eventfd that wakes the event loop: written from any thread or a
// signal handler (RequestStop, RequestReload), read by the loop.
#ifndef CACHEMESH_SERVICE_EVENT_FD_H_
#define CACHEMESH_SERVICE_EVENT_FD_H_

#include <memory>

#include "absl/status/statusor.h"

namespace cachemesh {

class EventFd {
 public:
  // A non-blocking, close-on-exec eventfd.
  static absl::StatusOr<std::unique_ptr<EventFd>> Create();
  ~EventFd();
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;

  // For the poller.
  int fd() const { return fd_; }
  // Thread-safe and async-signal-safe; a full counter still wakes.
  void Notify() const;
  // Reads the counter to zero; true if it had been notified.
  bool Consume() const;

 private:
  explicit EventFd(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_EVENT_FD_H_
