// The daemon's side of the local app channel (see net/app_endpoint.h): apps
// PUSH invalidation lists in, the daemon PUBlishes app events out, many to a
// message (net::AppEventFrame).
//
// Apps that prefer ZeroMQ to HTTP use it through net::Client. Event delivery
// is PUB/SUB: an app that falls more than the high-water mark (counted in
// messages) behind loses events, and an app subscribing late misses earlier
// ones. Publish events with `event_id` rising by exactly one per event, so
// that clients notice a gap and flush (net::Client does; an event_id of 0
// turns its check off).
//
// Not thread-safe: one thread (the daemon's event loop) owns an AppServer.
// Wait for input with net::Poller, then Drain.
#ifndef CACHEMESH_NET_APP_CHANNEL_H_
#define CACHEMESH_NET_APP_CHANNEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/app_event_frame.h"
#include "net/context.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace net {

struct AppServerOptions {
  // Invalidation lists queued from apps (ZMQ_RCVHWM on the PULL); beyond it
  // apps' Publish waits, then fails. Positive.
  int receive_hwm = 100000;
  // Event messages queued per app (ZMQ_SNDHWM on the PUB); beyond it that
  // app loses events. Positive.
  int send_hwm = 100000;
  // Drain reads at most this many messages per call. Positive.
  int max_messages_per_drain = 10000;
};

struct AppServerStats {
  uint64_t lists_received = 0;
  // Messages that were not one frame holding an InvalidationList.
  uint64_t lists_rejected = 0;
  uint64_t events_published = 0;
  uint64_t frames_published = 0;
};

class AppServer {
 public:
  // Binds the PULL on `endpoint` and the PUB on AppEventsEndpoint(endpoint).
  // An ipc:// socket file left by a dead daemon is replaced. `context` must
  // outlive the AppServer.
  static absl::StatusOr<std::unique_ptr<AppServer>> Create(
      Context& context, const std::string& endpoint,
      const AppServerOptions& options = AppServerOptions());

  AppServer(const AppServer&) = delete;
  AppServer& operator=(const AppServer&) = delete;
  ~AppServer();

  const std::string& endpoint() const { return endpoint_; }
  const std::string& events_endpoint() const { return events_endpoint_; }

  // The invalidation lists apps sent, in arrival order, at most
  // `max_messages_per_drain` messages. Never blocks. Unreadable messages are
  // skipped and counted in stats().lists_rejected.
  absl::StatusOr<std::vector<v1::InvalidationList>> Drain();

  // Sends `frame`'s events, as one message, to every connected app. Never
  // blocks. An empty frame sends nothing.
  absl::Status Publish(const AppEventFrame& frame);

  AppServerStats stats() const { return stats_; }

 private:
  friend class Poller;
  struct Sockets;  // The zmq sockets, defined in app_channel.cc.

  AppServer(std::unique_ptr<Sockets> sockets, std::string endpoint,
            std::string events_endpoint, int max_messages_per_drain);

  // Raw zmq handle of the PULL socket, for net::Poller.
  void* PollHandle() const;

  std::unique_ptr<Sockets> sockets_;
  std::string endpoint_;
  std::string events_endpoint_;
  int max_messages_per_drain_;
  AppServerStats stats_;
};

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_APP_CHANNEL_H_
