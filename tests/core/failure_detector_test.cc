// The phi accrual detector: regular heartbeats keep phi low, silence raises
// it, and the acceptable pause and the time scale move the threshold.
#include "core/failure_detector.h"

#include "gtest/gtest.h"

namespace cachemesh {
namespace {

constexpr absl::Duration kInterval = absl::Milliseconds(50);

PhiAccrualDetector RegularDetector(absl::Time* now) {
  FailureDetectorOptions options;
  PhiAccrualDetector detector(options, kInterval, *now);
  for (int i = 0; i < 50; ++i) {
    *now += kInterval;
    detector.Heartbeat(*now);
  }
  return detector;
}

TEST(FailureDetectorTest, PhiStaysLowWhileHeartbeatsArrive) {
  absl::Time now = absl::UnixEpoch();
  PhiAccrualDetector detector = RegularDetector(&now);
  EXPECT_LT(detector.Phi(now + kInterval, 1.0), 0.1);
}

TEST(FailureDetectorTest, PhiGrowsWithSilence) {
  absl::Time now = absl::UnixEpoch();
  PhiAccrualDetector detector = RegularDetector(&now);
  const double at_300 = detector.Phi(now + absl::Milliseconds(300), 1.0);
  const double at_700 = detector.Phi(now + absl::Milliseconds(700), 1.0);
  EXPECT_LT(at_300, at_700);
  EXPECT_GT(at_700, FailureDetectorOptions().phi_threshold);
}

TEST(FailureDetectorTest, ToleratesTheAcceptablePauseWithMargin) {
  absl::Time now = absl::UnixEpoch();
  PhiAccrualDetector detector = RegularDetector(&now);
  // A 500 ms pause right after a heartbeat is silent for interval + 500 ms.
  const absl::Duration suspect_after = detector.SuspectAfter(1.0);
  EXPECT_GT(suspect_after, kInterval + absl::Milliseconds(500) +
                               absl::Milliseconds(50));
  EXPECT_LT(suspect_after, absl::Milliseconds(800));
  EXPECT_LT(detector.Phi(now + kInterval + absl::Milliseconds(500), 1.0),
            FailureDetectorOptions().phi_threshold);
}

TEST(FailureDetectorTest, SuspectAfterIsWherePhiReachesTheThreshold) {
  absl::Time now = absl::UnixEpoch();
  PhiAccrualDetector detector = RegularDetector(&now);
  const double threshold = FailureDetectorOptions().phi_threshold;
  for (double scale : {1.0, 3.0}) {
    const absl::Duration after = detector.SuspectAfter(scale);
    EXPECT_NEAR(detector.Phi(now + after, scale), threshold, 0.01) << scale;
    EXPECT_LT(detector.Phi(now + after - absl::Milliseconds(5), scale),
              threshold)
        << scale;
  }
}

TEST(FailureDetectorTest, TimeScaleWidensTheThreshold) {
  absl::Time now = absl::UnixEpoch();
  PhiAccrualDetector detector = RegularDetector(&now);
  EXPECT_GT(detector.SuspectAfter(3.0), detector.SuspectAfter(1.0) * 2.5);
}

TEST(FailureDetectorTest, RestartForgivesSilenceWithoutASample) {
  absl::Time now = absl::UnixEpoch();
  PhiAccrualDetector detector = RegularDetector(&now);
  const absl::Duration before = detector.SuspectAfter(1.0);
  now += absl::Seconds(5);
  detector.Restart(now);
  EXPECT_LT(detector.Phi(now + kInterval, 1.0), 0.1);
  EXPECT_EQ(detector.SuspectAfter(1.0), before);
}

}  // namespace
}  // namespace cachemesh
