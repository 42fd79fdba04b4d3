#include "core/membership.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {
namespace {

// Whether `digest` (same instance) overrides what we hold about `member`.
bool Overrides(const v1::MemberDigest& digest, const Member& member) {
  const uint64_t incoming = digest.incarnation();
  switch (digest.state()) {
    case v1::ALIVE:
      return incoming > member.incarnation;
    case v1::SUSPECT:
      return incoming > member.incarnation ||
             (incoming == member.incarnation && member.state == v1::ALIVE);
    case v1::DEAD:
      return incoming >= member.incarnation && !IsGone(member.state);
    case v1::LEFT:
      return incoming >= member.incarnation && member.state != v1::LEFT;
    default:
      return false;
  }
}

}  // namespace

MemberTable::MemberTable(std::string self_id, absl::Duration heartbeat_interval,
                         FailureDetectorOptions detector,
                         SuspicionOptions suspicion)
    : self_id_(std::move(self_id)),
      heartbeat_interval_(heartbeat_interval),
      detector_options_(detector),
      suspicion_(suspicion) {}

const Member* MemberTable::Find(const std::string& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

Member& MemberTable::Add(const std::string& id, const std::string& endpoint,
                         uint64_t instance_id, absl::Time now) {
  Member& member =
      members_.try_emplace(id, detector_options_, heartbeat_interval_, now)
          .first->second;
  member.id = id;
  member.endpoint = endpoint;
  member.instance_id = instance_id;
  member.known_since = now;
  member.state_since = now;
  return member;
}

void MemberTable::RecordChange(const Member& member, v1::MemberState from,
                               v1::MemberState to, std::string reason) {
  MembershipChange& change = changes_.emplace_back();
  change.id = member.id;
  change.endpoint = member.endpoint;
  change.from = from;
  change.to = to;
  change.incarnation = member.incarnation;
  change.instance_id = member.instance_id;
  change.reason = std::move(reason);
}

void MemberTable::SetState(Member& member, v1::MemberState to,
                           uint64_t incarnation, absl::Time now,
                           std::string reason) {
  const v1::MemberState from = member.state;
  member.state = to;
  member.incarnation = incarnation;
  member.state_since = now;
  member.retransmits_left = RetransmitLimit();
  if (to != v1::SUSPECT) member.confirmers.clear();
  if (from == to) return;  // A new incarnation only: no visible change.
  RecordChange(member, from, to, std::move(reason));
}

void MemberTable::Restart(Member& member, const std::string& endpoint,
                          uint64_t instance_id, v1::MemberState state,
                          uint64_t incarnation, absl::Time now,
                          std::string reason) {
  const v1::MemberState from = member.state;
  const std::string previous_endpoint = member.endpoint;
  member.instance_id = instance_id;
  member.endpoint = endpoint;
  member.detector =
      PhiAccrualDetector(detector_options_, heartbeat_interval_, now);
  SetState(member, state, incarnation, now, reason);
  // SetState reports only a change of state; a restart is always news.
  if (from == state) RecordChange(member, from, state, std::move(reason));
  if (previous_endpoint != endpoint) {
    changes_.back().previous_endpoint = previous_endpoint;
  }
}

bool MemberTable::OnDirect(const v1::NodeIdentity& sender, bool heartbeat,
                           absl::Time now) {
  if (sender.id() == self_id_) return false;
  auto it = members_.find(sender.id());
  if (it == members_.end()) {
    Member& member =
        Add(sender.id(), sender.endpoint(), sender.instance_id(), now);
    member.incarnation = sender.incarnation();
    member.last_heard = now;
    member.retransmits_left = RetransmitLimit();
    RecordChange(member, v1::MEMBER_STATE_UNSPECIFIED, v1::ALIVE,
                 "heard directly");
    return true;
  }
  Member& member = it->second;
  if (sender.instance_id() < member.instance_id) return false;  // Stale.
  if (sender.instance_id() > member.instance_id) {
    Restart(member, sender.endpoint(), sender.instance_id(), v1::ALIVE,
            sender.incarnation(), now, "restarted (new instance)");
    member.last_heard = now;
    return true;
  }
  member.last_heard = now;
  if (heartbeat) member.detector.Heartbeat(now);
  if (sender.incarnation() > member.incarnation) {
    SetState(member, v1::ALIVE, sender.incarnation(), now,
             absl::StrCat("refuted with incarnation ", sender.incarnation()));
  } else if (member.state == v1::DEAD) {
    // It is alive but does not know we think otherwise: tell it again.
    Rebroadcast(member.id);
  }
  return true;
}

void MemberTable::OnDigest(const std::string& sender,
                           const v1::MemberDigest& digest, absl::Time now) {
  if (digest.id() == self_id_ || digest.id().empty()) return;
  auto it = members_.find(digest.id());
  if (it == members_.end()) {
    if (IsGone(digest.state())) return;  // Never resurrect from hearsay.
    Member& member =
        Add(digest.id(), digest.endpoint(), digest.instance_id(), now);
    member.incarnation = digest.incarnation();
    member.retransmits_left = RetransmitLimit();
    RecordChange(member, v1::MEMBER_STATE_UNSPECIFIED, v1::ALIVE,
                 absl::StrCat("learned from ", sender));
    if (digest.state() == v1::SUSPECT) Suspect(member, sender, now);
    return;
  }
  Member& member = it->second;
  if (digest.instance_id() < member.instance_id) return;
  if (digest.instance_id() > member.instance_id) {
    Restart(member, digest.endpoint(), digest.instance_id(),
            IsGone(digest.state()) ? digest.state() : v1::ALIVE,
            digest.incarnation(), now,
            absl::StrCat("restarted (new instance), learned from ", sender));
    return;
  }
  if (digest.state() == v1::SUSPECT && member.state == v1::SUSPECT &&
      digest.incarnation() == member.incarnation) {
    member.confirmers.insert(sender);
    return;
  }
  if (!Overrides(digest, member)) return;
  switch (digest.state()) {
    case v1::ALIVE:
      member.detector.Restart(now);
      SetState(member, v1::ALIVE, digest.incarnation(), now,
               absl::StrCat("refuted with incarnation ", digest.incarnation(),
                            ", learned from ", sender));
      break;
    case v1::SUSPECT:
      member.incarnation = digest.incarnation();
      Suspect(member, sender, now);
      break;
    default:
      SetState(member, digest.state(), digest.incarnation(), now,
               absl::StrCat("reported by ", sender));
      break;
  }
}

void MemberTable::Suspect(Member& member, const std::string& by,
                          absl::Time now) {
  member.suspect_since = now;
  member.confirmers.clear();
  if (by != self_id_) member.confirmers.insert(by);
  SetState(member, v1::SUSPECT, member.incarnation, now,
           by == self_id_ ? "failure detector fired"
                          : absl::StrCat("suspected by ", by));
}

void MemberTable::OnLeave(const v1::NodeIdentity& sender, absl::Time now) {
  auto it = members_.find(sender.id());
  if (it == members_.end()) return;
  Member& member = it->second;
  if (sender.instance_id() != member.instance_id || member.state == v1::LEFT) {
    return;
  }
  SetState(member, v1::LEFT, std::max(member.incarnation, sender.incarnation()),
           now, "said goodbye");
}

absl::Duration MemberTable::SuspicionTimeout(const Member& member) const {
  const int alive = CountInState(v1::ALIVE) + CountInState(v1::SUSPECT);
  // Other members that could confirm: everyone but us and the suspect.
  const int possible = std::min(suspicion_.confirmations, alive - 1);
  if (possible <= 0) return suspicion_.min;
  const int confirmed = std::min<int>(member.confirmers.size(), possible);
  const double fraction = std::log(confirmed + 1.0) / std::log(possible + 1.0);
  return std::max(
      suspicion_.min,
      suspicion_.max - (suspicion_.max - suspicion_.min) * fraction);
}

void MemberTable::Check(absl::Time now, double time_scale) {
  // Phi stays far below any threshold within the acceptable pause.
  const absl::Time quiet_since =
      now - detector_options_.acceptable_pause * time_scale;
  for (auto& [id, member] : members_) {
    if (member.state == v1::ALIVE) {
      if (member.detector.last_arrival() > quiet_since) continue;
      if (member.detector.Phi(now, time_scale) >=
          detector_options_.phi_threshold) {
        Suspect(member, self_id_, now);
      }
    } else if (member.state == v1::SUSPECT) {
      const absl::Duration timeout = SuspicionTimeout(member) * time_scale;
      const absl::Duration suspected_for = now - member.suspect_since;
      if (suspected_for >= timeout) {
        SetState(member, v1::DEAD, member.incarnation, now,
                 absl::StrFormat("suspicion not refuted in %d ms (timeout "
                                 "%d ms with %d confirmations)",
                                 absl::ToInt64Milliseconds(suspected_for),
                                 absl::ToInt64Milliseconds(timeout),
                                 member.confirmers.size()));
      }
    }
  }
}

void MemberTable::ForgiveSilence(absl::Time now) {
  for (auto& [id, member] : members_) {
    member.detector.Restart(now);
    if (member.state == v1::SUSPECT) member.suspect_since = now;
  }
}

void MemberTable::Reap(absl::Time now, absl::Duration after) {
  for (auto it = members_.begin(); it != members_.end();) {
    const Member& member = it->second;
    if (IsGone(member.state) && now - member.state_since >= after) {
      RecordChange(member, member.state, v1::MEMBER_STATE_UNSPECIFIED,
                   "reaped");
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
}

void MemberTable::Rebroadcast(const std::string& id) {
  auto it = members_.find(id);
  if (it != members_.end()) it->second.retransmits_left = RetransmitLimit();
}

v1::MemberDigest MemberTable::ToDigest(const Member& member) {
  v1::MemberDigest digest;
  digest.set_id(member.id);
  digest.set_endpoint(member.endpoint);
  digest.set_state(member.state);
  digest.set_incarnation(member.incarnation);
  digest.set_instance_id(member.instance_id);
  return digest;
}

void MemberTable::AppendUpdates(v1::Heartbeat* heartbeat) {
  for (auto& [id, member] : members_) {
    if (member.retransmits_left <= 0) continue;
    --member.retransmits_left;
    *heartbeat->add_members() = ToDigest(member);
  }
}

void MemberTable::AppendAll(v1::Heartbeat* heartbeat) const {
  for (const auto& [id, member] : members_) {
    *heartbeat->add_members() = ToDigest(member);
  }
}

absl::Duration MemberTable::UntrustedAfter(const Member& member,
                                           double time_scale) const {
  return member.detector.SuspectAfter(time_scale) + suspicion_.max * time_scale;
}

int MemberTable::RetransmitLimit() const {
  // memberlist's rule of thumb: a multiple of log(cluster size).
  return 3 * static_cast<int>(std::ceil(std::log2(members_.size() + 2.0)));
}

std::vector<MembershipChange> MemberTable::TakeChanges() {
  return std::exchange(changes_, {});
}

int MemberTable::CountInState(v1::MemberState state) const {
  int count = 0;
  for (const auto& [id, member] : members_) count += member.state == state;
  return count;
}

}  // namespace cachemesh
