#include "core/failure_detector.h"

#include <algorithm>
#include <cmath>

namespace cachemesh {
namespace {

// -log10 of the probability that a normal variate exceeds mean + y * stddev,
// with the logistic approximation of the normal CDF that Akka uses.
double PhiOfStandardScore(double y) {
  const double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  if (y > 0) return -std::log10(e / (1.0 + e));
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

// The standard score at which PhiOfStandardScore reaches `phi`. Phi grows
// with the score, so bisection finds it.
double StandardScoreForPhi(double phi) {
  double low = -10, high = 100;
  for (int i = 0; i < 60; ++i) {
    const double middle = (low + high) / 2;
    (PhiOfStandardScore(middle) < phi ? low : high) = middle;
  }
  return high;
}

}  // namespace

PhiAccrualDetector::PhiAccrualDetector(const FailureDetectorOptions& options,
                                       absl::Duration expected_interval,
                                       absl::Time now)
    : options_(options),
      threshold_score_(StandardScoreForPhi(options.phi_threshold)),
      last_arrival_(now) {
  // Two synthetic samples at +-25% give a sane mean and spread to start.
  const double interval = absl::ToDoubleMilliseconds(expected_interval);
  for (double sample : {interval * 0.75, interval * 1.25}) {
    intervals_ms_.push_back(sample);
    sum_ += sample;
    sum_of_squares_ += sample * sample;
  }
}

void PhiAccrualDetector::Heartbeat(absl::Time now) {
  const double interval = absl::ToDoubleMilliseconds(now - last_arrival_);
  last_arrival_ = now;
  if (interval < 0) return;
  intervals_ms_.push_back(interval);
  sum_ += interval;
  sum_of_squares_ += interval * interval;
  if (static_cast<int>(intervals_ms_.size()) > options_.window) {
    const double oldest = intervals_ms_.front();
    intervals_ms_.pop_front();
    sum_ -= oldest;
    sum_of_squares_ -= oldest * oldest;
  }
}

void PhiAccrualDetector::Restart(absl::Time now) {
  last_arrival_ = std::max(last_arrival_, now);
}

double PhiAccrualDetector::MeanMillis() const {
  return sum_ / intervals_ms_.size();
}

double PhiAccrualDetector::StddevMillis() const {
  const double mean = MeanMillis();
  const double variance =
      std::max(0.0, sum_of_squares_ / intervals_ms_.size() - mean * mean);
  return std::max(std::sqrt(variance),
                  absl::ToDoubleMilliseconds(options_.min_stddev));
}

double PhiAccrualDetector::Phi(absl::Time now, double time_scale) const {
  const double silence = absl::ToDoubleMilliseconds(now - last_arrival_);
  return PhiOfStandardScore((silence - ScaledMeanMillis(time_scale)) /
                            (StddevMillis() * time_scale));
}

absl::Duration PhiAccrualDetector::SuspectAfter(double time_scale) const {
  return absl::Milliseconds(ScaledMeanMillis(time_scale) +
                            threshold_score_ * StddevMillis() * time_scale);
}

double PhiAccrualDetector::ScaledMeanMillis(double time_scale) const {
  return (MeanMillis() +
          absl::ToDoubleMilliseconds(options_.acceptable_pause)) *
         time_scale;
}

}  // namespace cachemesh
