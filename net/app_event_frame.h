// One message of the app channel's event stream: a serialized
// cachemesh.v1.AppEventBatch, the daemon's events for its app since the last
// message, oldest first (see net/app_endpoint.h).
//
// Events are appended as bytes as they come. An invalidation is serialized
// straight from where the daemon holds it (shared with the retransmission
// ring), so delivering a batch of N invalidations builds one message, not N
// AppEvents holding N copies.
#ifndef CACHEMESH_NET_APP_EVENT_FRAME_H_
#define CACHEMESH_NET_APP_EVENT_FRAME_H_

#include <cstddef>
#include <string>

#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace net {

class AppEventFrame {
 public:
  // Appends `event` with `invalidation` (if not null) as its invalidation.
  // `event` must not hold an invalidation of its own.
  void Add(const v1::AppEvent& event, const v1::Invalidation* invalidation);

  size_t events() const { return events_; }
  bool empty() const { return events_ == 0; }
  // The serialized AppEventBatch.
  const std::string& bytes() const { return bytes_; }
  // Empties the frame, keeping its buffer.
  void Clear();

 private:
  std::string bytes_;
  size_t events_ = 0;
};

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_APP_EVENT_FRAME_H_
