// Membership figures of a simulated run, computed from the membership changes
// each node reports and the simulator's knowledge of which node instance is
// really up:
//  - detection: for each crash, the time until the last observer (a live
//    node that knew the crashed one) marked that instance DEAD; a restart
//    before that supersedes the crash;
//  - false DEAD: a node marked DEAD an instance that was up (a paused process
//    is up), unless that member's links were cut recently ("excused");
//  - convergence: after each membership event (start, join, restart, heal),
//    the time until every live node holds every other live node ALIVE with
//    its current instance;
//  - leaves: every observer of a graceful leave must mark it LEFT.
// Slots are dense indexes chosen by the simulator, one per node id.
#ifndef CACHEMESH_TOOLS_SIM_MEMBERSHIP_MONITOR_H_
#define CACHEMESH_TOOLS_SIM_MEMBERSHIP_MONITOR_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/membership.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace sim {

struct MembershipFigures {
  int crashes = 0;
  // One per crash every observer marked DEAD: crash to the last mark.
  std::vector<absl::Duration> detections;
  // Crashes whose node restarted before every observer marked it DEAD.
  int superseded = 0;
  // Crashes some live observer never marked DEAD.
  int undetected = 0;
  int false_dead = 0;
  // DEAD marks of live members whose links were cut recently.
  int excused_dead = 0;
  // One per membership event, in order; the first is the cluster's start.
  std::vector<absl::Duration> convergences;
  // Events after which the views never converged.
  int unconverged = 0;
  int leaves = 0;
  // (leave, observer) pairs where the observer never marked it LEFT.
  int leaves_missed = 0;
  // The first few problems, readable.
  std::vector<std::string> problems;
};

class MembershipMonitor {
 public:
  // Times in problem descriptions are shown relative to `time_zero`.
  explicit MembershipMonitor(absl::Time time_zero);

  // Registers the next slot for node `id`; returns the slot.
  int AddSlot(const std::string& id);
  // Instance `instance` of the slot's node started.
  void Started(int slot, uint64_t instance);
  void Crashed(int slot, absl::Time at);
  void Left(int slot);
  // `observer` reported `change`. `excused`: the member's links were cut
  // recently, so a DEAD verdict about it is deserved.
  void OnChange(int observer, const MembershipChange& change, absl::Time at,
                bool excused);

  // A membership event whose convergence is to be measured.
  void NoteEvent(absl::Time at);
  bool AwaitingConvergence() const { return !pending_events_.empty(); }
  // Every live node holds every other live node ALIVE (by state only; the
  // simulator confirms instances before calling Converged).
  bool StatesAgree() const { return mismatches_ == 0; }
  // Every pending event converged at `at`.
  void Converged(absl::Time at);

  MembershipFigures Finish() const;

 private:
  struct Crash {
    int subject = 0;
    uint64_t instance = 0;
    absl::Time at;
    // Observers that have not marked it DEAD yet.
    std::set<int> waiting;
    absl::Time last_mark = absl::InfinitePast();
    bool open = true;
  };
  struct Leave {
    int subject = 0;
    uint64_t instance = 0;
    std::set<int> waiting;
  };

  void Stopped(int slot);
  void ObserverGone(int observer);
  void CloseIfComplete(Crash& crash);
  void Recount();
  void Problem(std::string text);
  std::string Seconds(absl::Time at) const;
  bool Up(int slot) const { return up_[slot]; }

  absl::Time time_zero_;
  std::vector<std::string> ids_;
  absl::flat_hash_map<std::string, int> slot_of_;
  std::vector<bool> up_;
  std::vector<uint64_t> instance_;
  // [observer][subject]: the state the observer last reported.
  std::vector<std::vector<v1::MemberState>> view_;
  // Ordered pairs of distinct live nodes whose view is not ALIVE.
  int64_t mismatches_ = 0;
  std::vector<Crash> crashes_;
  std::vector<Leave> leaves_;
  std::vector<absl::Time> pending_events_;
  MembershipFigures figures_;
};

}  // namespace sim
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_SIM_MEMBERSHIP_MONITOR_H_
