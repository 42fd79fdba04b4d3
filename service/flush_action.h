// Makes the local app drop all its caches by calling its flush URL (for DHIS 2:
// POST /api/maintenance/cacheClear with a personal access token) whenever the
// app may have missed invalidations, retrying until the app has done it, and
// says whether such a flush is still owed, so /health can keep the stale node
// out of the load balancer meanwhile.
#ifndef CACHEMESH_SERVICE_FLUSH_ACTION_H_
#define CACHEMESH_SERVICE_FLUSH_ACTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "service/health_url.h"

namespace cachemesh {

struct FlushActionOptions {
  // http://host[:port][/path]; the path defaults to "/". An empty URL means no
  // flush action is configured: then create no FlushAction (Create rejects
  // it).
  std::string url;
  // POST, PUT or GET (upper case). POST and PUT send an empty body.
  std::string method = "POST";
  // The whole Authorization header value, e.g. "ApiToken d2p_..."; empty: no
  // Authorization header. Never logged, never part of a reason or an error.
  std::string authorization;
  // Time from a failed attempt to the next one. Positive.
  absl::Duration retry_interval = absl::Seconds(5);
  // Limit for connecting, and for each write and read of one attempt (cache
  // clears can be slow). Positive.
  absl::Duration timeout = absl::Seconds(30);
  // Stampede guard: an attempt starts at least this long after the previous
  // one started; every request made in between (or while an attempt is in
  // flight) is served by that one attempt. Not negative.
  absl::Duration coalesce = absl::Seconds(1);
  // Stamps State::pending_since. Waiting (coalesce, retry) uses the real
  // clock.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Optional. Gets one line per attempt started and per outcome (succeeded,
  // nothing to flush, failed with the reason), on the worker thread, with no
  // lock held.
  std::function<void(const std::string&)> log;
};

// Owns one worker thread that makes the HTTP requests, so callers never wait
// for the app. The first request is served at once; requests made while an
// attempt is in flight, or within `coalesce` of its start, share one
// follow-up attempt, so a burst costs at most two HTTP requests. 2xx is
// success; any other status (redirects are not followed), a timeout or a
// connection failure is a failure, retried every retry_interval until an
// attempt succeeds. All methods are thread-safe.
class FlushAction {
 public:
  // Errors name the option that is wrong: the URL (quoted, with the problem),
  // the method, a non-positive retry interval or timeout, a negative coalesce
  // time, a missing clock, a line break in the authorization (whose value is
  // not quoted). Starts the worker thread.
  static absl::StatusOr<std::unique_ptr<FlushAction>> Create(
      FlushActionOptions options);
  // Stops the worker at once when it is waiting; with an attempt in flight,
  // returns when that attempt ends (bounded by the timeout for each of its
  // connect, write and read). Requests still pending are dropped.
  ~FlushAction();
  FlushAction(const FlushAction&) = delete;
  FlushAction& operator=(const FlushAction&) = delete;

  // Asks for a flush; cheap and never waits for the HTTP request (safe on the
  // daemon's event loop). `reason` says why, for State::reason and the log.
  //
  // `only_if_app_answers` is for the flush every daemon asks for at its own
  // start: an app that is not running has no cache to flush, so a failure to
  // connect (refused or unreachable) satisfies such a request; any other
  // failure is retried. An attempt serving any request without it is strict:
  // a connection failure is then a failure like any other.
  void Request(std::string reason, bool only_if_app_answers = false);

  // A snapshot for /health and /metrics.
  struct State {
    // Some request has not been satisfied yet (/health: 503 while pending).
    bool pending = false;
    // Empty unless pending; then "flush action pending since <time>: <the
    // oldest unsatisfied request's reason>[ (and N more requests)][; last
    // attempt: <failure>, naming the URL]".
    std::string reason;
    // When the oldest unsatisfied request was made (options.now);
    // InfinitePast() when not pending.
    absl::Time pending_since = absl::InfinitePast();
    // Calls to Request.
    uint64_t requested = 0;
    // HTTP requests made (a coalesced burst counts once) and how they ended;
    // a connection failure that satisfied only_if_app_answers requests counts
    // as succeeded. runs - succeeded - failed is the attempt in flight.
    uint64_t runs = 0;
    uint64_t succeeded = 0;
    uint64_t failed = 0;
  };
  State state() const;

 private:
  // Requests merged into one flush that is owed to the app.
  struct Demand {
    uint64_t count = 0;
    bool strict = false;
    std::string first_reason;
    absl::Time since = absl::InfinitePast();
  };
  // How one attempt ended.
  struct Outcome {
    enum class Kind { kSucceeded, kNotAnswering, kFailed };
    Kind kind;
    std::string description;
  };

  FlushAction(FlushActionOptions options, HealthUrl url);
  void Run();
  // Waits until an attempt is due and starts it: moves next_ into owed_.
  // Returns the attempt's log line, or nullopt once stopping.
  absl::optional<std::string> StartAttempt() ABSL_LOCKS_EXCLUDED(mutex_);
  // Makes the HTTP request; no lock held.
  Outcome Attempt() const;
  // Records the outcome; returns its log line.
  std::string FinishAttempt(const Outcome& outcome) ABSL_LOCKS_EXCLUDED(mutex_);
  void Log(const std::string& line) const;

  const FlushActionOptions options_;
  const HealthUrl url_;
  mutable absl::Mutex mutex_;
  // Served by the attempt in flight or by the failed attempts so far.
  Demand owed_ ABSL_GUARDED_BY(mutex_);
  // Made after the last attempt started.
  Demand next_ ABSL_GUARDED_BY(mutex_);
  // Why the last attempt failed; empty after a success.
  std::string last_failure_ ABSL_GUARDED_BY(mutex_);
  // Real clock: when the last attempt started, when a retry is due.
  absl::Time last_start_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  absl::Time retry_at_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  uint64_t requested_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t runs_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t succeeded_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t failed_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread worker_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_FLUSH_ACTION_H_
