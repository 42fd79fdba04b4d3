// The time source a NodeDriver reads. Core never reads the real clock: the
// daemon supplies one that does, the simulator and tests a ManualClock that
// moves only when told.
#ifndef CACHEMESH_CORE_CLOCK_H_
#define CACHEMESH_CORE_CLOCK_H_

#include "absl/time/time.h"

namespace cachemesh {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Virtual time: Now() is whatever was last set.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time now) : now_(now) {}

  absl::Time Now() const override { return now_; }
  void Set(absl::Time now) { now_ = now; }
  void Advance(absl::Duration by) { now_ += by; }

 private:
  absl::Time now_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_CORE_CLOCK_H_
