// Hands one loop turn's deliveries to the local apps: one app channel
// message for the whole turn, the event log that SSE readers follow, the
// delivery metrics, and a log line per FLUSH and per recovered origin.
// Redis-protocol messages (CHANNEL_MESSAGE) go to the Redis subscribers only,
// and the rest never to them: the two are separate streams. Whatever means
// the app may have missed something (a FLUSH) or must drop everything (a
// CLEAR_ALL) also asks for the flush action.
#ifndef CACHEMESH_SERVICE_APP_DELIVERER_H_
#define CACHEMESH_SERVICE_APP_DELIVERER_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "core/streams.h"
#include "net/app_channel.h"
#include "net/app_event_frame.h"
#include "service/daemon_metrics.h"
#include "service/event_log.h"
#include "service/log.h"

namespace cachemesh {

class AppDeliverer {
 public:
  struct Hooks {
    // A Redis-protocol message from another node, for local subscribers.
    std::function<void(const std::string& channel, const std::string& payload)>
        channel_message;
    // The app must drop its caches. `only_if_app_answers` for the FLUSH a
    // daemon delivers at its own start: an app that is not running has
    // nothing to drop.
    std::function<void(std::string reason, bool only_if_app_answers)> flush;
  };

  // All references must outlive this.
  AppDeliverer(net::AppServer& apps, EventLog& events,
               const DaemonMetrics& metrics, const Logger& logger, Hooks hooks)
      : apps_(apps),
        events_(events),
        metrics_(metrics),
        logger_(logger),
        hooks_(std::move(hooks)) {}

  // Delivers `deliveries` (moved into the event log) at `now`. Only one
  // thread calls it, so the event ids the log will assign are known and the
  // app channel message carries them.
  void Deliver(std::vector<AppDelivery>& deliveries, absl::Time now);

 private:
  net::AppServer& apps_;
  EventLog& events_;
  const DaemonMetrics& metrics_;
  const Logger& logger_;
  const Hooks hooks_;
  // The app channel message being built (its buffer is reused).
  net::AppEventFrame frame_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_APP_DELIVERER_H_
