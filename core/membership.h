// The member table: SWIM states, incarnation rules and Lifeguard suspicion.
//
// Rules, in order of precedence for one member:
//  - a larger instance id is a restart: it replaces whatever we had, at once;
//  - gossip about an older instance is ignored;
//  - within one instance, ALIVE(i) beats anything below incarnation i,
//    SUSPECT(i) beats ALIVE(i), DEAD(i) and LEFT(i) beat ALIVE/SUSPECT(i),
//    and LEFT beats DEAD.
// A SUSPECT member becomes DEAD when its suspicion times out. The timeout
// starts at SuspicionOptions::max and shrinks towards ::min as other members
// independently confirm the suspicion (Lifeguard's dynamic suspicion).
#ifndef CACHEMESH_CORE_MEMBERSHIP_H_
#define CACHEMESH_CORE_MEMBERSHIP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "config/defaults.h"
#include "core/failure_detector.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

// DEAD or LEFT: the member's process is no longer in the cluster.
inline bool IsGone(v1::MemberState state) {
  return state == v1::DEAD || state == v1::LEFT;
}

struct SuspicionOptions {
  // Suspicion timeout once `confirmations` other members agree.
  absl::Duration min = defaults::kSuspicionMin;
  // Suspicion timeout with no confirmation.
  absl::Duration max = defaults::kSuspicionMax;
  // Independent confirmations that bring the timeout down to `min`.
  int confirmations = 3;
};

struct MembershipChange {
  std::string id;
  std::string endpoint;
  v1::MemberState from = v1::MEMBER_STATE_UNSPECIFIED;  // Unspecified: new.
  v1::MemberState to = v1::MEMBER_STATE_UNSPECIFIED;    // Unspecified: reaped.
  uint64_t incarnation = 0;
  uint64_t instance_id = 0;
  std::string reason;
  // On a restart: the endpoint the previous instance had, if it differs.
  std::string previous_endpoint;
};

struct Member {
  Member(const FailureDetectorOptions& options, absl::Duration interval,
         absl::Time now)
      : detector(options, interval, now) {}

  std::string id;
  std::string endpoint;
  v1::MemberState state = v1::ALIVE;
  uint64_t incarnation = 0;
  uint64_t instance_id = 0;
  absl::Time state_since;
  absl::Time known_since;
  // Last message heard from the member itself; InfinitePast if never.
  absl::Time last_heard = absl::InfinitePast();
  PhiAccrualDetector detector;
  // While SUSPECT: when suspicion began, and who else reported it.
  absl::Time suspect_since;
  absl::flat_hash_set<std::string> confirmers;
  // Heartbeats that will still carry this member's latest change.
  int retransmits_left = 0;
};

class MemberTable {
 public:
  MemberTable(std::string self_id, absl::Duration heartbeat_interval,
              FailureDetectorOptions detector, SuspicionOptions suspicion);

  const Member* Find(const std::string& id) const;
  // Members ordered by id, for deterministic iteration.
  using Table = absl::btree_map<std::string, Member>;
  const Table& members() const { return members_; }

  // Any message heard directly from `sender` (heartbeat: feeds the detector).
  // Returns false if the message is to be ignored: it is from ourselves or
  // from an instance older than the one we know (a stale process). When it
  // returns true, the sender's entry holds `sender`'s instance.
  bool OnDirect(const v1::NodeIdentity& sender, bool heartbeat, absl::Time now);
  // `sender` gossiped `digest` about another member.
  void OnDigest(const std::string& sender, const v1::MemberDigest& digest,
                absl::Time now);
  // `sender` said goodbye.
  void OnLeave(const v1::NodeIdentity& sender, absl::Time now);
  // Runs the failure detectors and suspicion timeouts. `time_scale` >= 1 is
  // the local health multiplier.
  void Check(absl::Time now, double time_scale);
  // Our own timing was off (we were paused): no peer is to blame for the
  // silence so far.
  void ForgiveSilence(absl::Time now);
  // Forgets DEAD and LEFT members that have been so for `after`.
  void Reap(absl::Time now, absl::Duration after);
  // Makes the next heartbeats carry this member's state again.
  void Rebroadcast(const std::string& id);

  // Gossip: members whose change is still being spread (spends one
  // retransmission each), or every member.
  void AppendUpdates(v1::Heartbeat* heartbeat);
  void AppendAll(v1::Heartbeat* heartbeat) const;

  // The silence after which a member that others call ALIVE makes our view
  // untrustworthy: the detector's threshold plus the longest suspicion.
  absl::Duration UntrustedAfter(const Member& member, double time_scale) const;

  std::vector<MembershipChange> TakeChanges();
  int CountInState(v1::MemberState state) const;

 private:
  Member& Add(const std::string& id, const std::string& endpoint,
              uint64_t instance_id, absl::Time now);
  // Reports that `member`, as it now is, went from `from` to `to`.
  void RecordChange(const Member& member, v1::MemberState from,
                    v1::MemberState to, std::string reason);
  void SetState(Member& member, v1::MemberState to, uint64_t incarnation,
                absl::Time now, std::string reason);
  // A newer instance of `member` replaces the one we knew, at once.
  void Restart(Member& member, const std::string& endpoint,
               uint64_t instance_id, v1::MemberState state,
               uint64_t incarnation, absl::Time now, std::string reason);
  void Suspect(Member& member, const std::string& by, absl::Time now);
  absl::Duration SuspicionTimeout(const Member& member) const;
  int RetransmitLimit() const;
  static v1::MemberDigest ToDigest(const Member& member);

  std::string self_id_;
  absl::Duration heartbeat_interval_;
  FailureDetectorOptions detector_options_;
  SuspicionOptions suspicion_;
  // A B-tree: ordered like std::map, with far fewer cache misses. Inserting
  // or erasing moves entries, so no Member reference outlives either.
  Table members_;
  std::vector<MembershipChange> changes_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_CORE_MEMBERSHIP_H_
