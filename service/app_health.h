// Polls the local app's health URL (cachemesh.app.health.url) on its own
// thread, so GET /health can say whether the app behind this node is up.
//
// 2xx is up; any other status, a timeout or a connection failure is down,
// with a reason naming the URL. Never touches zmq or protocol state.
#ifndef CACHEMESH_SERVICE_APP_HEALTH_H_
#define CACHEMESH_SERVICE_APP_HEALTH_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "config/defaults.h"
#include "service/health.h"
#include "service/health_url.h"

namespace cachemesh {

struct AppHealthOptions {
  // http://host[:port][/path] or https://...; the path defaults to "/".
  std::string url;
  // Time between the end of one probe and the start of the next.
  absl::Duration interval = defaults::kAppHealthInterval;
  // Limit for connecting, and for each read and write of one probe.
  absl::Duration timeout = defaults::kAppHealthTimeout;
  // Stamps AppHealthState::checked_at.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Called after every probe with its result, on the probing thread.
  std::function<void(const AppHealthState&)> on_probe;
};

class AppHealthProber {
 public:
  // Fails on an unusable URL or a non-positive interval or timeout.
  static absl::StatusOr<std::unique_ptr<AppHealthProber>> Create(
      AppHealthOptions options);
  // Stops the thread if running.
  ~AppHealthProber();
  AppHealthProber(const AppHealthProber&) = delete;
  AppHealthProber& operator=(const AppHealthProber&) = delete;

  // Probes now, on the calling thread; records and returns the result.
  AppHealthState ProbeOnce();
  // The latest result; kUnknown before the first probe. Thread-safe.
  AppHealthState Current() const;

  // Starts probing on a thread: at once, then every interval. Call once.
  void Start();
  // Wakes and joins the thread; returns within one probe timeout.
  // Idempotent.
  void Stop();

 private:
  AppHealthProber(AppHealthOptions options, HealthUrl url);
  void Run();
  std::string Describe(absl::string_view what) const;

  const AppHealthOptions options_;
  const HealthUrl url_;
  mutable absl::Mutex mutex_;
  AppHealthState current_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_APP_HEALTH_H_
