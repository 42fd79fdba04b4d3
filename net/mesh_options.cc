#include "net/mesh_options.h"

#include <climits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cachemesh {
namespace net {
namespace {

// ZeroMQ takes durations as int milliseconds.
constexpr absl::Duration kMaxMillis = absl::Milliseconds(INT_MAX);

absl::Status CheckDuration(absl::string_view field, absl::Duration value,
                           absl::Duration min, absl::Duration below) {
  if (value < min || value >= below) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MeshOptions.", field, " must be at least ", absl::FormatDuration(min),
        " and below ", absl::FormatDuration(below), ", got ",
        absl::FormatDuration(value)));
  }
  return absl::OkStatus();
}

// 0 (off, or "the default") or within [min, below).
absl::Status CheckZeroOrDuration(absl::string_view field, absl::Duration value,
                                 absl::Duration min, absl::Duration below) {
  if (value == absl::ZeroDuration()) return absl::OkStatus();
  return CheckDuration(field, value, min, below);
}

absl::Status CheckAtLeast(absl::string_view field, int value, int min) {
  if (value < min) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MeshOptions.", field, " must be at least ", min, ", got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateMeshOptions(const MeshOptions& options) {
  const absl::Duration ms = absl::Milliseconds(1);
  for (absl::Status status : {
           CheckAtLeast("send_hwm", options.send_hwm, 0),
           CheckAtLeast("receive_hwm", options.receive_hwm, 0),
           CheckAtLeast("max_messages_per_drain",
                        options.max_messages_per_drain, 1),
           CheckZeroOrDuration("zmtp_heartbeat_interval",
                               options.zmtp_heartbeat_interval, ms, kMaxMillis),
           CheckZeroOrDuration("zmtp_heartbeat_timeout",
                               options.zmtp_heartbeat_timeout, ms, kMaxMillis),
           CheckZeroOrDuration("zmtp_heartbeat_ttl", options.zmtp_heartbeat_ttl,
                               kMinZmtpHeartbeatTtl, kMaxZmtpHeartbeatTtl),
           CheckDuration("reconnect_interval", options.reconnect_interval, ms,
                         kMaxMillis),
           CheckDuration("reconnect_interval_max",
                         options.reconnect_interval_max,
                         options.reconnect_interval, kMaxMillis),
       }) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace net
}  // namespace cachemesh
