#include "tools/sim/figures.h"

#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace sim {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

SimFigures Clean(int nodes) {
  SimFigures figures;
  figures.nodes = nodes;
  figures.converged_at_end = true;
  figures.traffic.node_uptime = absl::Seconds(10);
  figures.traffic.bytes = 25000;
  return figures;
}

TEST(FiguresTest, PercentileIsNearestRank) {
  const std::vector<absl::Duration> samples = {
      absl::Milliseconds(30), absl::Milliseconds(10), absl::Milliseconds(20),
      absl::Milliseconds(40)};
  EXPECT_THAT(Percentile(samples, 0.5), Optional(absl::Milliseconds(20)));
  EXPECT_THAT(Percentile(samples, 1.0), Optional(absl::Milliseconds(40)));
  EXPECT_EQ(Percentile({}, 0.5), std::nullopt);
}

TEST(FiguresTest, SummaryLineHasTheAgreedShape) {
  SimFigures figures = Clean(5);
  figures.membership.detections = {absl::Milliseconds(800),
                                   absl::Milliseconds(900)};
  figures.membership.convergences = {absl::Milliseconds(191)};
  figures.invalidations.flushes = 3;
  EXPECT_EQ(SummaryLine(figures),
            "nodes=5 detect_p50_ms=800 detect_max_ms=900 false_dead=0 "
            "converge_ms=191 silent_losses=0 flushes=3 "
            "bytes_per_node_per_s=2500");
}

TEST(FiguresTest, MissingSamplesAreNotApplicable) {
  EXPECT_THAT(SummaryLine(Clean(3)),
              HasSubstr("detect_p50_ms=n/a detect_max_ms=n/a"));
}

TEST(FiguresTest, AnyBrokenGuaranteeFails) {
  EXPECT_TRUE(Passed(Clean(5)));
  SimFigures figures = Clean(5);
  figures.invalidations.silent_losses = 1;
  EXPECT_FALSE(Passed(figures));
  figures = Clean(5);
  figures.invalidations.duplicates = 1;
  EXPECT_FALSE(Passed(figures));
  figures = Clean(5);
  figures.membership.false_dead = 1;
  EXPECT_FALSE(Passed(figures));
  figures = Clean(5);
  figures.membership.undetected = 1;
  EXPECT_FALSE(Passed(figures));
  figures = Clean(5);
  figures.membership.leaves_missed = 1;
  EXPECT_FALSE(Passed(figures));
  figures = Clean(5);
  figures.converged_at_end = false;
  EXPECT_FALSE(Passed(figures));
}

TEST(FiguresTest, AggregatePoolsSamplesAndSumsCounts) {
  SimFigures a = Clean(5);
  a.membership.detections = {absl::Milliseconds(800)};
  a.invalidations.silent_losses = 2;
  a.invalidations.delivered = 1;
  a.invalidations.mean_latency = absl::Milliseconds(1);
  SimFigures b = Clean(5);
  b.membership.detections = {absl::Milliseconds(900)};
  b.converged_at_end = false;
  b.invalidations.delivered = 3;
  b.invalidations.mean_latency = absl::Milliseconds(3);
  const SimFigures total = Aggregate({a, b});
  EXPECT_EQ(total.runs, 2);
  EXPECT_EQ(total.membership.detections.size(), 2);
  EXPECT_EQ(total.invalidations.silent_losses, 2);
  EXPECT_EQ(total.invalidations.mean_latency, absl::Microseconds(2500));
  EXPECT_EQ(total.traffic.node_uptime, absl::Seconds(20));
  EXPECT_FALSE(total.converged_at_end);
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh
