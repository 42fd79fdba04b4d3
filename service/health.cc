#include "service/health.h"

#include "absl/strings/str_cat.h"

namespace cachemesh {
namespace {

constexpr char kUp[] = "UP";
constexpr char kDown[] = "DOWN";
constexpr char kDraining[] = "DRAINING";

void CountMembers(const v1::MemberList& members, v1::Health& health) {
  for (const v1::MemberView& member : members.members()) {
    switch (member.state()) {
      case v1::ALIVE:
        health.set_alive(health.alive() + 1);
        break;
      case v1::SUSPECT:
        health.set_suspect(health.suspect() + 1);
        break;
      case v1::DEAD:
        health.set_dead(health.dead() + 1);
        break;
      case v1::LEFT:
        health.set_left(health.left() + 1);
        break;
      default:
        break;
    }
  }
}

void AddSnapshotReasons(const NodeSnapshot* snapshot, v1::Health& health) {
  if (snapshot == nullptr) {
    health.add_reasons("starting up: the event loop has not reported yet");
    return;
  }
  if (!snapshot->synced) {
    health.add_reasons("starting up: not yet synced with the cluster");
  }
  for (const std::string& reason : snapshot->untrusted_reasons) {
    health.add_reasons(absl::StrCat("cache untrusted: ", reason));
  }
}

void AddAppReason(const AppHealthState& app, v1::Health& health) {
  if (!app.configured || app.status == AppHealthState::Status::kUp) return;
  if (!app.reason.empty()) {
    health.add_reasons(app.reason);
  } else if (app.status == AppHealthState::Status::kUnknown) {
    health.add_reasons("app health not checked yet");
  } else {
    health.add_reasons("app health is failing");
  }
}

}  // namespace

HealthResult EvaluateHealth(const NodeSnapshot* snapshot, bool draining,
                            const AppHealthState& app) {
  HealthResult result;
  v1::Health& health = result.health;
  if (snapshot != nullptr) {
    health.set_id(snapshot->self_id);
    CountMembers(snapshot->members, health);
  }
  if (draining) health.add_reasons("draining: requested through /v1/drain");
  AddSnapshotReasons(snapshot, health);
  AddAppReason(app, health);

  if (draining) {
    health.set_status(kDraining);
  } else if (health.reasons_size() > 0) {
    health.set_status(kDown);
  } else {
    health.set_status(kUp);
  }
  result.http_status = health.reasons_size() == 0 ? 200 : 503;
  return result;
}

}  // namespace cachemesh
