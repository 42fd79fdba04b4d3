// The mesh's socket options, and the checks the mesh applies to them. Kept
// apart from the sockets (no zmq here) so that the config reader can run the
// same checks when it reads dhis.conf, and refuse exactly what start-up would.
#ifndef CACHEMESH_NET_MESH_OPTIONS_H_
#define CACHEMESH_NET_MESH_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "config/defaults.h"

namespace cachemesh {
namespace net {

struct MeshOptions {
  // Messages queued per subscriber on our XPUB (ZMQ_SNDHWM) and per publisher
  // on our SUB (ZMQ_RCVHWM) before new ones are dropped. 0 is unlimited, as
  // in libzmq: a stalled peer can then take unbounded memory.
  int send_hwm = defaults::kZmqSendHwm;
  int receive_hwm = defaults::kZmqReceiveHwm;
  // ZMTP keepalive of every connection: a PING every interval; a connection
  // silent for `timeout` after a PING is closed (and reconnected); `ttl` asks
  // the peer to close ours when it hears nothing from us for that long.
  // Interval 0 turns the keepalive off. Timeout 0 means "the interval".
  // TTL 0 sends none; otherwise at least 100 ms (it is sent in tenths of a
  // second) and below 65 s (larger TTLs are mishandled by libzmq, #4226).
  absl::Duration zmtp_heartbeat_interval = defaults::kZmqHeartbeatInterval;
  absl::Duration zmtp_heartbeat_timeout = defaults::kZmqHeartbeatTimeout;
  absl::Duration zmtp_heartbeat_ttl = defaults::kZmqHeartbeatTtl;
  // The SUB retries a lost or refused connection after `reconnect_interval`,
  // doubling up to `reconnect_interval_max`, so a restarted peer is reheard
  // within about a second.
  absl::Duration reconnect_interval = absl::Milliseconds(100);
  absl::Duration reconnect_interval_max = absl::Seconds(1);
  // Drain reads at most this many messages per call, so one busy peer cannot
  // starve the caller's timers.
  int max_messages_per_drain = 10000;
  // When set (an IP address), connections to peers leave from it, e.g. the
  // address the XPUB binds to on a multi-homed host. Empty: the OS chooses.
  std::string source_address;
};

// The largest ZMTP heartbeat TTL libzmq handles (exclusive): #4226.
inline constexpr absl::Duration kMaxZmtpHeartbeatTtl = absl::Seconds(65);
// The smallest nonzero TTL: it travels in tenths of a second.
inline constexpr absl::Duration kMinZmtpHeartbeatTtl = absl::Milliseconds(100);

// Checks `options`; the error names the offending field
// ("MeshOptions.send_hwm ...").
absl::Status ValidateMeshOptions(const MeshOptions& options);

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_MESH_OPTIONS_H_
