// The C++ client library for apps that talk to their local cachemesh daemon
// over ZeroMQ instead of HTTP (see net/app_endpoint.h for the channel).
//
// Usage:
//
//   #include "net/client.h"
//
//   namespace cm = cachemesh;
//   absl::StatusOr<std::unique_ptr<cm::net::Client>> client =
//       cm::net::Client::Connect(cm::net::DefaultAppEndpoint(4001));
//   if (!client.ok()) return client.status();
//
//   cm::v1::InvalidationList changed;
//   cm::v1::Invalidation* update = changed.add_invalidations();
//   update->set_op(cm::v1::Invalidation::UPDATE);
//   update->set_region("org.hisp.dhis.dataelement.DataElement");
//   update->set_key("fbfJHSPpUQD");
//   if (absl::Status sent = (*client)->Publish(changed); !sent.ok()) {
//     // The daemon did not take it: the other members were not told.
//   }
//
//   for (;;) {  // e.g. on the app's cache thread
//     absl::StatusOr<std::optional<cm::v1::AppEvent>> event =
//         (*client)->Receive(absl::Seconds(1));
//     if (!event.ok()) break;             // See event.status().
//     if (!event->has_value()) continue;  // Nothing within the timeout.
//     if ((*event)->kind() == cm::v1::AppEvent::FLUSH) {
//       local_cache.Clear();
//     } else {
//       local_cache.Apply((*event)->invalidation());
//     }
//   }
//
// An app that takes many events at once calls ReceiveAll instead, which hands
// each event of the daemon's next message to a callback, uncopied:
//
//   absl::StatusOr<size_t> handled = (*client)->ReceiveAll(
//       absl::Seconds(1), [&](const cm::v1::AppEvent& event) { ... });
//
// Events arrive only while connected: the app's cache must start empty (or
// be flushed) when the client connects. Receive turns every event it cannot
// vouch for into a FLUSH: a gap in `event_id` (events dropped because the app
// fell behind, or the daemon restarted) or an unreadable message; so does
// ReceiveAll.
//
// Not thread-safe. Publish and Receive use separate sockets, but a Client
// must still be used by one thread at a time; use two Clients for two
// threads.
#ifndef CACHEMESH_NET_CLIENT_H_
#define CACHEMESH_NET_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/arena.h"
#include "net/app_endpoint.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace net {

class Context;

struct ClientOptions {
  // Publish waits at most this long for a connection to the daemon (and for
  // room in its queue) before it fails.
  absl::Duration send_timeout = absl::Seconds(1);
  // Destroying the Client waits at most this long to hand over invalidations
  // that Publish accepted but did not send yet.
  absl::Duration linger = absl::Seconds(1);
  // Event messages (each a turn of the daemon's loop, one or more events)
  // queued in the client before the daemon drops them for this app.
  int receive_hwm = 100000;
};

class Client {
 public:
  // Connects to the daemon's app channel at `endpoint` (ipc:// or inproc://;
  // usually DefaultAppEndpoint(cache port)). Connecting happens in the
  // background: a daemon that is not up yet is not an error here, and is
  // reconnected to when it restarts.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const std::string& endpoint,
      const ClientOptions& options = ClientOptions());

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Hands `invalidations` to the daemon, which sends them to every member.
  // Unavailable when no daemon takes it within `send_timeout`. OK means the
  // daemon's connection accepted it; a daemon crashing right then loses it.
  absl::Status Publish(const v1::InvalidationList& invalidations);

  // The next event, waiting at most `timeout` (absl::InfiniteDuration()
  // waits forever); std::nullopt when none came in time.
  absl::StatusOr<std::optional<v1::AppEvent>> Receive(absl::Duration timeout);

  // For apps that take events in bulk: waits at most `timeout` for events,
  // then calls `handle` on each event of the daemon's next message (or what
  // is left of it after Receive), in order, as Receive would return them.
  // Returns how many; 0 when none came in time. The events are parsed into
  // an arena the Client reuses and handed over uncopied (Receive copies
  // each); an event is valid only during its call. `handle` must not call
  // back into the Client.
  absl::StatusOr<size_t> ReceiveAll(
      absl::Duration timeout,
      absl::FunctionRef<void(const v1::AppEvent&)> handle);

 private:
  struct Sockets;  // The zmq sockets, defined in client.cc.

  Client(std::unique_ptr<Context> context, std::unique_ptr<Sockets> sockets,
         std::string endpoint);

  // Reads the daemon's next message into batch_ (or an unreadable one as a
  // FLUSH), waiting at most `timeout`; false if none came.
  absl::StatusOr<bool> ReceiveFrame(absl::Duration timeout);
  // The next event to hand out, or nullptr if none is ready: a FLUSH for
  // events missing before batch_.events(next_), or that event.
  v1::AppEvent* Peek();
  // Moves past the event Peek returned.
  void Pop();

  // Declared before sockets_: the sockets close before the context ends.
  std::unique_ptr<Context> context_;
  std::unique_ptr<Sockets> sockets_;
  std::string endpoint_;
  std::string events_endpoint_;
  uint64_t last_event_id_ = 0;
  // The last message received, parsed into arena_ (reset for the next one;
  // it starts in arena_block_, which it keeps), and the index of its first
  // event not yet handed out.
  std::vector<char> arena_block_;
  std::unique_ptr<google::protobuf::Arena> arena_;
  v1::AppEventBatch* batch_ = nullptr;
  int next_ = 0;
  // Whether batch_.events(next_) was checked against last_event_id_.
  bool next_checked_ = false;
  // A FLUSH to hand out before anything else.
  std::optional<v1::AppEvent> flush_;
};

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_CLIENT_H_
