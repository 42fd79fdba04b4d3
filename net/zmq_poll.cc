#include "net/zmq_poll.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>

#include "net/zmq_status.h"

namespace cachemesh {
namespace net {
namespace internal {
namespace {

std::chrono::milliseconds TimeoutMillis(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return std::chrono::milliseconds(-1);
  if (timeout <= absl::ZeroDuration()) return std::chrono::milliseconds(0);
  const absl::Duration capped = std::min(timeout, absl::Milliseconds(LONG_MAX));
  return std::chrono::milliseconds(
      absl::ToInt64Milliseconds(absl::Ceil(capped, absl::Milliseconds(1))));
}

}  // namespace

absl::StatusOr<int> Poll(std::vector<zmq::pollitem_t>& items,
                         absl::Duration timeout) {
  try {
    return zmq::poll(items, TimeoutMillis(timeout));
  } catch (const zmq::error_t& error) {
    if (error.num() == EINTR) return 0;
    return ZmqErrorStatus(error, "poll", "");
  }
}

}  // namespace internal
}  // namespace net
}  // namespace cachemesh
