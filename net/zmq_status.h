// Turns a cppzmq exception into an absl::Status. Internal to net/: nothing
// outside net/ sees a zmq type or a zmq exception.
#ifndef CACHEMESH_NET_ZMQ_STATUS_H_
#define CACHEMESH_NET_ZMQ_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "zmq.hpp"

namespace cachemesh {
namespace net {
namespace internal {

// A Status for `error`, raised while doing `action` on `endpoint`, e.g.
// ZmqErrorStatus(e, "bind XPUB on", "tcp://127.0.0.1:4001") gives
// `bind XPUB on "tcp://127.0.0.1:4001": Address already in use`; an empty
// `endpoint` is left out. The code follows errno: bad addresses and unknown
// transports are InvalidArgument; an address in use or an interrupted call
// is Unavailable (retrying can succeed); a terminated context is Cancelled;
// running out of resources is ResourceExhausted; anything else is Internal.
absl::Status ZmqErrorStatus(const zmq::error_t& error, absl::string_view action,
                            absl::string_view endpoint);

}  // namespace internal
}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_ZMQ_STATUS_H_
