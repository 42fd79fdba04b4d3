#include "net/poller.h"

#include <cstddef>

#include "net/zmq_poll.h"
#include "zmq.hpp"

namespace cachemesh {
namespace net {
namespace {

zmq::pollitem_t SocketItem(void* socket) { return {socket, 0, ZMQ_POLLIN, 0}; }

zmq::pollitem_t FdItem(int fd) { return {nullptr, fd, ZMQ_POLLIN, 0}; }

}  // namespace

// Items are laid out as: two per mesh (XPUB, SUB), one per app server, one
// per fd, in that order.
absl::StatusOr<Ready> Poller::Wait(absl::Duration timeout) {
  std::vector<zmq::pollitem_t> items;
  items.reserve(2 * meshes_.size() + app_servers_.size() + fds_.size());
  for (const Mesh* mesh : meshes_) {
    for (void* socket : mesh->PollHandles())
      items.push_back(SocketItem(socket));
  }
  for (const AppServer* app_server : app_servers_) {
    items.push_back(SocketItem(app_server->PollHandle()));
  }
  for (int fd : fds_) items.push_back(FdItem(fd));

  absl::StatusOr<int> count = internal::Poll(items, timeout);
  if (!count.ok()) return count.status();
  Ready ready;
  if (*count == 0) return ready;
  size_t item = 0;
  for (Mesh* mesh : meshes_) {
    const bool readable =
        items[item].revents != 0 || items[item + 1].revents != 0;
    if (readable) ready.meshes.push_back(mesh);
    item += 2;
  }
  for (AppServer* app_server : app_servers_) {
    if (items[item++].revents != 0) ready.app_servers.push_back(app_server);
  }
  for (int fd : fds_) {
    if (items[item++].revents != 0) ready.fds.push_back(fd);
  }
  return ready;
}

}  // namespace net
}  // namespace cachemesh
