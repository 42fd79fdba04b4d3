// The phi accrual failure detector (Hayashibara et al.), one per peer.
//
// Phi says how unlikely the current silence is, given the heartbeat
// inter-arrival times seen so far: phi = -log10(P(a heartbeat arrives later
// than now)). Inter-arrivals are modelled as a normal distribution whose mean
// is stretched by an acceptable pause, so that a peer that stalls briefly
// (GC, SIGSTOP, a slow disk) is not suspected.
#ifndef CACHEMESH_CORE_FAILURE_DETECTOR_H_
#define CACHEMESH_CORE_FAILURE_DETECTOR_H_

#include <deque>

#include "absl/time/time.h"
#include "config/defaults.h"

namespace cachemesh {

struct FailureDetectorOptions {
  // Suspect a peer once phi exceeds this.
  double phi_threshold = defaults::kFailurePhiThreshold;
  // Silence tolerated on top of the mean inter-arrival time.
  absl::Duration acceptable_pause = defaults::kFailureAcceptablePause;
  // Floor on the standard deviation, so a very regular LAN is not brittle.
  absl::Duration min_stddev = defaults::kFailureMinStddev;
  // How many inter-arrival samples are kept.
  int window = 100;
};

class PhiAccrualDetector {
 public:
  // `expected_interval` seeds the statistics before real samples arrive.
  PhiAccrualDetector(const FailureDetectorOptions& options,
                     absl::Duration expected_interval, absl::Time now);

  // A heartbeat arrived at `now`.
  void Heartbeat(absl::Time now);
  // Restarts the silence at `now` without recording an interval: used when
  // silence is not the peer's fault (our own pause, a refutation).
  void Restart(absl::Time now);
  // Phi at `now`, with every duration scaled by `time_scale` >= 1 (Lifeguard's
  // local health multiplier widens the detector when we are the slow one).
  double Phi(absl::Time now, double time_scale) const;
  // The silence after which Phi crosses the threshold, at `time_scale`.
  absl::Duration SuspectAfter(double time_scale) const;
  absl::Time last_arrival() const { return last_arrival_; }

 private:
  double MeanMillis() const;
  // The mean inter-arrival time stretched by the acceptable pause, scaled.
  double ScaledMeanMillis(double time_scale) const;
  double StddevMillis() const;

  FailureDetectorOptions options_;
  // Phi depends on the silence only through its standard score: the score
  // at which phi reaches the threshold, found once.
  double threshold_score_;
  absl::Time last_arrival_;
  std::deque<double> intervals_ms_;
  double sum_ = 0;
  double sum_of_squares_ = 0;
};

}  // namespace cachemesh

#endif  // CACHEMESH_CORE_FAILURE_DETECTOR_H_
