#include "tools/sim/membership_monitor.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace cachemesh {
namespace sim {
namespace {

constexpr size_t kMaxProblems = 10;

}  // namespace

MembershipMonitor::MembershipMonitor(absl::Time time_zero)
    : time_zero_(time_zero) {}

int MembershipMonitor::AddSlot(const std::string& id) {
  const int slot = static_cast<int>(ids_.size());
  ids_.push_back(id);
  slot_of_[id] = slot;
  up_.push_back(false);
  instance_.push_back(0);
  for (auto& row : view_) row.push_back(v1::MEMBER_STATE_UNSPECIFIED);
  view_.emplace_back(slot + 1, v1::MEMBER_STATE_UNSPECIFIED);
  return slot;
}

void MembershipMonitor::Started(int slot, uint64_t instance) {
  for (Crash& crash : crashes_) {
    if (crash.subject == slot && crash.open) {
      crash.open = false;
      ++figures_.superseded;
    }
  }
  up_[slot] = true;
  instance_[slot] = instance;
  std::fill(view_[slot].begin(), view_[slot].end(),
            v1::MEMBER_STATE_UNSPECIFIED);
  Recount();
}

void MembershipMonitor::Crashed(int slot, absl::Time at) {
  ++figures_.crashes;
  Crash& crash = crashes_.emplace_back();
  crash.subject = slot;
  crash.instance = instance_[slot];
  crash.at = at;
  for (int observer = 0; observer < static_cast<int>(ids_.size()); ++observer) {
    if (observer == slot || !Up(observer)) continue;
    const v1::MemberState seen = view_[observer][slot];
    if (seen == v1::DEAD) {
      crash.last_mark = at;  // It already holds it DEAD.
    } else if (seen != v1::MEMBER_STATE_UNSPECIFIED && seen != v1::LEFT) {
      crash.waiting.insert(observer);
    }
  }
  Stopped(slot);
  CloseIfComplete(crash);
}

void MembershipMonitor::Left(int slot) {
  ++figures_.leaves;
  Leave& leave = leaves_.emplace_back();
  leave.subject = slot;
  leave.instance = instance_[slot];
  for (int observer = 0; observer < static_cast<int>(ids_.size()); ++observer) {
    if (observer == slot || !Up(observer)) continue;
    const v1::MemberState seen = view_[observer][slot];
    if (seen != v1::MEMBER_STATE_UNSPECIFIED && seen != v1::LEFT) {
      leave.waiting.insert(observer);
    }
  }
  Stopped(slot);
}

void MembershipMonitor::Stopped(int slot) {
  up_[slot] = false;
  ObserverGone(slot);
  Recount();
}

void MembershipMonitor::ObserverGone(int observer) {
  for (Crash& crash : crashes_) {
    if (crash.open && crash.waiting.erase(observer) > 0) {
      CloseIfComplete(crash);
    }
  }
  for (Leave& leave : leaves_) leave.waiting.erase(observer);
}

void MembershipMonitor::CloseIfComplete(Crash& crash) {
  if (!crash.open || !crash.waiting.empty()) return;
  crash.open = false;
  // Without a single mark (every observer went away) there is no sample.
  if (crash.last_mark != absl::InfinitePast()) {
    figures_.detections.push_back(crash.last_mark - crash.at);
  }
}

void MembershipMonitor::OnChange(int observer, const MembershipChange& change,
                                 absl::Time at, bool excused) {
  auto it = slot_of_.find(change.id);
  if (it == slot_of_.end()) return;
  const int subject = it->second;
  v1::MemberState& seen = view_[observer][subject];
  if (Up(observer) && Up(subject) && observer != subject) {
    mismatches_ += (change.to != v1::ALIVE) - (seen != v1::ALIVE);
  }
  seen = change.to;
  const bool subject_instance_up =
      Up(subject) && instance_[subject] == change.instance_id;
  if (change.to == v1::DEAD) {
    if (subject_instance_up) {
      if (excused) {
        ++figures_.excused_dead;
      } else {
        ++figures_.false_dead;
        Problem(absl::StrFormat("false DEAD: %s marked %s#%d DEAD at %s (%s)",
                                ids_[observer], change.id, change.instance_id,
                                Seconds(at), change.reason));
      }
    }
    for (Crash& crash : crashes_) {
      if (crash.open && crash.subject == subject &&
          crash.instance == change.instance_id &&
          crash.waiting.erase(observer) > 0) {
        crash.last_mark = at;
        CloseIfComplete(crash);
      }
    }
  } else if (change.to == v1::LEFT) {
    for (Leave& leave : leaves_) {
      if (leave.subject == subject && leave.instance == change.instance_id) {
        leave.waiting.erase(observer);
      }
    }
  }
}

void MembershipMonitor::NoteEvent(absl::Time at) {
  pending_events_.push_back(at);
}

void MembershipMonitor::Converged(absl::Time at) {
  for (absl::Time event : pending_events_) {
    figures_.convergences.push_back(at - event);
  }
  pending_events_.clear();
}

void MembershipMonitor::Recount() {
  mismatches_ = 0;
  for (int observer = 0; observer < static_cast<int>(ids_.size()); ++observer) {
    if (!Up(observer)) continue;
    for (int subject = 0; subject < static_cast<int>(ids_.size()); ++subject) {
      mismatches_ += subject != observer && Up(subject) &&
                     view_[observer][subject] != v1::ALIVE;
    }
  }
}

MembershipFigures MembershipMonitor::Finish() const {
  MembershipFigures figures = figures_;
  for (const Crash& crash : crashes_) {
    if (!crash.open) continue;
    ++figures.undetected;
    std::vector<std::string> waiting;
    for (int observer : crash.waiting) waiting.push_back(ids_[observer]);
    if (figures.problems.size() < kMaxProblems) {
      figures.problems.push_back(absl::StrFormat(
          "undetected: %s#%d crashed at %s, still not DEAD at %s",
          ids_[crash.subject], crash.instance, Seconds(crash.at),
          absl::StrJoin(waiting, ",")));
    }
  }
  for (const Leave& leave : leaves_) {
    figures.leaves_missed += static_cast<int>(leave.waiting.size());
    if (!leave.waiting.empty() && figures.problems.size() < kMaxProblems) {
      std::vector<std::string> waiting;
      for (int observer : leave.waiting) waiting.push_back(ids_[observer]);
      figures.problems.push_back(absl::StrFormat(
          "leave missed: %s#%d left, not LEFT at %s", ids_[leave.subject],
          leave.instance, absl::StrJoin(waiting, ",")));
    }
  }
  figures.unconverged = static_cast<int>(pending_events_.size());
  for (absl::Time event : pending_events_) {
    if (figures.problems.size() < kMaxProblems) {
      figures.problems.push_back(absl::StrFormat(
          "unconverged: views never agreed after the event at %s",
          Seconds(event)));
    }
  }
  return figures;
}

void MembershipMonitor::Problem(std::string text) {
  if (figures_.problems.size() < kMaxProblems) {
    figures_.problems.push_back(std::move(text));
  }
}

std::string MembershipMonitor::Seconds(absl::Time at) const {
  return absl::StrFormat("t=%.6fs", absl::ToDoubleSeconds(at - time_zero_));
}

}  // namespace sim
}  // namespace cachemesh
