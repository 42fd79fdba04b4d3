#include "tools/sim/membership_monitor.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kZero = absl::UnixEpoch();

absl::Time At(double seconds) { return kZero + absl::Seconds(seconds); }

MembershipChange Change(const std::string& id, uint64_t instance,
                        v1::MemberState from, v1::MemberState to) {
  MembershipChange change;
  change.id = id;
  change.instance_id = instance;
  change.from = from;
  change.to = to;
  return change;
}

// Slots 0, 1, 2 are "a", "b", "c", instance 1 each; everyone holds everyone
// ALIVE.
class MembershipMonitorTest : public ::testing::Test {
 protected:
  MembershipMonitorTest() : monitor_(kZero) {
    for (const char* id : {"a", "b", "c"}) monitor_.AddSlot(id);
    for (int slot = 0; slot < 3; ++slot) monitor_.Started(slot, 1);
    for (int observer = 0; observer < 3; ++observer) {
      for (const char* id : {"a", "b", "c"}) {
        if (id != std::string(kIds[observer])) {
          Mark(observer, id, 1, v1::ALIVE, At(0.1));
        }
      }
    }
  }

  void Mark(int observer, const std::string& id, uint64_t instance,
            v1::MemberState to, absl::Time at, bool excused = false) {
    monitor_.OnChange(observer,
                      Change(id, instance, v1::MEMBER_STATE_UNSPECIFIED, to),
                      at, excused);
  }

  static constexpr const char* kIds[] = {"a", "b", "c"};
  MembershipMonitor monitor_;
};

TEST_F(MembershipMonitorTest, DetectionLastsUntilTheLastObserverMarksDead) {
  monitor_.Crashed(2, At(10));
  Mark(1, "c", 1, v1::DEAD, At(10.5));
  Mark(0, "c", 1, v1::DEAD, At(10.8));
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_EQ(figures.crashes, 1);
  EXPECT_THAT(figures.detections, ElementsAre(absl::Milliseconds(800)));
  EXPECT_EQ(figures.undetected, 0);
  EXPECT_EQ(figures.false_dead, 0);
}

TEST_F(MembershipMonitorTest, DeadOfAnotherInstanceIsNoDetection) {
  monitor_.Crashed(2, At(10));
  Mark(1, "c", 1, v1::DEAD, At(10.5));
  Mark(0, "c", 0, v1::DEAD, At(10.8));
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_THAT(figures.detections, IsEmpty());
  EXPECT_EQ(figures.undetected, 1);
  EXPECT_THAT(figures.problems,
              ElementsAre(HasSubstr("c#1 crashed at t=10.000000s, still not "
                                    "DEAD at a")));
}

TEST_F(MembershipMonitorTest, ObserverThatNeverKnewTheMemberIsNotAwaited) {
  monitor_.AddSlot("d");
  monitor_.Started(3, 1);  // Knows nobody yet.
  monitor_.Crashed(2, At(10));
  Mark(0, "c", 1, v1::DEAD, At(10.5));
  Mark(1, "c", 1, v1::DEAD, At(10.6));
  EXPECT_THAT(monitor_.Finish().detections,
              ElementsAre(absl::Milliseconds(600)));
}

TEST_F(MembershipMonitorTest, ObserverThatCrashesIsNotAwaited) {
  monitor_.Crashed(2, At(10));
  Mark(1, "c", 1, v1::DEAD, At(10.5));
  monitor_.Crashed(0, At(10.7));
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_EQ(figures.crashes, 2);
  EXPECT_THAT(figures.detections, ElementsAre(absl::Milliseconds(500)));
  EXPECT_EQ(figures.undetected, 1);  // Crash of "a": "b" never marked it.
}

TEST_F(MembershipMonitorTest, RestartSupersedesAnUndetectedCrash) {
  monitor_.Crashed(2, At(10));
  Mark(1, "c", 1, v1::DEAD, At(10.5));
  monitor_.Started(2, 2);
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_EQ(figures.superseded, 1);
  EXPECT_EQ(figures.undetected, 0);
  EXPECT_THAT(figures.detections, IsEmpty());
}

TEST_F(MembershipMonitorTest, DeadOfALiveInstanceIsFalse) {
  Mark(0, "b", 1, v1::DEAD, At(5));
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_EQ(figures.false_dead, 1);
  EXPECT_THAT(figures.problems,
              ElementsAre(HasSubstr("a marked b#1 DEAD at t=5.000000s")));
}

TEST_F(MembershipMonitorTest, DeadOfAPartitionedInstanceIsExcused) {
  Mark(0, "b", 1, v1::DEAD, At(5), /*excused=*/true);
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_EQ(figures.false_dead, 0);
  EXPECT_EQ(figures.excused_dead, 1);
}

TEST_F(MembershipMonitorTest, DeadOfAnOldInstanceIsNotFalse) {
  monitor_.Crashed(1, At(4));
  monitor_.Started(1, 2);
  Mark(0, "b", 1, v1::DEAD, At(5));
  EXPECT_EQ(monitor_.Finish().false_dead, 0);
}

TEST_F(MembershipMonitorTest, LeaveMustBeSeenAsLeft) {
  monitor_.Left(2);
  Mark(0, "c", 1, v1::LEFT, At(10.1));
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_EQ(figures.leaves, 1);
  EXPECT_EQ(figures.leaves_missed, 1);
  EXPECT_THAT(figures.problems,
              ElementsAre(HasSubstr("c#1 left, not LEFT at b")));
  Mark(1, "c", 1, v1::LEFT, At(10.2));
  EXPECT_EQ(monitor_.Finish().leaves_missed, 0);
}

TEST_F(MembershipMonitorTest, ConvergenceWaitsForEveryLiveView) {
  EXPECT_TRUE(monitor_.StatesAgree());
  monitor_.AddSlot("d");
  monitor_.Started(3, 1);
  monitor_.NoteEvent(At(20));
  EXPECT_TRUE(monitor_.AwaitingConvergence());
  EXPECT_FALSE(monitor_.StatesAgree());
  for (const char* id : {"a", "b", "c"}) Mark(3, id, 1, v1::ALIVE, At(20.1));
  EXPECT_FALSE(monitor_.StatesAgree());
  for (int observer = 0; observer < 3; ++observer) {
    Mark(observer, "d", 1, v1::ALIVE, At(20.2));
  }
  EXPECT_TRUE(monitor_.StatesAgree());
  Mark(0, "b", 1, v1::SUSPECT, At(20.3));
  EXPECT_FALSE(monitor_.StatesAgree());
  Mark(0, "b", 1, v1::ALIVE, At(20.4));
  monitor_.Converged(At(20.4));
  EXPECT_FALSE(monitor_.AwaitingConvergence());
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_THAT(figures.convergences, ElementsAre(absl::Milliseconds(400)));
  EXPECT_EQ(figures.unconverged, 0);
}

TEST_F(MembershipMonitorTest, StoppedNodesDoNotBlockConvergence) {
  Mark(0, "c", 1, v1::SUSPECT, At(10));
  EXPECT_FALSE(monitor_.StatesAgree());
  monitor_.Crashed(2, At(10.1));
  EXPECT_TRUE(monitor_.StatesAgree());
}

TEST_F(MembershipMonitorTest, EventThatNeverConvergesIsReported) {
  monitor_.NoteEvent(At(3));
  const MembershipFigures figures = monitor_.Finish();
  EXPECT_EQ(figures.unconverged, 1);
  EXPECT_THAT(figures.problems,
              ElementsAre(HasSubstr("views never agreed after the event at "
                                    "t=3.000000s")));
}

}  // namespace
}  // namespace sim
}  // namespace cachemesh
