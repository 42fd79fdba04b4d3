// The events this node hands to its local app: invalidations and FLUSHes
// received from OTHER members, in delivery order, as a bounded ring that
// GET /v1/invalidations/stream reads (and resumes) from.
//
// Event ids are strictly increasing and only meaningful within one daemon
// process. A reader presents the last id it processed; if the events after it
// are no longer all held, or the id is newer than anything this process
// assigned (the client saw an earlier run of the daemon), the reader first
// gets a synthesized FLUSH: its cache can no longer be trusted.
//
// To make ids from an earlier run detectable, start them at a per-process
// epoch that grows across restarts, e.g. the node's instance id (start time
// in microseconds): an earlier run's ids are then all below this run's range
// and resolve to FLUSH instead of silently skipping events.
#ifndef CACHEMESH_SERVICE_EVENT_LOG_H_
#define CACHEMESH_SERVICE_EVENT_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/streams.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

class EventLog {
 public:
  // Retains the newest `capacity` events (at least 1). The first appended
  // event gets id `first_id` (at least 1).
  EventLog(size_t capacity, uint64_t first_id);
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Stores `event` with the next id and wakes waiters. Returns the id.
  uint64_t Append(AppDelivery event);
  // Stores `events` in order with the next ids, at once, and wakes waiters;
  // `events` is left empty. Returns the first id. The events' invalidations
  // stay shared (with the node's retransmission ring), not copied.
  uint64_t AppendAll(std::vector<AppDelivery>* events);

  // The id of the newest event, or first_id - 1 if there is none yet: the
  // resume point for a reader that wants only events from now on.
  uint64_t newest_id() const;

  // Up to `max_events` (at least 1) events after `last_id`, oldest first.
  // Blocks until there is one, `timeout` passes, Shutdown() is called, or
  // `*cancelled` is true after a WakeWaiters() (then it may return nothing).
  // If `last_id` cannot be resumed from, the first event is a synthesized
  // FLUSH whose event_id is where reading continues:
  //  - gone (the events after it were dropped): id = oldest held - 1, and the
  //    held events follow;
  //  - newer than newest_id(): id = newest_id(), and only new events follow.
  std::vector<v1::AppEvent> WaitAfter(
      uint64_t last_id, size_t max_events, absl::Duration timeout,
      const std::atomic<bool>* cancelled = nullptr) const;

  // Makes every current WaitAfter re-check its `cancelled` flag. Set the flag
  // first, then call this.
  void WakeWaiters() const;

  // Wakes all waiters; from now on WaitAfter never blocks. Appends still work.
  void Shutdown();
  bool is_shutdown() const;

  size_t capacity() const { return capacity_; }

 private:
  struct WaitState;
  // The Condition WaitAfter awaits; absl runs it with mutex_ held.
  static bool ReadyToReturn(WaitState* state) ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // Why resuming after `last_id` is impossible when `oldest` is held first.
  std::string GoneReason(uint64_t last_id, uint64_t oldest) const;

  uint64_t NewestLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return next_id_ - 1;
  }
  uint64_t OldestHeldLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return next_id_ - events_.size();
  }

  const size_t capacity_;
  const uint64_t first_id_;
  mutable absl::Mutex mutex_;
  std::deque<AppDelivery> events_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_);
  bool shutdown_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_EVENT_LOG_H_
