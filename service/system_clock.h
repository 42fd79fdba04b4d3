// The real clock, for the daemon's NodeDriver (core never reads it itself).
#ifndef CACHEMESH_SERVICE_SYSTEM_CLOCK_H_
#define CACHEMESH_SERVICE_SYSTEM_CLOCK_H_

#include "absl/time/clock.h"
#include "core/clock.h"

namespace cachemesh {

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_SYSTEM_CLOCK_H_
