#include "core/streams.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {

absl::Status ValidateInvalidation(const v1::Invalidation& invalidation,
                                  size_t index) {
  if (invalidation.op() == v1::Invalidation::OP_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalidations[%d].op is missing", index));
  }
  const bool needs_region =
      invalidation.op() != v1::Invalidation::CLEAR_ALL &&
      invalidation.op() != v1::Invalidation::CHANNEL_MESSAGE;
  if (needs_region && invalidation.region().empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalidations[%d].region is empty", index));
  }
  return absl::OkStatus();
}

absl::Status ValidateAppInvalidation(const v1::Invalidation& invalidation,
                                     size_t index) {
  if (invalidation.op() == v1::Invalidation::CHANNEL_MESSAGE) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalidations[%d].op CHANNEL_MESSAGE is for the Redis protocol only",
        index));
  }
  return ValidateInvalidation(invalidation, index);
}

absl::Status ValidateInvalidations(
    absl::Span<const v1::Invalidation> invalidations) {
  for (size_t i = 0; i < invalidations.size(); ++i) {
    if (absl::Status valid = ValidateInvalidation(invalidations[i], i);
        !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

v1::AppEvent AppDelivery::ToAppEvent(uint64_t event_id) const {
  v1::AppEvent event;
  event.set_kind(kind);
  event.set_origin_id(origin_id);
  event.set_seq(seq);
  event.set_reason(reason);
  event.set_event_id(event_id);
  if (invalidation != nullptr) *event.mutable_invalidation() = *invalidation;
  return event;
}

void RetransmitRing::Push(StoredInvalidation entry) {
  if (capacity_ == 0) return;
  if (entries_.size() == capacity_) entries_.pop_front();
  entries_.push_back(std::move(entry));
}

std::vector<const StoredInvalidation*> RetransmitRing::Range(
    uint64_t from, uint64_t to) const {
  std::vector<const StoredInvalidation*> found;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), from,
                             [](const StoredInvalidation& entry, uint64_t seq) {
                               return entry.seq < seq;
                             });
  for (; it != entries_.end() && it->seq <= to; ++it) found.push_back(&*it);
  return found;
}

void OutgoingStream::Publish(std::vector<v1::Invalidation> invalidations,
                             absl::Time now) {
  if (pending_.empty()) {
    pending_since_ = now;
    pending_ = std::move(invalidations);
    return;
  }
  pending_.insert(pending_.end(),
                  std::make_move_iterator(invalidations.begin()),
                  std::make_move_iterator(invalidations.end()));
}

absl::Time OutgoingStream::FlushDeadline() const {
  if (pending_.empty()) return absl::InfiniteFuture();
  return Full() ? pending_since_ : pending_since_ + options_.batch_max_delay;
}

std::vector<std::shared_ptr<const v1::Envelope>> OutgoingStream::TakeBatches(
    const v1::Envelope& header, absl::Time now) {
  std::vector<std::shared_ptr<const v1::Envelope>> envelopes;
  for (size_t first = 0; first < pending_.size();
       first += options_.batch_max_size) {
    const size_t end =
        std::min(pending_.size(), first + options_.batch_max_size);
    auto envelope = std::make_shared<v1::Envelope>(header);
    v1::InvalidationBatch& batch = *envelope->mutable_batch();
    batch.set_first_seq(published_seq_ + 1);
    batch.set_published_unix_micros(absl::ToUnixMicros(now));
    batch.mutable_invalidations()->Reserve(static_cast<int>(end - first));
    for (size_t i = first; i < end; ++i) {
      *batch.add_invalidations() = std::move(pending_[i]);
    }
    for (int i = 0; i < batch.invalidations_size(); ++i) {
      ring_.Push({++published_seq_,
                  std::shared_ptr<const v1::Invalidation>(
                      envelope, &batch.invalidations(i)),
                  now});
    }
    envelopes.push_back(std::move(envelope));
  }
  pending_.clear();
  return envelopes;
}

namespace {

// Invalidation `i` of `batch`, for as long as it is held. Normally a share of
// the whole batch pointing at it; copied from a retransmission, where one
// missing invalidation may come with hundreds already held, which would keep
// the whole batch alive for it.
std::shared_ptr<const v1::Invalidation> Keep(
    const std::shared_ptr<const v1::InvalidationBatch>& batch, int i,
    bool recovered) {
  if (recovered) {
    return std::make_shared<const v1::Invalidation>(batch->invalidations(i));
  }
  return std::shared_ptr<const v1::Invalidation>(batch,
                                                 &batch->invalidations(i));
}

}  // namespace

IncomingStream::IncomingStream(std::string origin_id, uint64_t origin_instance,
                               uint64_t start_after,
                               const StreamOptions& options, absl::Time now)
    : origin_id_(std::move(origin_id)),
      origin_instance_(origin_instance),
      options_(options),
      contiguous_(start_after),
      known_max_(start_after),
      ring_(options.recovery_buffer),
      last_activity_(now) {}

void IncomingStream::OnBatch(std::shared_ptr<const v1::InvalidationBatch> batch,
                             bool recovered, absl::Time now,
                             std::vector<AppDelivery>* out) {
  last_activity_ = now;
  const absl::Time published_at =
      absl::FromUnixMicros(batch->published_unix_micros());
  const int size = batch->invalidations_size();
  out->reserve(out->size() + size);
  for (int i = 0; i < size; ++i) {
    const uint64_t seq = batch->first_seq() + i;
    if (seq <= contiguous_ || pending_.count(seq) > 0) continue;
    StoredInvalidation stored{seq, Keep(batch, i, recovered), published_at};
    if (seq == contiguous_ + 1 && pending_.empty()) {  // The usual case.
      DeliverNext(std::move(stored), recovered, out);
    } else {
      pending_.emplace(seq, std::make_pair(std::move(stored), recovered));
    }
  }
  if (size > 0) {
    known_max_ = std::max(known_max_, batch->first_seq() + size - 1);
  }
  DeliverReady(out);
  NoteProgress(now);
}

void IncomingStream::OnKnownSeq(uint64_t seq, absl::Time now) {
  if (seq <= known_max_) return;
  known_max_ = seq;
  NoteProgress(now);
}

void IncomingStream::OnOriginAnnounced(uint64_t seq, absl::Time now) {
  origin_announced_ = std::max(origin_announced_, seq);
  OnKnownSeq(seq, now);
  NoteProgress(now);
}

void IncomingStream::OnRelayProgress(const std::string& relay,
                                     uint64_t contiguous, absl::Time now) {
  uint64_t& progress = relay_progress_[relay];
  progress = std::max(progress, contiguous);
  OnKnownSeq(contiguous, now);
}

void IncomingStream::FlushThrough(uint64_t to, const std::string& reason,
                                  absl::Time now,
                                  std::vector<AppDelivery>* out) {
  if (to <= contiguous_) return;
  AppDelivery flush;
  flush.kind = v1::AppEvent::FLUSH;
  flush.origin_id = origin_id_;
  flush.reason = reason;
  flush.origin_instance = origin_instance_;
  flush.flushed_from = contiguous_ + 1;
  flush.flushed_to = to;
  out->push_back(std::move(flush));
  contiguous_ = to;
  known_max_ = std::max(known_max_, to);
  pending_.erase(pending_.begin(), pending_.upper_bound(to));
  DeliverReady(out);
  nack_attempts_ = 0;
  hopeless_nacks_ = 0;
  NoteProgress(now);
}

void IncomingStream::DeliverReady(std::vector<AppDelivery>* out) {
  while (!pending_.empty() && pending_.begin()->first == contiguous_ + 1) {
    auto node = pending_.extract(pending_.begin());
    DeliverNext(std::move(node.mapped().first), node.mapped().second, out);
  }
}

void IncomingStream::DeliverNext(StoredInvalidation stored, bool recovered,
                                 std::vector<AppDelivery>* out) {
  AppDelivery delivery;
  delivery.kind = v1::AppEvent::INVALIDATION;
  delivery.origin_id = origin_id_;
  delivery.seq = stored.seq;
  delivery.invalidation = stored.invalidation;
  delivery.origin_instance = origin_instance_;
  delivery.published_at = stored.published_at;
  delivery.recovered = recovered;
  out->push_back(std::move(delivery));
  contiguous_ = stored.seq;
  nack_attempts_ = 0;
  hopeless_nacks_ = 0;
  ring_.Push(std::move(stored));
}

void IncomingStream::NoteProgress(absl::Time now) {
  if (contiguous_ <= origin_announced_) {
    ahead_of_origin_since_ = absl::InfiniteFuture();
  } else if (ahead_of_origin_since_ == absl::InfiniteFuture()) {
    ahead_of_origin_since_ = now;
  }
  if (!HasGap()) {
    gap_since_ = absl::InfiniteFuture();
    unserved_since_ = absl::InfiniteFuture();
    nack_attempts_ = 0;
    hopeless_nacks_ = 0;
  } else if (gap_since_ == absl::InfiniteFuture()) {
    gap_since_ = now;
  }
}

uint64_t IncomingStream::GapEnd() const {
  return pending_.empty() ? known_max_ : pending_.begin()->first - 1;
}

std::pair<uint64_t, uint64_t> IncomingStream::MissingRange() const {
  const uint64_t first = contiguous_ + 1;
  const uint64_t last = GapEnd();
  if (last - first >= options_.max_nack_range) {
    return {first, first + options_.max_nack_range - 1};
  }
  return {first, last};
}

void IncomingStream::NoteNack(bool origin_may_serve, absl::Time now) {
  last_nack_ = now;
  unserved_since_ = absl::InfiniteFuture();
  // Saturates: a gap may wait on a live origin for as long as it lives.
  if (nack_attempts_ < std::numeric_limits<int>::max()) ++nack_attempts_;
  if (!origin_may_serve) ++hopeless_nacks_;
}

void IncomingStream::NoteUnserved(absl::Time now) {
  unserved_since_ = std::min(unserved_since_, now);
}

}  // namespace cachemesh
