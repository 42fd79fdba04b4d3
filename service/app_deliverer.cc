#include "service/app_deliverer.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {

namespace {

bool IsChannelMessage(const AppDelivery& delivery) {
  return delivery.invalidation != nullptr &&
         delivery.invalidation->op() == v1::Invalidation::CHANNEL_MESSAGE;
}

}  // namespace

void AppDeliverer::Deliver(std::vector<AppDelivery>& deliveries,
                           absl::Time now) {
  for (const AppDelivery& delivery : deliveries) {
    if (IsChannelMessage(delivery)) {
      metrics_.invalidations_received->Increment();
      metrics_.propagation_latency->Observe(
          absl::ToDoubleSeconds(now - delivery.published_at));
      if (hooks_.channel_message) {
        hooks_.channel_message(delivery.invalidation->channel(),
                               delivery.invalidation->payload());
      }
    }
  }
  deliveries.erase(
      std::remove_if(deliveries.begin(), deliveries.end(), IsChannelMessage),
      deliveries.end());
  if (deliveries.empty()) return;
  // Only this loop appends, so the ids the log will assign are known: the
  // events go to the apps first and are then moved into the log, uncopied.
  uint64_t event_id = events_.newest_id() + 1;
  absl::flat_hash_map<std::string, int> recovered_by_origin;
  uint64_t received = 0;
  frame_.Clear();
  for (const AppDelivery& delivery : deliveries) {
    if (delivery.kind == v1::AppEvent::FLUSH) {
      if (delivery.flushed_to != 0) metrics_.flushes->Increment();
      if (hooks_.flush) {
        hooks_.flush(absl::StrCat("FLUSH: ", delivery.reason),
                     /*only_if_app_answers=*/delivery.flushed_to == 0);
      }
      logger_.Warning(
          delivery.flushed_to == 0
              ? absl::StrCat("FLUSH: ", delivery.reason)
              : absl::StrFormat("FLUSH: %s (stream %s/%d seq %d..%d)",
                                delivery.reason, delivery.origin_id,
                                delivery.origin_instance, delivery.flushed_from,
                                delivery.flushed_to));
    } else {
      ++received;
      metrics_.propagation_latency->Observe(
          absl::ToDoubleSeconds(now - delivery.published_at));
      if (delivery.recovered) {
        metrics_.invalidations_recovered->Increment();
        ++recovered_by_origin[delivery.origin_id];
      }
      if (delivery.invalidation->op() == v1::Invalidation::CLEAR_ALL &&
          hooks_.flush) {
        hooks_.flush(absl::StrCat("CLEAR_ALL from ", delivery.origin_id),
                     /*only_if_app_answers=*/false);
      }
    }
    frame_.Add({delivery.kind, delivery.origin_id, delivery.seq,
                delivery.reason, event_id++},
               delivery.invalidation.get());
  }
  metrics_.invalidations_received->Increment(received);
  if (absl::Status sent = apps_.Publish(frame_); !sent.ok()) {
    logger_.Error(absl::StrCat("app channel: ", sent.message()));
  }
  events_.AppendAll(&deliveries);
  for (const auto& [origin, count] : recovered_by_origin) {
    logger_.Info(absl::StrFormat("recovered %d lost invalidations from %s",
                                 count, origin));
  }
}

}  // namespace cachemesh
