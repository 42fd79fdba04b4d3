// Every simulator scenario, over several seeds, must keep every guarantee.
#include "tools/sim/scenarios.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/sim/figures.h"

namespace cachemesh {
namespace sim {
namespace {

using ::testing::HasSubstr;

void ExpectEveryScenarioPasses(ScenarioOptions options, uint64_t seeds) {
  for (const std::string& name : ScenarioNames()) {
    for (uint64_t seed = 1; seed <= seeds; ++seed) {
      options.seed = seed;
      absl::StatusOr<SimFigures> figures = RunScenario(name, options);
      ASSERT_TRUE(figures.ok()) << figures.status();
      EXPECT_TRUE(Passed(*figures)) << name << " seed " << seed << "\n"
                                    << FormatFigures(*figures);
    }
  }
}

TEST(ScenariosTest, EveryScenarioPassesAtFiveNodes) {
  ExpectEveryScenarioPasses(ScenarioOptions(), 10);
}

TEST(ScenariosTest, EveryScenarioPassesWithFivePercentLoss) {
  ScenarioOptions options;
  options.loss = 0.05;
  ExpectEveryScenarioPasses(options, 5);
}

TEST(ScenariosTest, ScenariosDoWhatTheySay) {
  auto run = [](const std::string& name) {
    ScenarioOptions options;
    options.nodes = 8;
    return *RunScenario(name, options);
  };
  EXPECT_EQ(run("crash").membership.crashes, 2);
  EXPECT_GE(run("pause").traffic.late_ticks, 3);
  const SimFigures restart = run("restart");
  EXPECT_EQ(restart.membership.crashes, 3);
  EXPECT_EQ(restart.membership.superseded, 1);  // Back after 300 ms.
  EXPECT_EQ(restart.membership.convergences.size(), 4);
  EXPECT_EQ(run("join").membership.convergences.size(), 3);
  EXPECT_EQ(run("leave").membership.leaves, 2);
  const SimFigures partition = run("partition");
  EXPECT_GT(partition.traffic.cut, 0);
  EXPECT_EQ(partition.membership.convergences.size(), 4);
  EXPECT_EQ(run("origin-crash").membership.crashes, 2);
  EXPECT_GT(run("churn").membership.convergences.size(), 1);
}

TEST(ScenariosTest, RejectsUnknownScenario) {
  const absl::StatusOr<SimFigures> figures =
      RunScenario("meteor", ScenarioOptions());
  EXPECT_EQ(figures.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(figures.status().message(),
              HasSubstr("unknown scenario \"meteor\"; known: all, crash"));
}

TEST(ScenariosTest, RejectsBadOptions) {
  ScenarioOptions options;
  options.nodes = 2;
  EXPECT_THAT(ValidateScenarioOptions(options).message(),
              HasSubstr("nodes must be in [3, 1000], got 2"));
  options = ScenarioOptions();
  options.loss = 1;
  EXPECT_THAT(ValidateScenarioOptions(options).message(),
              HasSubstr("loss must be in [0, 1), got 1"));
  options = ScenarioOptions();
  options.duration = absl::Seconds(10);
  EXPECT_THAT(ValidateScenarioOptions(options).message(),
              HasSubstr("duration must be at least 20 s, got 10s"));
  options = ScenarioOptions();
  options.publish_rate = -1;
  EXPECT_THAT(ValidateScenarioOptions(options).message(),
              HasSubstr("publish_rate must be at least 0, got -1"));
  EXPECT_TRUE(ValidateScenarioOptions(ScenarioOptions()).ok());
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh
