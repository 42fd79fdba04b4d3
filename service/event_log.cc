#include "service/event_log.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cachemesh {
namespace {

v1::AppEvent Flush(uint64_t event_id, std::string reason) {
  v1::AppEvent flush;
  flush.set_kind(v1::AppEvent::FLUSH);
  flush.set_reason(std::move(reason));
  flush.set_event_id(event_id);
  return flush;
}

}  // namespace

struct EventLog::WaitState {
  const EventLog* log;
  uint64_t last_id;
  const std::atomic<bool>* cancelled;
};

EventLog::EventLog(size_t capacity, uint64_t first_id)
    : capacity_(std::max<size_t>(1, capacity)),
      first_id_(std::max<uint64_t>(1, first_id)),
      next_id_(first_id_) {}

std::string EventLog::GoneReason(uint64_t last_id, uint64_t oldest) const {
  if (last_id + 1 < first_id_) {
    return absl::StrCat("resume point ", last_id,
                        " is gone: it predates this daemon process, whose "
                        "first event is ",
                        first_id_);
  }
  return absl::StrCat("resume point ", last_id, " is gone: events up to ",
                      oldest - 1, " were dropped from the ", capacity_,
                      "-event buffer");
}

uint64_t EventLog::Append(AppDelivery event) {
  std::vector<AppDelivery> events;
  events.push_back(std::move(event));
  return AppendAll(&events);
}

uint64_t EventLog::AppendAll(std::vector<AppDelivery>* events) {
  absl::MutexLock lock(&mutex_);
  const uint64_t first = next_id_;
  for (AppDelivery& event : *events) {
    if (events_.size() == capacity_) events_.pop_front();
    events_.push_back(std::move(event));
    ++next_id_;
  }
  events->clear();
  return first;
}

uint64_t EventLog::newest_id() const {
  absl::MutexLock lock(&mutex_);
  return NewestLocked();
}

bool EventLog::ReadyToReturn(WaitState* state) {
  const EventLog& log = *state->log;
  return log.NewestLocked() != state->last_id || log.shutdown_ ||
         (state->cancelled != nullptr && state->cancelled->load());
}

std::vector<v1::AppEvent> EventLog::WaitAfter(
    uint64_t last_id, size_t max_events, absl::Duration timeout,
    const std::atomic<bool>* cancelled) const {
  max_events = std::max<size_t>(1, max_events);
  std::vector<v1::AppEvent> out;
  absl::MutexLock lock(&mutex_);
  WaitState state{this, last_id, cancelled};
  mutex_.AwaitWithTimeout(absl::Condition(&ReadyToReturn, &state), timeout);

  const uint64_t newest = NewestLocked();
  if (last_id > newest) {
    out.push_back(Flush(
        newest, absl::StrCat("resume point ", last_id,
                             " is unknown to this daemon (its newest event is ",
                             newest, "); the daemon was probably restarted")));
    return out;
  }
  const uint64_t oldest = OldestHeldLocked();
  uint64_t after = last_id;
  if (last_id + 1 < oldest) {
    out.push_back(Flush(oldest - 1, GoneReason(last_id, oldest)));
    after = oldest - 1;
  }
  for (size_t i = after + 1 - oldest;
       i < events_.size() && out.size() < max_events; ++i) {
    out.push_back(events_[i].ToAppEvent(oldest + i));
  }
  return out;
}

void EventLog::WakeWaiters() const {
  // Releasing the mutex makes absl re-evaluate every waiter's Condition.
  absl::MutexLock lock(&mutex_);
}

void EventLog::Shutdown() {
  absl::MutexLock lock(&mutex_);
  shutdown_ = true;
}

bool EventLog::is_shutdown() const {
  absl::MutexLock lock(&mutex_);
  return shutdown_;
}

}  // namespace cachemesh
