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

}  // namespace

PhiAccrualDetector::PhiAccrualDetector(const FailureDetectorOptions& options,
                                       absl::Duration expected_interval,
                                       absl::Time now)
    : options_(options), last_arrival_(now) {
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
  return PhiOfSilence(absl::ToDoubleMilliseconds(now - last_arrival_),
                      time_scale);
}

double PhiAccrualDetector::PhiOfSilence(double silence_ms,
                                        double time_scale) const {
  const double mean =
      (MeanMillis() + absl::ToDoubleMilliseconds(options_.acceptable_pause)) *
      time_scale;
  const double stddev = StddevMillis() * time_scale;
  return PhiOfStandardScore((silence_ms - mean) / stddev);
}

absl::Duration PhiAccrualDetector::SuspectAfter(double time_scale) const {
  // Phi grows with the silence: bisect for the threshold crossing.
  double low = 0, high = 1000;
  while (PhiOfSilence(high, time_scale) < options_.phi_threshold &&
         high < 1e9) {
    high *= 2;
  }
  for (int i = 0; i < 30; ++i) {
    const double middle = (low + high) / 2;
    (PhiOfSilence(middle, time_scale) < options_.phi_threshold ? low : high) =
        middle;
  }
  return absl::Milliseconds(high);
}

}  // namespace cachemesh
