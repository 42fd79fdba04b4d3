// One cluster member's protocol, as a deterministic state machine.
//
// A Node is driven by four inputs (an envelope from a peer, an endpoint
// announced through the transport, a timer tick, invalidations published by
// the local app) and answers with Outputs (envelopes to broadcast, endpoints
// to connect to or drop, events for the local app, membership changes).
// It opens no sockets, starts no threads and never reads the clock: every
// call takes `now`, and all randomness comes from `NodeOptions::random_seed`.
// The daemon and the cluster simulator drive this same code.
//
// Not thread-safe: one driver thread owns a Node.
#ifndef CACHEMESH_CORE_NODE_H_
#define CACHEMESH_CORE_NODE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "config/defaults.h"
#include "core/failure_detector.h"
#include "core/membership.h"
#include "core/streams.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

struct NodeOptions {
  // Envelopes whose cluster differs are dropped.
  std::string cluster = std::string(defaults::kClusterName);
  // This node's identity.
  std::string id;
  std::string endpoint;
  // Strictly increasing across restarts of this node (see NodeIdentity).
  uint64_t instance_id = 1;
  // Endpoints to connect to at start, whatever membership says.
  std::vector<std::string> seeds;

  absl::Duration heartbeat_interval = defaults::kHeartbeatInterval;
  FailureDetectorOptions failure_detector;
  SuspicionOptions suspicion;
  // DEAD and LEFT members (and their streams) are forgotten after this.
  absl::Duration reap_after = defaults::kReapAfter;
  // The whole member table rides on a heartbeat at least this often.
  absl::Duration full_digest_interval = absl::Seconds(5);
  StreamOptions streams;
  // A stream first seen within this time after start begins at the origin's
  // current sequence (our app's cache is empty); later ones from seq 1.
  absl::Duration join_window = absl::Seconds(2);
  // Startup counts as synced after this, even if seeds never answered.
  absl::Duration startup_sync_timeout = defaults::kStartupSyncTimeout;
  uint64_t random_seed = 1;
};

// Checks what a Node needs of its options; the error starts with the option
// it names ("SuspicionOptions.max must be at least ...").
absl::Status ValidateNodeOptions(const NodeOptions& options);

// What a Node asks its driver to do. TakeOutputs() empties it.
struct Outputs {
  // Shared and immutable: a driver may hand one envelope to many nodes.
  std::vector<std::shared_ptr<const v1::Envelope>> broadcasts;
  std::vector<std::string> connect;
  std::vector<std::string> disconnect;
  std::vector<AppDelivery> deliveries;
  std::vector<MembershipChange> membership_changes;
};

struct NodeStats {
  uint64_t invalidations_published = 0;
  uint64_t nacks_sent = 0;
  uint64_t retransmissions_sent = 0;
  uint64_t gones_sent = 0;
  uint64_t late_ticks = 0;
  // The largest lateness of a tick seen, as the self-awareness input.
  absl::Duration max_tick_lateness;
  // Lifeguard's local health multiplier, 0 when healthy.
  int local_health = 0;
};

class Node {
 public:
  Node(NodeOptions options, absl::Time now);

  // Connects to the seeds and announces this node. Call once, first.
  void Start(absl::Time now);
  // A message from the mesh (including retransmissions of others). The node
  // keeps a share of a batch's envelope while it holds its invalidations.
  void OnEnvelope(std::shared_ptr<const v1::Envelope> envelope, absl::Time now);
  // The transport saw a peer subscribe to us from `endpoint`.
  void OnAnnouncedEndpoint(const std::string& endpoint, absl::Time now);
  // Timers: heartbeats, batch flushes, failure detection, recovery, reaping.
  // Call at or soon after NextDeadline().
  void OnTick(absl::Time now);
  // Invalidations from the local app; batched and broadcast.
  absl::Status Publish(std::vector<v1::Invalidation> invalidations,
                       absl::Time now);
  // Graceful goodbye: flushes the pending batch and broadcasts LEAVE.
  void Leave(absl::Time now);
  // Replaces the configured seeds (SIGHUP).
  void SetSeeds(std::vector<std::string> seeds, absl::Time now);

  // When OnTick must run next.
  absl::Time NextDeadline() const;
  Outputs TakeOutputs();

  // Every member, this node first, as this node sees them.
  std::vector<v1::MemberView> Members(absl::Time now) const;
  // True once startup has synced with the reachable seeds, or timed out.
  bool Synced(absl::Time now) const;
  // Why this node's cache cannot be trusted right now; empty if it can.
  std::vector<std::string> UntrustedReasons(absl::Time now) const;
  const NodeStats& stats() const { return stats_; }
  const std::string& id() const { return options_.id; }
  const NodeOptions& options() const { return options_; }
  bool has_left() const { return left_; }

 private:
  v1::Envelope NewEnvelope() const;
  void Broadcast(v1::Envelope envelope);
  void SendHeartbeat(absl::Time now);
  void FlushBatch(absl::Time now);
  void HandleHeartbeat(const v1::Envelope& envelope, absl::Time now);
  void HandleBatch(const std::shared_ptr<const v1::Envelope>& shared,
                   absl::Time now);
  void HandleLeave(const v1::Envelope& envelope, absl::Time now);
  void HandleLossReport(const v1::Envelope& envelope, absl::Time now);
  void HandleGone(const v1::Envelope& envelope, absl::Time now);
  void ApplyDigest(const std::string& sender_id, const v1::MemberDigest& digest,
                   absl::Time now);
  void Refute(uint64_t seen_incarnation, absl::Time now);
  void ObserveTickLateness(absl::Time now);
  void RunRecovery(absl::Time now);
  void ApplyMembershipEffects(absl::Time now);
  // The stream of an origin instance, created on first sight; `current_seq`
  // is where the sighting says the origin is.
  IncomingStream& StreamFor(const std::string& origin_id,
                            uint64_t origin_instance, uint64_t current_seq,
                            absl::Time now);
  // Whom to name in the NACK for `stream`'s gap from `from_seq`; empty if
  // nobody can be asked. `origin_may_serve` is OriginMayServe()'s answer.
  std::string ChooseResponder(const IncomingStream& stream, uint64_t from_seq,
                              bool origin_may_serve, absl::Time now) const;
  void AnswerNack(const v1::Nack& nack, const std::string& requester,
                  absl::Time now);
  void ReapStreams(absl::Time now);
  void MarkProgressUrgent(const std::string& origin_id);
  // Whether the origin itself can serve `stream`: it is ALIVE in that
  // instance. Otherwise relays must say how far they have it.
  bool OriginServes(const IncomingStream& stream) const;
  // Whether the origin may still answer a NACK for `stream` from `from_seq`:
  // it is ALIVE or SUSPECT in that instance (silence is not death), and by
  // what it announced its ring (as large as ours) can still hold `from_seq`.
  // Such a gap is asked for until it is answered, never given up on.
  bool OriginMayServe(const IncomingStream& stream, uint64_t from_seq) const;

  NodeOptions options_;
  absl::Time started_at_;
  uint64_t incarnation_ = 1;
  bool left_ = false;
  bool full_digest_due_ = true;
  bool received_full_digest_ = false;
  int good_ticks_ = 0;
  absl::Time next_heartbeat_;
  absl::Time next_full_digest_;
  absl::Time next_check_;
  absl::Time next_reap_;
  absl::Time expected_tick_;
  MemberTable members_;
  OutgoingStream outgoing_;
  // Ordered, so that every run with the same inputs does the same.
  absl::btree_map<StreamId, std::unique_ptr<IncomingStream>> streams_;
  // Streams whose progress the next heartbeat must carry: their origin just
  // stopped being ALIVE, so others may need us as a relay.
  absl::flat_hash_set<StreamId> progress_urgent_;
  Outputs outputs_;
  NodeStats stats_;
  uint64_t random_state_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_CORE_NODE_H_
