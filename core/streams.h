// Invalidation streams: per-origin sequencing, batching, the retransmission
// ring, and the receiver's gap tracking.
//
// Every origin instance numbers its invalidations 1, 2, 3, ... A receiver
// delivers them to its app exactly once and in that order. What it cannot
// recover it covers with a FLUSH: everything up to the flushed sequence
// number counts as handled, because the app dropped its whole cache.
#ifndef CACHEMESH_CORE_STREAMS_H_
#define CACHEMESH_CORE_STREAMS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "config/defaults.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

struct StreamOptions {
  // Publishes within this window go out in one batch.
  absl::Duration batch_max_delay = defaults::kBatchMaxDelay;
  // A batch is sent at once when it reaches this size.
  int batch_max_size = defaults::kBatchMaxSize;
  // Invalidations kept per stream to answer loss reports.
  int recovery_buffer = defaults::kRecoveryBuffer;
  // Wait this long after spotting a gap before the first NACK (reordering).
  absl::Duration nack_delay = absl::Milliseconds(5);
  // Between NACKs for the same gap.
  absl::Duration nack_interval = absl::Milliseconds(100);
  // NACKs without progress before giving up and flushing, counting only
  // those sent while the origin could not serve the gap itself (see
  // IncomingStream::hopeless_nacks): an origin that is ALIVE or SUSPECT and
  // whose ring may still hold the gap is asked until it answers.
  int nack_attempts = 10;
  // A gap that no live member can serve is flushed after it has been so
  // for this long.
  absl::Duration orphan_grace = absl::Milliseconds(1500);
  // Largest range one NACK asks for.
  uint64_t max_nack_range = 4096;
};

// An event for the local app: an invalidation to apply, or a FLUSH. Plain
// fields rather than a v1::AppEvent (whose every string is an allocation),
// so that a delivery is cheap to make and to move (the origin id is copied,
// without allocating for ids up to 15 bytes); ToAppEvent() builds the
// message.
struct AppDelivery {
  v1::AppEvent::Kind kind = v1::AppEvent::INVALIDATION;
  // The member that published it (INVALIDATION) or whose stream had the
  // loss (FLUSH; empty when not about one stream).
  std::string origin_id;
  uint64_t origin_instance = 0;
  // INVALIDATION only: its number in the origin's stream, and what to apply
  // (immutable, shared with the retransmission ring).
  uint64_t seq = 0;
  std::shared_ptr<const v1::Invalidation> invalidation;
  // INVALIDATION only: when the origin first sent it.
  absl::Time published_at;
  // INVALIDATION only: it arrived through a NACK and retransmission.
  bool recovered = false;
  // FLUSH only: why, and the range of the origin's stream it stands in for.
  std::string reason;
  uint64_t flushed_from = 0;
  uint64_t flushed_to = 0;

  // The event as the app sees it, with `event_id`.
  v1::AppEvent ToAppEvent(uint64_t event_id) const;
};

struct StoredInvalidation {
  uint64_t seq = 0;
  std::shared_ptr<const v1::Invalidation> invalidation;
  absl::Time published_at;
};

// The last `capacity` invalidations of one stream, by sequence number.
// Sequence numbers only grow, but may skip (flushed ranges are not stored).
class RetransmitRing {
 public:
  explicit RetransmitRing(int capacity) : capacity_(capacity) {}
  void Push(StoredInvalidation entry);
  // Entries with from <= seq <= to, in order.
  std::vector<const StoredInvalidation*> Range(uint64_t from,
                                               uint64_t to) const;
  size_t size() const { return entries_.size(); }

 private:
  size_t capacity_;
  std::deque<StoredInvalidation> entries_;
};

// This node's own stream.
class OutgoingStream {
 public:
  explicit OutgoingStream(const StreamOptions& options)
      : options_(options), ring_(options.recovery_buffer) {}

  // Queues invalidations for the next batch.
  void Publish(std::vector<v1::Invalidation> invalidations, absl::Time now);
  // When the pending batch must go out; InfiniteFuture if none is pending.
  absl::Time FlushDeadline() const;
  bool Full() const {
    return static_cast<int>(pending_.size()) >= options_.batch_max_size;
  }
  // Numbers the pending invalidations into batches of at most
  // batch_max_size, each in a copy of `header` (an envelope with its cluster
  // and sender set), and keeps them for retransmission: the ring shares the
  // envelopes' invalidations rather than copying them.
  std::vector<std::shared_ptr<const v1::Envelope>> TakeBatches(
      const v1::Envelope& header, absl::Time now);
  uint64_t published_seq() const { return published_seq_; }
  const RetransmitRing& ring() const { return ring_; }

 private:
  StreamOptions options_;
  std::vector<v1::Invalidation> pending_;
  absl::Time pending_since_;
  uint64_t published_seq_ = 0;
  RetransmitRing ring_;
};

// What this node knows of another origin instance's stream.
class IncomingStream {
 public:
  IncomingStream(std::string origin_id, uint64_t origin_instance,
                 uint64_t start_after, const StreamOptions& options,
                 absl::Time now);

  // A batch from the origin or a relay. Appends what becomes deliverable.
  // Kept invalidations point into `batch` (shared, not copied), so a
  // received batch lives while any of its invalidations is held; a
  // retransmission's (`recovered`) are copied instead.
  void OnBatch(std::shared_ptr<const v1::InvalidationBatch> batch,
               bool recovered, absl::Time now, std::vector<AppDelivery>* out);
  // Someone says sequence number `seq` exists.
  void OnKnownSeq(uint64_t seq, absl::Time now);
  // The origin itself says it has published up to `seq`.
  void OnOriginAnnounced(uint64_t seq, absl::Time now);
  // Since when we have held invalidations the origin has not announced;
  // InfiniteFuture while it has announced everything we hold.
  absl::Time ahead_of_origin_since() const { return ahead_of_origin_since_; }
  // `relay` has this stream with no gap up to `contiguous`.
  void OnRelayProgress(const std::string& relay, uint64_t contiguous,
                       absl::Time now);
  // Covers everything up to `to` with a FLUSH, then delivers what follows.
  void FlushThrough(uint64_t to, const std::string& reason, absl::Time now,
                    std::vector<AppDelivery>* out);

  bool HasGap() const { return contiguous_ < known_max_; }
  // The first range to ask for: [first, last], at most max_nack_range long.
  std::pair<uint64_t, uint64_t> MissingRange() const;
  // The last sequence number of the first gap (what giving up must flush).
  uint64_t GapEnd() const;
  // Recovery bookkeeping, driven by the node. Progress (a delivery or a
  // FLUSH) starts the counts over.
  absl::Time gap_since() const { return gap_since_; }
  absl::Time last_nack() const { return last_nack_; }
  // NACKs sent for the current gap.
  int nack_attempts() const { return nack_attempts_; }
  // Of those, the ones sent while the origin could not serve the gap itself:
  // the budget that nack_attempts bounds.
  int hopeless_nacks() const { return hopeless_nacks_; }
  void NoteNack(bool origin_may_serve, absl::Time now);
  // No member could be asked for the gap; since when that has held
  // (InfiniteFuture while someone could), for the orphan grace.
  void NoteUnserved(absl::Time now);
  absl::Time unserved_since() const { return unserved_since_; }

  const std::string& origin_id() const { return origin_id_; }
  uint64_t origin_instance() const { return origin_instance_; }
  uint64_t contiguous() const { return contiguous_; }
  uint64_t known_max() const { return known_max_; }
  // The highest sequence number the origin itself announced.
  uint64_t origin_announced() const { return origin_announced_; }
  absl::Time last_activity() const { return last_activity_; }
  const absl::flat_hash_map<std::string, uint64_t>& relay_progress() const {
    return relay_progress_;
  }
  const RetransmitRing& ring() const { return ring_; }

 private:
  void DeliverReady(std::vector<AppDelivery>* out);
  // Delivers `stored`, which must be contiguous_ + 1, and keeps it to serve.
  void DeliverNext(StoredInvalidation stored, bool recovered,
                   std::vector<AppDelivery>* out);
  void NoteProgress(absl::Time now);

  std::string origin_id_;
  uint64_t origin_instance_;
  StreamOptions options_;
  uint64_t contiguous_;
  uint64_t known_max_;
  // Received ahead of a gap, waiting for it to fill.
  std::map<uint64_t, std::pair<StoredInvalidation, bool>> pending_;
  absl::flat_hash_map<std::string, uint64_t> relay_progress_;
  RetransmitRing ring_;
  absl::Time gap_since_ = absl::InfiniteFuture();
  absl::Time last_nack_ = absl::InfinitePast();
  int nack_attempts_ = 0;
  int hopeless_nacks_ = 0;
  absl::Time unserved_since_ = absl::InfiniteFuture();
  absl::Time last_activity_;
  uint64_t origin_announced_ = 0;
  absl::Time ahead_of_origin_since_ = absl::InfiniteFuture();
};

// A stream: its origin's id and instance.
using StreamId = std::pair<std::string, uint64_t>;

// Checks what may be published into a stream; the error names the
// invalidation by its `index` in the caller's list.
absl::Status ValidateInvalidation(const v1::Invalidation& invalidation,
                                  size_t index);
absl::Status ValidateInvalidations(
    absl::Span<const v1::Invalidation> invalidations);

// What an app may publish through the HTTP API or the app channel: the
// above, and no CHANNEL_MESSAGE (those come from the Redis protocol only).
absl::Status ValidateAppInvalidation(const v1::Invalidation& invalidation,
                                     size_t index);

}  // namespace cachemesh

#endif  // CACHEMESH_CORE_STREAMS_H_
