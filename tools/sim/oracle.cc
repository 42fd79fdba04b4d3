#include "tools/sim/oracle.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {
namespace sim {
namespace {

bool SameInvalidation(const v1::Invalidation& a, const v1::Invalidation& b) {
  return a.op() == b.op() && a.region() == b.region() && a.key() == b.key() &&
         a.collection_role() == b.collection_role();
}

bool InRuns(const std::vector<std::pair<uint64_t, uint64_t>>& runs,
            uint64_t seq) {
  auto it = std::upper_bound(
      runs.begin(), runs.end(), seq,
      [](uint64_t value, const std::pair<uint64_t, uint64_t>& run) {
        return value < run.first;
      });
  return it != runs.begin() && std::prev(it)->second >= seq;
}

// Sorted, overlapping and adjacent ranges merged.
std::vector<std::pair<uint64_t, uint64_t>> Merged(
    std::vector<std::pair<uint64_t, uint64_t>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& range : ranges) {
    if (!merged.empty() && range.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, range.second);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

// Walks sorted disjoint ranges alongside increasing sequence numbers.
class RangeCursor {
 public:
  explicit RangeCursor(const std::vector<std::pair<uint64_t, uint64_t>>& runs)
      : runs_(runs) {}
  bool Contains(uint64_t seq) {
    while (next_ < runs_.size() && runs_[next_].second < seq) ++next_;
    return next_ < runs_.size() && runs_[next_].first <= seq;
  }

 private:
  const std::vector<std::pair<uint64_t, uint64_t>>& runs_;
  size_t next_ = 0;
};

}  // namespace

Oracle::Oracle(OracleOptions options) : options_(options) {}

Oracle::Handle Oracle::NodeStarted(const std::string& id, uint64_t instance,
                                   absl::Time at) {
  const Handle handle = static_cast<Handle>(nodes_.size());
  NodeInstance& node = nodes_.emplace_back();
  node.id = id;
  node.instance = instance;
  node.started = at;
  node.stream = StreamIndex(id, instance);
  streams_[node.stream].origin = handle;
  received_.emplace_back();
  return handle;
}

void Oracle::NodeStopped(Handle node, StopKind kind) {
  nodes_[node].stopped = true;
  nodes_[node].stop_kind = kind;
}

int Oracle::StreamIndex(const std::string& origin_id,
                        uint64_t origin_instance) {
  auto [it, added] =
      stream_index_.try_emplace(std::make_pair(origin_id, origin_instance),
                                static_cast<int>(streams_.size()));
  if (added) {
    Stream& stream = streams_.emplace_back();
    stream.origin_id = origin_id;
    stream.origin_instance = origin_instance;
  }
  return it->second;
}

Oracle::Received& Oracle::ReceivedOf(Handle receiver, int stream) {
  std::vector<Received>& of_receiver = received_[receiver];
  if (static_cast<int>(of_receiver.size()) <= stream) {
    of_receiver.resize(stream + 1);
  }
  return of_receiver[stream];
}

void Oracle::Published(Handle origin, uint64_t seq,
                       const v1::Invalidation& invalidation, absl::Time at) {
  std::vector<Publication>& publications =
      streams_[nodes_[origin].stream].publications;
  if (publications.size() < seq) publications.resize(seq);
  Publication& publication = publications[seq - 1];
  publication.invalidation = invalidation;
  publication.at = at;
}

void Oracle::Delivered(Handle receiver, const AppDelivery& delivery,
                       absl::Time at) {
  if (delivery.kind == v1::AppEvent::FLUSH) {
    OnFlush(receiver, delivery);
  } else {
    OnInvalidation(receiver, delivery, at);
  }
}

void Oracle::OnInvalidation(Handle receiver, const AppDelivery& delivery,
                            absl::Time at) {
  const std::string& origin_id = delivery.origin_id;
  const int stream = StreamIndex(origin_id, delivery.origin_instance);
  const uint64_t seq = delivery.seq;
  ++live_.delivered;
  live_.recovered += delivery.recovered;
  std::vector<Publication>& publications = streams_[stream].publications;
  auto what = [&]() {
    return absl::StrFormat("%s got %s#%d seq %d at %s", Name(receiver),
                           origin_id, delivery.origin_instance, seq,
                           Seconds(at));
  };
  if (seq == 0 || seq > publications.size() ||
      publications[seq - 1].at == absl::InfiniteFuture()) {
    ++live_.corrupt;
    Describe(&live_, absl::StrCat("corrupt: ", what(), ", never published"));
  } else {
    Publication& publication = publications[seq - 1];
    if (delivery.invalidation == nullptr ||
        !SameInvalidation(publication.invalidation, *delivery.invalidation)) {
      ++live_.corrupt;
      Describe(&live_,
               absl::StrCat("corrupt: ", what(), ", not what was published"));
    }
    if (origin_id != nodes_[receiver].id) publication.reached = true;
    const absl::Duration latency = at - publication.at;
    total_latency_ += latency;
    live_.max_latency = std::max(live_.max_latency, latency);
  }
  Received& received = ReceivedOf(receiver, stream);
  if (seq <= received.high) {
    if (InRuns(received.delivered, seq)) {
      ++live_.duplicates;
      Describe(&live_, absl::StrCat("duplicate: ", what()));
    } else {
      ++live_.out_of_order;
      Describe(&live_, absl::StrFormat("out of order: %s after seq %d", what(),
                                       received.high));
    }
    return;
  }
  if (!received.delivered.empty() &&
      received.delivered.back().second + 1 == seq) {
    received.delivered.back().second = seq;
  } else {
    received.delivered.emplace_back(seq, seq);
  }
  received.high = seq;
}

void Oracle::OnFlush(Handle receiver, const AppDelivery& delivery) {
  ++live_.flushes;
  if (delivery.flushed_from == 0 ||
      delivery.flushed_from > delivery.flushed_to) {
    return;  // Covers nothing.
  }
  const int stream =
      StreamIndex(delivery.origin_id, delivery.origin_instance);
  Received& received = ReceivedOf(receiver, stream);
  received.flushed.emplace_back(delivery.flushed_from, delivery.flushed_to);
  received.high = std::max(received.high, delivery.flushed_to);
}

bool Oracle::Recoverable(const Stream& stream,
                         const Publication& publication) const {
  if (publication.reached || stream.origin < 0) return true;
  const NodeInstance& origin = nodes_[stream.origin];
  return !origin.stopped || origin.stop_kind == StopKind::kLeave;
}

OracleReport Oracle::Check() const {
  OracleReport report = live_;
  if (report.delivered > 0) {
    report.mean_latency =
        total_latency_ / static_cast<int64_t>(report.delivered);
  }
  for (const Stream& stream : streams_) {
    for (const Publication& publication : stream.publications) {
      report.published += publication.at != absl::InfiniteFuture();
    }
  }
  for (Handle receiver = 0; receiver < static_cast<Handle>(nodes_.size());
       ++receiver) {
    if (!nodes_[receiver].stopped) CheckReceiver(receiver, &report);
  }
  return report;
}

void Oracle::CheckReceiver(Handle receiver, OracleReport* report) const {
  for (int stream = 0; stream < static_cast<int>(streams_.size()); ++stream) {
    const int origin = streams_[stream].origin;
    if (origin >= 0 && nodes_[origin].id == nodes_[receiver].id) continue;
    CheckStream(receiver, stream, report);
  }
}

void Oracle::CheckStream(Handle receiver, int stream_index,
                         OracleReport* report) const {
  static const Received kNothing;
  const std::vector<Received>& of_receiver = received_[receiver];
  const Received& received = stream_index < static_cast<int>(of_receiver.size())
                                 ? of_receiver[stream_index]
                                 : kNothing;
  const std::vector<std::pair<uint64_t, uint64_t>> flushed =
      Merged(received.flushed);
  RangeCursor delivered_cursor(received.delivered);
  RangeCursor flushed_cursor(flushed);
  const Stream& stream = streams_[stream_index];
  const absl::Time owed_after = nodes_[receiver].started + options_.sync_grace;
  // Silent losses are described as runs of consecutive sequence numbers.
  uint64_t lost_first = 0, lost_last = 0;
  auto describe_lost = [&]() {
    if (lost_first == 0) return;
    Describe(report,
             absl::StrFormat("silent loss: %s never got %s#%d seq %d..%d "
                             "(first published at %s)",
                             Name(receiver), stream.origin_id,
                             stream.origin_instance, lost_first, lost_last,
                             Seconds(stream.publications[lost_first - 1].at)));
    lost_first = 0;
  };
  for (uint64_t seq = 1; seq <= stream.publications.size(); ++seq) {
    const Publication& publication = stream.publications[seq - 1];
    if (publication.at == absl::InfiniteFuture() ||
        publication.at <= owed_after) {
      continue;
    }
    if (!Recoverable(stream, publication)) {
      ++report->unrecoverable;
      continue;
    }
    ++report->obligations;
    if (delivered_cursor.Contains(seq)) continue;
    if (flushed_cursor.Contains(seq)) {
      ++report->covered_by_flush;
      continue;
    }
    ++report->silent_losses;
    if (lost_first != 0 && lost_last + 1 != seq) describe_lost();
    if (lost_first == 0) lost_first = seq;
    lost_last = seq;
  }
  describe_lost();
}

void Oracle::Describe(OracleReport* report, std::string text) const {
  if (static_cast<int>(report->violations.size()) < options_.max_described) {
    report->violations.push_back(std::move(text));
  }
}

std::string Oracle::Name(Handle node) const {
  return absl::StrCat(nodes_[node].id, "#", nodes_[node].instance);
}

std::string Oracle::Seconds(absl::Time at) const {
  return absl::StrFormat("t=%.6fs",
                         absl::ToDoubleSeconds(at - options_.time_zero));
}

}  // namespace sim
}  // namespace cachemesh
