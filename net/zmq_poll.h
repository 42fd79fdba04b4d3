// zmq_poll with an absl::Duration and a Status instead of an exception.
// Internal to net/.
#ifndef CACHEMESH_NET_ZMQ_POLL_H_
#define CACHEMESH_NET_ZMQ_POLL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "zmq.hpp"

namespace cachemesh {
namespace net {
namespace internal {

// Waits until one of `items` is ready or `timeout` passes (rounded up to a
// whole millisecond; absl::InfiniteDuration() waits forever, a negative
// timeout does not wait). Returns how many items are ready: 0 on timeout or
// when a signal interrupted the wait.
absl::StatusOr<int> Poll(std::vector<zmq::pollitem_t>& items,
                         absl::Duration timeout);

}  // namespace internal
}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_ZMQ_POLL_H_
