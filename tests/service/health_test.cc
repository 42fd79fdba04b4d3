// Tests of the GET /health verdict.
#include "service/health.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/cachemesh.pb.h"
#include "service/snapshot.h"

namespace cachemesh {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

void AddMember(NodeSnapshot& snapshot, const std::string& id,
               v1::MemberState state) {
  v1::MemberView* member = snapshot.members.add_members();
  member->set_id(id);
  member->set_state(state);
  member->set_self(id == snapshot.self_id);
}

NodeSnapshot HealthySnapshot() {
  NodeSnapshot snapshot;
  snapshot.self_id = "app1:4001";
  snapshot.synced = true;
  AddMember(snapshot, "app1:4001", v1::ALIVE);
  AddMember(snapshot, "app2:4001", v1::ALIVE);
  AddMember(snapshot, "app3:4001", v1::SUSPECT);
  AddMember(snapshot, "app4:4001", v1::DEAD);
  AddMember(snapshot, "app5:4001", v1::LEFT);
  AddMember(snapshot, "app6:4001", v1::LEFT);
  return snapshot;
}

AppHealthState NoApp() { return AppHealthState{}; }

AppHealthState App(AppHealthState::Status status, std::string reason = "") {
  AppHealthState app;
  app.configured = true;
  app.status = status;
  app.reason = std::move(reason);
  return app;
}

TEST(HealthTest, UpWhenSyncedTrustedAndNotDraining) {
  const NodeSnapshot snapshot = HealthySnapshot();
  const HealthResult result = EvaluateHealth(&snapshot, false, NoApp());
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.health.status(), "UP");
  EXPECT_THAT(result.health.reasons(), IsEmpty());
  EXPECT_EQ(result.health.id(), "app1:4001");
  EXPECT_EQ(result.health.alive(), 2u);
  EXPECT_EQ(result.health.suspect(), 1u);
  EXPECT_EQ(result.health.dead(), 1u);
  EXPECT_EQ(result.health.left(), 2u);
}

TEST(HealthTest, UpWithAHealthyApp) {
  const NodeSnapshot snapshot = HealthySnapshot();
  const HealthResult result =
      EvaluateHealth(&snapshot, false, App(AppHealthState::Status::kUp));
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.health.status(), "UP");
}

TEST(HealthTest, DownBeforeTheFirstSnapshot) {
  const HealthResult result = EvaluateHealth(nullptr, false, NoApp());
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.health.status(), "DOWN");
  EXPECT_THAT(result.health.reasons(),
              ElementsAre("starting up: the event loop has not reported yet"));
}

TEST(HealthTest, DownWhileNotSynced) {
  NodeSnapshot snapshot = HealthySnapshot();
  snapshot.synced = false;
  const HealthResult result = EvaluateHealth(&snapshot, false, NoApp());
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.health.status(), "DOWN");
  EXPECT_THAT(result.health.reasons(),
              ElementsAre("starting up: not yet synced with the cluster"));
}

TEST(HealthTest, DownWhileTheCacheIsUntrusted) {
  NodeSnapshot snapshot = HealthySnapshot();
  snapshot.untrusted_reasons = {
      "member app3:4001 is ALIVE to others but not heard here for 1200 ms",
      "stream app2:4001 has a gap"};
  const HealthResult result = EvaluateHealth(&snapshot, false, NoApp());
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.health.status(), "DOWN");
  EXPECT_THAT(result.health.reasons(),
              ElementsAre("cache untrusted: member app3:4001 is ALIVE to "
                          "others but not heard here for 1200 ms",
                          "cache untrusted: stream app2:4001 has a gap"));
}

TEST(HealthTest, DownWhileTheAppIsFailing) {
  const NodeSnapshot snapshot = HealthySnapshot();
  const HealthResult result = EvaluateHealth(
      &snapshot, false,
      App(AppHealthState::Status::kDown,
          "app health http://127.0.0.1:8080/api/system/ping: HTTP 500"));
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.health.status(), "DOWN");
  EXPECT_THAT(
      result.health.reasons(),
      ElementsAre(
          "app health http://127.0.0.1:8080/api/system/ping: HTTP 500"));
}

TEST(HealthTest, DownUntilTheAppWasChecked) {
  const NodeSnapshot snapshot = HealthySnapshot();
  const HealthResult result =
      EvaluateHealth(&snapshot, false, App(AppHealthState::Status::kUnknown));
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.health.status(), "DOWN");
  EXPECT_THAT(result.health.reasons(),
              ElementsAre("app health not checked yet"));
}

TEST(HealthTest, AnUnconfiguredAppIsIgnored) {
  const NodeSnapshot snapshot = HealthySnapshot();
  AppHealthState app;  // configured = false, status unknown.
  app.reason = "ignored";
  EXPECT_EQ(EvaluateHealth(&snapshot, false, app).http_status, 200);
}

TEST(HealthTest, DrainingAlone) {
  const NodeSnapshot snapshot = HealthySnapshot();
  const HealthResult result = EvaluateHealth(&snapshot, true, NoApp());
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.health.status(), "DRAINING");
  EXPECT_THAT(result.health.reasons(),
              ElementsAre("draining: requested through /v1/drain"));
}

TEST(HealthTest, DrainingWinsTheStatusWordButEveryReasonIsListed) {
  NodeSnapshot snapshot = HealthySnapshot();
  snapshot.synced = false;
  snapshot.untrusted_reasons = {"stream app2:4001 has a gap"};
  const HealthResult result = EvaluateHealth(
      &snapshot, true, App(AppHealthState::Status::kDown, "app is down"));
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.health.status(), "DRAINING");
  EXPECT_THAT(
      result.health.reasons(),
      UnorderedElementsAre("draining: requested through /v1/drain",
                           "starting up: not yet synced with the cluster",
                           "cache untrusted: stream app2:4001 has a gap",
                           "app is down"));
}

}  // namespace
}  // namespace cachemesh
