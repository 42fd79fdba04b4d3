// One wait over everything the daemon's event loop listens to: mesh sockets,
// the app channel, and plain file descriptors (e.g. an eventfd that HTTP
// threads write to wake the loop).
//
// Readiness is level-triggered: whatever is not drained is reported again by
// the next Wait. The Poller only reports; the caller then drains (Mesh::Drain,
// AppServer::Drain, read() on the fd).
//
// Not thread-safe; added objects must outlive the Poller.
#ifndef CACHEMESH_NET_POLLER_H_
#define CACHEMESH_NET_POLLER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/app_channel.h"
#include "net/mesh.h"

namespace cachemesh {
namespace net {

// What became readable during a Wait.
struct Ready {
  std::vector<Mesh*> meshes;
  std::vector<AppServer*> app_servers;
  std::vector<int> fds;

  bool empty() const {
    return meshes.empty() && app_servers.empty() && fds.empty();
  }
};

class Poller {
 public:
  // A mesh is readable when a payload or a (un)subscription waits.
  void Add(Mesh* mesh) { meshes_.push_back(mesh); }
  // An app server is readable when an app's invalidation list waits.
  void Add(AppServer* app_server) { app_servers_.push_back(app_server); }
  // A file descriptor is reported when poll(2) says readable (or in error).
  void AddFd(int fd) { fds_.push_back(fd); }

  // Waits until something is readable or `timeout` passes (rounded up to a
  // whole millisecond; absl::InfiniteDuration() waits forever, zero or less
  // only looks). Returns an empty Ready on timeout or when a signal
  // interrupted the wait.
  absl::StatusOr<Ready> Wait(absl::Duration timeout);

 private:
  std::vector<Mesh*> meshes_;
  std::vector<AppServer*> app_servers_;
  std::vector<int> fds_;
};

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_POLLER_H_
