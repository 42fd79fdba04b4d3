#include "core/node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {
namespace {

// splitmix64: a tiny, seedable generator; quality is ample for jitter.
uint64_t NextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Lifeguard's local health multiplier is capped here.
constexpr int kMaxLocalHealth = 8;
// Good ticks needed to lower the multiplier by one.
constexpr int kGoodTicksPerRecovery = 20;
// Sequence numbers stay far below this, so arithmetic on them cannot wrap.
constexpr uint64_t kMaxSeq = uint64_t{1} << 62;
// Unanswered NACKs to an origin before a relay is asked instead.
constexpr int kNackAttemptsBeforeRelay = 3;
// A gap open this many NACK intervals past the NACK delay makes the cache
// untrusted: ordinary loss is recovered well within it.
constexpr int kNackIntervalsBeforeUntrusted = 3;

}  // namespace

Node::Node(NodeOptions options, absl::Time now)
    : options_(std::move(options)),
      started_at_(now),
      members_(options_.id, options_.heartbeat_interval,
               options_.failure_detector, options_.suspicion),
      outgoing_(options_.streams),
      random_state_(options_.random_seed) {
  // Spread heartbeats of nodes started together over the interval.
  const double phase =
      static_cast<double>(NextRandom(random_state_) % 1000) / 1000.0;
  next_heartbeat_ = now + options_.heartbeat_interval * phase;
  next_full_digest_ = now;
  next_check_ = now + options_.heartbeat_interval / 2;
  expected_tick_ = std::min(next_heartbeat_, next_check_);
}

void Node::Start(absl::Time now) {
  for (const std::string& seed : options_.seeds) {
    if (seed != options_.endpoint) outputs_.connect.push_back(seed);
  }
  SendHeartbeat(now);
}

v1::Envelope Node::NewEnvelope() const {
  v1::Envelope envelope;
  envelope.set_cluster(options_.cluster);
  v1::NodeIdentity* sender = envelope.mutable_sender();
  sender->set_id(options_.id);
  sender->set_endpoint(options_.endpoint);
  sender->set_incarnation(incarnation_);
  sender->set_instance_id(options_.instance_id);
  return envelope;
}

void Node::Broadcast(v1::Envelope envelope) {
  outputs_.broadcasts.push_back(
      std::make_shared<const v1::Envelope>(std::move(envelope)));
}

// ---------------------------------------------------------------------------
// Inputs.
// ---------------------------------------------------------------------------

void Node::OnEnvelope(std::shared_ptr<const v1::Envelope> shared,
                      absl::Time now) {
  const v1::Envelope& envelope = *shared;
  if (left_ || envelope.cluster() != options_.cluster) return;
  const v1::NodeIdentity& sender = envelope.sender();
  if (sender.id() == options_.id || sender.id().empty()) return;
  if (!members_.OnDirect(sender, envelope.has_heartbeat(), now)) {
    return;  // From a process that has been replaced.
  }
  switch (envelope.body_case()) {
    case v1::Envelope::kHeartbeat:
      HandleHeartbeat(envelope, now);
      break;
    case v1::Envelope::kBatch:
      HandleBatch(shared, now);
      break;
    case v1::Envelope::kLeave:
      HandleLeave(envelope, now);
      break;
    case v1::Envelope::kLossReport:
      HandleLossReport(envelope, now);
      break;
    case v1::Envelope::kGone:
      HandleGone(envelope, now);
      break;
    default:
      break;
  }
  ApplyMembershipEffects(now);
}

void Node::OnAnnouncedEndpoint(const std::string& endpoint, absl::Time now) {
  if (left_ || endpoint == options_.endpoint) return;
  // Subscribe back: a joiner the seed does not know yet becomes audible.
  outputs_.connect.push_back(endpoint);
  full_digest_due_ = true;
}

absl::Status Node::Publish(std::vector<v1::Invalidation> invalidations,
                           absl::Time now) {
  if (left_) return absl::FailedPreconditionError("this node has left");
  if (absl::Status valid = ValidateInvalidations(invalidations); !valid.ok()) {
    return valid;
  }
  stats_.invalidations_published += invalidations.size();
  outgoing_.Publish(std::move(invalidations), now);
  if (outgoing_.Full()) FlushBatch(now);
  return absl::OkStatus();
}

void Node::Leave(absl::Time now) {
  if (left_) return;
  FlushBatch(now);
  v1::Envelope envelope = NewEnvelope();
  envelope.mutable_leave()->set_published_seq(outgoing_.published_seq());
  // Twice: a lost LEAVE would make peers wait for the failure detector.
  Broadcast(envelope);
  Broadcast(std::move(envelope));
  left_ = true;
}

void Node::SetSeeds(std::vector<std::string> seeds, absl::Time now) {
  for (const std::string& old_seed : options_.seeds) {
    if (std::find(seeds.begin(), seeds.end(), old_seed) != seeds.end()) {
      continue;
    }
    bool is_member = false;
    for (const auto& [id, member] : members_.members()) {
      is_member |= member.endpoint == old_seed;
    }
    if (!is_member) outputs_.disconnect.push_back(old_seed);
  }
  options_.seeds = std::move(seeds);
  for (const std::string& seed : options_.seeds) {
    if (seed != options_.endpoint) outputs_.connect.push_back(seed);
  }
}

// ---------------------------------------------------------------------------
// Timers.
// ---------------------------------------------------------------------------

void Node::OnTick(absl::Time now) {
  if (left_) return;
  ObserveTickLateness(now);
  if (now >= outgoing_.FlushDeadline()) FlushBatch(now);
  if (now >= next_heartbeat_) {
    SendHeartbeat(now);
    next_heartbeat_ += options_.heartbeat_interval;
    if (next_heartbeat_ <= now) {
      next_heartbeat_ = now + options_.heartbeat_interval;
    }
  }
  if (now >= next_check_) {
    members_.Check(now, 1.0 + stats_.local_health);
    if (now >= next_reap_) {
      members_.Reap(now, options_.reap_after);
      ReapStreams(now);
      next_reap_ = now + options_.full_digest_interval;
    }
    ApplyMembershipEffects(now);
    RunRecovery(now);
    next_check_ = now + options_.heartbeat_interval / 2;
  }
  expected_tick_ = NextDeadline();
}

absl::Time Node::NextDeadline() const {
  return std::min({next_heartbeat_, next_check_, outgoing_.FlushDeadline()});
}

void Node::ObserveTickLateness(absl::Time now) {
  const absl::Duration lateness = now - expected_tick_;
  stats_.max_tick_lateness = std::max(stats_.max_tick_lateness, lateness);
  if (lateness > options_.heartbeat_interval) {
    // We were paused or starved: the silence is ours, not our peers'.
    ++stats_.late_ticks;
    stats_.local_health = std::min(stats_.local_health + 1, kMaxLocalHealth);
    good_ticks_ = 0;
    members_.ForgiveSilence(now);
  } else if (stats_.local_health > 0 &&
             ++good_ticks_ >= kGoodTicksPerRecovery) {
    --stats_.local_health;
    good_ticks_ = 0;
  }
}

Outputs Node::TakeOutputs() { return std::exchange(outputs_, {}); }

// ---------------------------------------------------------------------------
// Heartbeats and membership.
// ---------------------------------------------------------------------------

void Node::SendHeartbeat(absl::Time now) {
  v1::Envelope envelope = NewEnvelope();
  v1::Heartbeat* heartbeat = envelope.mutable_heartbeat();
  heartbeat->set_published_seq(outgoing_.published_seq());
  const bool full = full_digest_due_ || now >= next_full_digest_;
  if (full) {
    heartbeat->set_full_digest(true);
    members_.AppendAll(heartbeat);
    full_digest_due_ = false;
    next_full_digest_ = now + options_.full_digest_interval;
  } else {
    members_.AppendUpdates(heartbeat);
  }
  // Progress matters to others only when an origin cannot serve its own
  // stream: then it rides on every full digest, and on the next heartbeat
  // after the origin stopped being ALIVE (see ApplyMembershipEffects). It
  // also goes out when we hold invalidations the origin has not announced in
  // two heartbeats: the origin may have died with us the only holder.
  const absl::Time unannounced_before = now - 2 * options_.heartbeat_interval;
  for (const auto& [key, stream] : streams_) {
    const bool wanted = progress_urgent_.contains(key) ||
                        (full && !OriginServes(*stream)) ||
                        stream->ahead_of_origin_since() <= unannounced_before;
    if (!wanted) continue;
    v1::StreamProgress* progress = heartbeat->add_progress();
    progress->set_origin_id(stream->origin_id());
    progress->set_origin_instance(stream->origin_instance());
    progress->set_contiguous_seq(stream->contiguous());
  }
  progress_urgent_.clear();
  Broadcast(std::move(envelope));
}

void Node::HandleHeartbeat(const v1::Envelope& envelope, absl::Time now) {
  const v1::Heartbeat& heartbeat = envelope.heartbeat();
  const v1::NodeIdentity& sender = envelope.sender();
  if (heartbeat.full_digest()) received_full_digest_ = true;
  StreamFor(sender.id(), sender.instance_id(), heartbeat.published_seq(), now)
      .OnOriginAnnounced(heartbeat.published_seq(), now);
  for (const v1::MemberDigest& digest : heartbeat.members()) {
    ApplyDigest(sender.id(), digest, now);
  }
  for (const v1::StreamProgress& progress : heartbeat.progress()) {
    if (progress.origin_id() == options_.id) continue;
    const Member* member = members_.Find(progress.origin_id());
    if (member != nullptr && progress.origin_instance() < member->instance_id &&
        streams_.count({progress.origin_id(), progress.origin_instance()}) ==
            0) {
      continue;  // News of a stream that ended before we knew its origin.
    }
    StreamFor(progress.origin_id(), progress.origin_instance(),
              progress.contiguous_seq(), now)
        .OnRelayProgress(sender.id(), progress.contiguous_seq(), now);
  }
}

void Node::ApplyDigest(const std::string& sender_id,
                       const v1::MemberDigest& digest, absl::Time now) {
  if (digest.id() != options_.id) {
    members_.OnDigest(sender_id, digest, now);
    return;
  }
  // Gossip about ourselves: refute anything but ALIVE about this instance.
  if (digest.instance_id() == options_.instance_id &&
      digest.state() != v1::ALIVE && digest.incarnation() >= incarnation_) {
    Refute(digest.incarnation(), now);
  }
}

void Node::Refute(uint64_t seen_incarnation, absl::Time now) {
  incarnation_ = std::max(incarnation_, seen_incarnation) + 1;
  // Our identity carries the new incarnation; send it at once.
  SendHeartbeat(now);
}

void Node::HandleLeave(const v1::Envelope& envelope, absl::Time now) {
  members_.OnLeave(envelope.sender(), now);
  const uint64_t published = envelope.leave().published_seq();
  StreamFor(envelope.sender().id(), envelope.sender().instance_id(), published,
            now)
      .OnOriginAnnounced(published, now);
}

void Node::ApplyMembershipEffects(absl::Time now) {
  for (MembershipChange& change : members_.TakeChanges()) {
    if (change.from == v1::MEMBER_STATE_UNSPECIFIED) {
      outputs_.connect.push_back(change.endpoint);
      full_digest_due_ = true;  // Teach the newcomer the whole table.
    } else if (change.to == v1::MEMBER_STATE_UNSPECIFIED &&
               std::find(options_.seeds.begin(), options_.seeds.end(),
                         change.endpoint) == options_.seeds.end()) {
      outputs_.disconnect.push_back(change.endpoint);
    } else if (change.to == v1::ALIVE && IsGone(change.from)) {
      outputs_.connect.push_back(change.endpoint);
    }
    if (!change.previous_endpoint.empty()) {  // Restarted elsewhere.
      outputs_.disconnect.push_back(change.previous_endpoint);
      outputs_.connect.push_back(change.endpoint);
    }
    if (change.to != v1::ALIVE) MarkProgressUrgent(change.id);
    outputs_.membership_changes.push_back(std::move(change));
  }
}

// ---------------------------------------------------------------------------
// Invalidation streams.
// ---------------------------------------------------------------------------

bool Node::OriginServes(const IncomingStream& stream) const {
  const Member* origin = members_.Find(stream.origin_id());
  return origin != nullptr && origin->state == v1::ALIVE &&
         origin->instance_id == stream.origin_instance();
}

bool Node::OriginMayServe(const IncomingStream& stream,
                          uint64_t from_seq) const {
  const Member* origin = members_.Find(stream.origin_id());
  if (origin == nullptr || origin->instance_id != stream.origin_instance() ||
      (origin->state != v1::ALIVE && origin->state != v1::SUSPECT)) {
    return false;
  }
  // The ring holds the last recovery_buffer of what the origin published.
  const uint64_t ring = static_cast<uint64_t>(options_.streams.recovery_buffer);
  return stream.origin_announced() < from_seq + ring;
}

void Node::MarkProgressUrgent(const std::string& origin_id) {
  for (const auto& [key, stream] : streams_) {
    if (stream->origin_id() == origin_id) progress_urgent_.insert(key);
  }
}

void Node::FlushBatch(absl::Time now) {
  for (std::shared_ptr<const v1::Envelope>& envelope :
       outgoing_.TakeBatches(NewEnvelope(), now)) {
    outputs_.broadcasts.push_back(std::move(envelope));
  }
}

IncomingStream& Node::StreamFor(const std::string& origin_id,
                                uint64_t origin_instance, uint64_t current_seq,
                                absl::Time now) {
  StreamId key(origin_id, origin_instance);
  auto it = streams_.find(key);
  if (it != streams_.end()) return *it->second;
  // Within the join window our app's cache is empty: start at the origin's
  // current position. Later, a stream we have not seen is new (a restart or
  // a joiner), and all of it is owed to our app.
  const bool joining = now - started_at_ < options_.join_window;
  auto stream = std::make_unique<IncomingStream>(origin_id, origin_instance,
                                                 joining ? current_seq : 0,
                                                 options_.streams, now);
  return *streams_.emplace(std::move(key), std::move(stream)).first->second;
}

void Node::HandleBatch(const std::shared_ptr<const v1::Envelope>& shared,
                       absl::Time now) {
  const v1::Envelope& envelope = *shared;
  const v1::InvalidationBatch& batch = envelope.batch();
  const std::string& origin_id =
      batch.origin_id().empty() ? envelope.sender().id() : batch.origin_id();
  const uint64_t origin_instance = batch.origin_instance() == 0
                                       ? envelope.sender().instance_id()
                                       : batch.origin_instance();
  if (origin_id == options_.id || batch.invalidations_size() == 0 ||
      batch.first_seq() == 0 ||
      batch.first_seq() > kMaxSeq - batch.invalidations_size()) {
    return;  // Our own, empty, or numbered beyond any real stream.
  }
  IncomingStream& stream =
      StreamFor(origin_id, origin_instance,
                batch.first_seq() > 0 ? batch.first_seq() - 1 : 0, now);
  stream.OnBatch(std::shared_ptr<const v1::InvalidationBatch>(shared, &batch),
                 batch.retransmission(), now, &outputs_.deliveries);
}

std::string Node::ChooseResponder(const IncomingStream& stream,
                                  uint64_t from_seq, bool origin_may_serve,
                                  absl::Time now) const {
  const double scale = 1.0 + stats_.local_health;
  auto audible = [&](const Member& member) {
    return member.state == v1::ALIVE &&
           now - member.last_heard < member.detector.SuspectAfter(scale);
  };
  // The origin first; after kNackAttemptsBeforeRelay unanswered NACKs it may
  // not hear us (a one-way cut), so try the relays, taking turns with the
  // origin while it may still serve the gap.
  const Member* origin = members_.Find(stream.origin_id());
  const bool origin_audible = origin != nullptr &&
                              origin->instance_id == stream.origin_instance() &&
                              audible(*origin);
  if (origin_audible && stream.nack_attempts() < kNackAttemptsBeforeRelay) {
    return origin->id;
  }
  // The relay that holds the most of the stream, then the smallest id.
  std::string best;
  uint64_t best_progress = 0;
  for (const auto& [relay, progress] : stream.relay_progress()) {
    const Member* member = members_.Find(relay);
    if (progress < from_seq || member == nullptr || !audible(*member)) {
      continue;
    }
    if (progress > best_progress ||
        (progress == best_progress && relay < best)) {
      best = relay;
      best_progress = progress;
    }
  }
  const bool ask_origin = origin_audible || origin_may_serve;
  if (ask_origin &&
      (best.empty() || (origin_may_serve && stream.nack_attempts() % 2 == 0))) {
    return origin->id;
  }
  return best;
}

void Node::RunRecovery(absl::Time now) {
  v1::Envelope report = NewEnvelope();
  v1::LossReport* loss_report = report.mutable_loss_report();
  for (auto& [key, stream_ptr] : streams_) {
    IncomingStream& stream = *stream_ptr;
    if (!stream.HasGap()) continue;
    if (now - stream.gap_since() < options_.streams.nack_delay ||
        now - stream.last_nack() < options_.streams.nack_interval) {
      continue;
    }
    const auto [from, to] = stream.MissingRange();
    const bool origin_may_serve = OriginMayServe(stream, from);
    if (!origin_may_serve &&
        stream.hopeless_nacks() >= options_.streams.nack_attempts) {
      stream.FlushThrough(
          stream.GapEnd(),
          absl::StrFormat("no answer to %d loss reports for %s seq %d..%d",
                          stream.nack_attempts(), stream.origin_id(), from,
                          stream.GapEnd()),
          now, &outputs_.deliveries);
    } else if (std::string responder =
                   ChooseResponder(stream, from, origin_may_serve, now);
               !responder.empty()) {
      v1::Nack* nack = loss_report->add_nacks();
      nack->set_origin_id(stream.origin_id());
      nack->set_origin_instance(stream.origin_instance());
      nack->set_from_seq(from);
      nack->set_to_seq(to);
      nack->set_responder_id(responder);
      stream.NoteNack(origin_may_serve, now);
      ++stats_.nacks_sent;
    } else {
      stream.NoteUnserved(now);
      if (now - stream.unserved_since() >= options_.streams.orphan_grace) {
        stream.FlushThrough(
            stream.GapEnd(),
            absl::StrFormat("no live member holds %s seq %d..%d",
                            stream.origin_id(), from, stream.GapEnd()),
            now, &outputs_.deliveries);
      }
    }
  }
  if (loss_report->nacks_size() > 0) Broadcast(std::move(report));
}

void Node::HandleLossReport(const v1::Envelope& envelope, absl::Time now) {
  for (const v1::Nack& nack : envelope.loss_report().nacks()) {
    const bool well_formed = nack.from_seq() > 0 &&
                             nack.from_seq() <= nack.to_seq() &&
                             nack.to_seq() < kMaxSeq;
    if (well_formed && nack.responder_id() == options_.id) {
      AnswerNack(nack, envelope.sender().id(), now);
    }
  }
}

void Node::AnswerNack(const v1::Nack& nack, const std::string& requester,
                      absl::Time now) {
  const RetransmitRing* ring = nullptr;
  if (nack.origin_id() == options_.id &&
      nack.origin_instance() == options_.instance_id) {
    ring = &outgoing_.ring();
  } else if (auto it =
                 streams_.find({nack.origin_id(), nack.origin_instance()});
             it != streams_.end()) {
    ring = &it->second->ring();
  }
  uint64_t to = std::min(nack.to_seq(),
                         nack.from_seq() + options_.streams.max_nack_range - 1);
  if (ring == &outgoing_.ring()) {
    to = std::min(to, outgoing_.published_seq());
  }
  std::vector<const StoredInvalidation*> held;
  if (ring != nullptr) held = ring->Range(nack.from_seq(), to);

  // Resend consecutive runs. The origin reports what it no longer holds as
  // Gone; a relay stays silent about what it lacks (another relay, or the
  // origin, may still have it, and the requester gives up by itself).
  uint64_t next = nack.from_seq();
  v1::Envelope batch_envelope;
  v1::InvalidationBatch* batch = nullptr;
  const bool is_origin = ring == &outgoing_.ring();
  auto send_gone = [&](uint64_t gone_from, uint64_t gone_to) {
    if (!is_origin) return;
    v1::Envelope envelope = NewEnvelope();
    v1::Gone* gone = envelope.mutable_gone();
    gone->set_origin_id(nack.origin_id());
    gone->set_origin_instance(nack.origin_instance());
    gone->set_from_seq(gone_from);
    gone->set_to_seq(gone_to);
    gone->set_requester_id(requester);
    ++stats_.gones_sent;
    Broadcast(std::move(envelope));
  };
  auto finish_batch = [&]() {
    if (batch == nullptr) return;
    ++stats_.retransmissions_sent;
    Broadcast(std::move(batch_envelope));
    batch = nullptr;
  };
  for (const StoredInvalidation* entry : held) {
    if (entry->seq != next) {
      finish_batch();
      send_gone(next, entry->seq - 1);
    }
    if (batch == nullptr ||
        batch->invalidations_size() >= options_.streams.batch_max_size) {
      finish_batch();
      batch_envelope = NewEnvelope();
      batch = batch_envelope.mutable_batch();
      batch->set_origin_id(nack.origin_id());
      batch->set_origin_instance(nack.origin_instance());
      batch->set_first_seq(entry->seq);
      batch->set_published_unix_micros(absl::ToUnixMicros(entry->published_at));
      batch->set_retransmission(true);
    }
    *batch->add_invalidations() = *entry->invalidation;
    next = entry->seq + 1;
  }
  finish_batch();
  if (next <= to) send_gone(next, to);
}

void Node::HandleGone(const v1::Envelope& envelope, absl::Time now) {
  const v1::Gone& gone = envelope.gone();
  // Only an origin says Gone, and only about what it has published.
  if (envelope.sender().id() != gone.origin_id() ||
      envelope.sender().instance_id() != gone.origin_instance()) {
    return;
  }
  auto it = streams_.find({gone.origin_id(), gone.origin_instance()});
  if (it == streams_.end()) return;
  IncomingStream& stream = *it->second;
  if (stream.contiguous() >= gone.to_seq() ||
      gone.to_seq() > stream.known_max()) {
    return;
  }
  stream.FlushThrough(gone.to_seq(),
                      absl::StrFormat("%s no longer holds %s seq %d..%d",
                                      envelope.sender().id(), gone.origin_id(),
                                      gone.from_seq(), gone.to_seq()),
                      now, &outputs_.deliveries);
}

void Node::ReapStreams(absl::Time now) {
  for (auto it = streams_.begin(); it != streams_.end();) {
    const IncomingStream& stream = *it->second;
    const Member* origin = members_.Find(stream.origin_id());
    const bool ended = origin == nullptr || IsGone(origin->state) ||
                       origin->instance_id > stream.origin_instance();
    if (ended && !stream.HasGap() &&
        now - stream.last_activity() >= options_.reap_after) {
      progress_urgent_.erase(it->first);
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---------------------------------------------------------------------------
// Views.
// ---------------------------------------------------------------------------

std::vector<v1::MemberView> Node::Members(absl::Time now) const {
  std::vector<v1::MemberView> views;
  v1::MemberView& self = views.emplace_back();
  self.set_id(options_.id);
  self.set_endpoint(options_.endpoint);
  self.set_state(left_ ? v1::LEFT : v1::ALIVE);
  self.set_incarnation(incarnation_);
  self.set_instance_id(options_.instance_id);
  self.set_self(true);
  for (const auto& [id, member] : members_.members()) {
    v1::MemberView& view = views.emplace_back();
    view.set_id(id);
    view.set_endpoint(member.endpoint);
    view.set_state(member.state);
    view.set_incarnation(member.incarnation);
    view.set_instance_id(member.instance_id);
    view.set_last_heard_ms(
        member.last_heard == absl::InfinitePast()
            ? -1
            : absl::ToInt64Milliseconds(now - member.last_heard));
  }
  return views;
}

bool Node::Synced(absl::Time now) const {
  if (options_.seeds.empty()) return true;
  if (now - started_at_ >= options_.startup_sync_timeout) return true;
  if (!received_full_digest_) return false;
  for (const auto& [id, member] : members_.members()) {
    if (member.state == v1::ALIVE &&
        member.last_heard == absl::InfinitePast()) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> Node::UntrustedReasons(absl::Time now) const {
  std::vector<std::string> reasons;
  const double scale = 1.0 + stats_.local_health;
  for (const auto& [id, member] : members_.members()) {
    if (member.state != v1::ALIVE) continue;
    const absl::Time heard = std::max(member.last_heard, member.known_since);
    const absl::Duration silence = now - heard;
    if (silence > members_.UntrustedAfter(member, scale)) {
      reasons.push_back(absl::StrFormat(
          "member %s is ALIVE to others but not heard here for %d ms", id,
          absl::ToInt64Milliseconds(silence)));
    }
  }
  const StreamOptions& streams = options_.streams;
  const absl::Duration gap_patience =
      streams.nack_delay +
      kNackIntervalsBeforeUntrusted * streams.nack_interval;
  for (const auto& [key, stream] : streams_) {
    if (!stream->HasGap() || now - stream->gap_since() < gap_patience) {
      continue;
    }
    reasons.push_back(absl::StrFormat(
        "waiting for %s seq %d..%d for %d ms (%d loss reports)",
        stream->origin_id(), stream->contiguous() + 1, stream->GapEnd(),
        absl::ToInt64Milliseconds(now - stream->gap_since()),
        stream->nack_attempts()));
  }
  return reasons;
}

namespace {

absl::Status CheckAtLeast(absl::string_view option, absl::Duration value,
                          absl::Duration min) {
  if (value >= min) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(option, " must be at least ", absl::FormatDuration(min),
                   ", got ", absl::FormatDuration(value)));
}

absl::Status CheckAtLeast(absl::string_view option, int64_t value,
                          int64_t min) {
  if (value >= min) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(option, " must be at least ", min, ", got ", value));
}

}  // namespace

absl::Status ValidateNodeOptions(const NodeOptions& options) {
  const absl::Duration tick = absl::Milliseconds(1);
  const absl::Duration zero = absl::ZeroDuration();
  const FailureDetectorOptions& detector = options.failure_detector;
  const StreamOptions& streams = options.streams;
  for (absl::Status status : {
           CheckAtLeast("NodeOptions.heartbeat_interval",
                        options.heartbeat_interval, tick),
           detector.phi_threshold > 0
               ? absl::OkStatus()
               : absl::InvalidArgumentError(absl::StrCat(
                     "FailureDetectorOptions.phi_threshold must be above 0, "
                     "got ",
                     detector.phi_threshold)),
           CheckAtLeast("FailureDetectorOptions.acceptable_pause",
                        detector.acceptable_pause, zero),
           CheckAtLeast("FailureDetectorOptions.min_stddev",
                        detector.min_stddev, tick),
           CheckAtLeast("SuspicionOptions.min", options.suspicion.min, tick),
           CheckAtLeast("SuspicionOptions.max", options.suspicion.max,
                        options.suspicion.min),
           CheckAtLeast("NodeOptions.reap_after", options.reap_after, tick),
           CheckAtLeast("NodeOptions.startup_sync_timeout",
                        options.startup_sync_timeout, zero),
           CheckAtLeast("StreamOptions.batch_max_delay",
                        streams.batch_max_delay, zero),
           CheckAtLeast("StreamOptions.batch_max_size", streams.batch_max_size,
                        1),
           CheckAtLeast("StreamOptions.recovery_buffer",
                        streams.recovery_buffer, streams.batch_max_size),
       }) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace cachemesh
