// One message of the app channel's event stream: a serialized
// cachemesh.v1.AppEventBatch, the daemon's events for its app since the last
// message, oldest first (see net/app_endpoint.h).
//
// Events are written as bytes straight from what the daemon holds: no
// AppEvent is built, and an invalidation is serialized from where it is kept
// (shared with the retransmission ring), so delivering a batch of N
// invalidations builds one message, with no per-event allocation.
#ifndef CACHEMESH_NET_APP_EVENT_FRAME_H_
#define CACHEMESH_NET_APP_EVENT_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace net {

// An AppEvent's fields other than its invalidation.
struct AppEventHeader {
  v1::AppEvent::Kind kind = v1::AppEvent::KIND_UNSPECIFIED;
  absl::string_view origin_id;
  uint64_t seq = 0;
  absl::string_view reason;
  uint64_t event_id = 0;
};

class AppEventFrame {
 public:
  // Appends the AppEvent made of `header` and `invalidation` (none if null).
  void Add(const AppEventHeader& header, const v1::Invalidation* invalidation);

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
