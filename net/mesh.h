// The node-to-node transport: one XPUB that broadcasts, one SUB that listens.
//
// Each node binds one XPUB on its cache port and connects one SUB to every
// known member's endpoint; the cache port is the only port peers need.
// Everything a node sends (heartbeats, batches, loss reports, leave) is a
// single-frame broadcast on its own XPUB. Payloads are opaque bytes here (one
// serialized cachemesh.v1.Envelope each).
//
// Announcing (the ZeroMQ guide's last-value-cache trick): besides the empty
// subscription that receives all data, the SUB subscribes to the hello topic
//
//     "\x01cachemesh-hello " + <own advertised endpoint>
//
// e.g. "\x01cachemesh-hello tcp://10.0.0.5:4001". A SUB sends its
// subscriptions to every publisher it connects to and sends them again after
// every reconnect, so a peer we connect to learns our endpoint (Drain reports
// it in `announced_endpoints`) and can connect back; a restarted peer relearns
// everyone who listens to it. The XPUB is verbose, so repeated hellos are
// reported each time. When a peer's SUB goes away (disconnect, restart,
// broken connection) its hello is withdrawn and reported in
// `departed_endpoints`; that is only a hint, a reconnect announces it again.
// A hello can never be mistaken for data: subscriptions arrive only on the
// XPUB's receive side, and data only on the SUB. A valid protobuf message
// never starts with byte 0x01 (field number 0), so no Envelope even matches
// the hello topic; and a subscriber gets each message once, however many of
// its subscriptions match.
//
// Delivery is best effort by design: a subscriber that falls behind by more
// than the high-water marks loses messages silently (PUB semantics; the
// protocol's sequence numbers and loss reports recover them). Broadcast never
// blocks. Socket options are listed in mesh.cc and docs/TRANSPORT_NOTES.md.
//
// Not thread-safe: one thread (the daemon's event loop) owns a Mesh. Wait for
// input with net::Poller, then Drain. Keep doing so even when no input is
// expected: libzmq finishes connection bookkeeping (closing a disconnected
// peer's connection, resending subscriptions after a reconnect) only while
// the owning thread calls into the sockets.
#ifndef CACHEMESH_NET_MESH_H_
#define CACHEMESH_NET_MESH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/context.h"
#include "net/mesh_options.h"

namespace cachemesh {
namespace net {

// The prefix of the hello topic; the advertised endpoint follows it. (The
// literal is split so that the hex escape ends before the 'c'.)
inline constexpr absl::string_view kHelloTopicPrefix =
    "\x01"
    "cachemesh-hello ";

// Everything a node received from the mesh in one Drain, in arrival order.
struct MeshInput {
  // Broadcast payloads from the publishers we are connected to.
  std::vector<std::string> payloads;
  // Endpoints of peers whose SUB subscribed to us (they want us to connect
  // back). Repeats whenever a peer reconnects.
  std::vector<std::string> announced_endpoints;
  // Endpoints of peers whose SUB stopped listening to us.
  std::vector<std::string> departed_endpoints;
};

struct MeshStats {
  // Broadcasts handed to the XPUB. Drops at a subscriber's high-water mark
  // are not counted: libzmq's XPUB drops per subscriber without telling the
  // sender. They show up as sequence gaps at the receiver.
  uint64_t broadcasts_sent = 0;
  uint64_t payloads_received = 0;
  uint64_t announcements_seen = 0;
  uint64_t departures_seen = 0;
  // Multi-frame messages received and thrown away (cachemesh peers send
  // single frames only).
  uint64_t multipart_discarded = 0;
};

class Mesh {
 public:
  // Binds the XPUB on `bind_endpoint` (e.g. "tcp://*:4001", or
  // "tcp://127.0.0.1:*" for an ephemeral port) and creates the SUB.
  // `advertised_endpoint` is what peers connect to; empty means the bound
  // endpoint, which is refused for a wildcard bind (peers cannot reach
  // 0.0.0.0). `context` must outlive the Mesh.
  static absl::StatusOr<std::unique_ptr<Mesh>> Create(
      Context& context, const std::string& bind_endpoint,
      std::string advertised_endpoint, const MeshOptions& options);

  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;
  ~Mesh();

  // The endpoint the XPUB actually listens on, with the real port
  // (ZMQ_LAST_ENDPOINT), e.g. "tcp://127.0.0.1:40321".
  const std::string& bound_endpoint() const { return bound_endpoint_; }
  const std::string& advertised_endpoint() const {
    return advertised_endpoint_;
  }

  // Starts listening to the publisher at `endpoint` (connects in the
  // background and keeps reconnecting). Idempotent per exact endpoint
  // string; connecting to our own advertised endpoint is a no-op.
  absl::Status Connect(const std::string& endpoint);
  // Stops listening to `endpoint`: nothing it broadcasts after the
  // connection is gone arrives here. The connection closes the next time
  // this Mesh is polled or drained. Idempotent; unknown endpoints are a no-op.
  absl::Status Disconnect(const std::string& endpoint);

  // Queues `payload` for every current subscriber. Never blocks.
  absl::Status Broadcast(absl::string_view payload);

  // Everything readable right now on both sockets, at most
  // `max_messages_per_drain` messages. Never blocks.
  absl::StatusOr<MeshInput> Drain();
  // The same into `input`, replacing what it held; after an error it holds
  // what was read before it. Reusing one MeshInput reuses its payload
  // strings' buffers from call to call.
  absl::Status Drain(MeshInput& input);

  MeshStats stats() const { return stats_; }

 private:
  friend class Poller;
  struct Sockets;  // The zmq sockets, defined in mesh.cc.

  Mesh(std::unique_ptr<Sockets> sockets, std::string bound_endpoint,
       std::string advertised_endpoint, const MeshOptions& options);

  // What the SUB connects to for `endpoint`: with a source address, libzmq's
  // "tcp://source:0;peer:port" form.
  std::string ConnectAddress(const std::string& endpoint) const;

  // Raw zmq socket handles (XPUB, SUB) for net::Poller.
  std::array<void*, 2> PollHandles() const;

  void HandleSubscription(absl::string_view message, MeshInput& input);

  std::unique_ptr<Sockets> sockets_;
  std::string bound_endpoint_;
  std::string advertised_endpoint_;
  int max_messages_per_drain_;
  std::string source_address_;
  // Connected endpoint -> the address the SUB connected to.
  absl::flat_hash_map<std::string, std::string> connected_;
  MeshStats stats_;
};

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_MESH_H_
