// The event loop (see daemon.h): one thread waits on every socket and fd,
// handles what is ready, ticks the node through its driver and carries out
// the node's outputs as its NodeHost.
#include <algorithm>
#include <optional>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/arena.h"
#include "service/daemon.h"

namespace cachemesh {
namespace {

// The loop publishes a snapshot at least this often (/health/live).
constexpr absl::Duration kSnapshotInterval = absl::Milliseconds(50);
// After LEAVE, the loop keeps running this long so ZeroMQ can send it.
constexpr absl::Duration kGoodbyeGrace = absl::Milliseconds(100);

std::vector<v1::Invalidation> TakeInvalidations(v1::InvalidationList& list) {
  google::protobuf::RepeatedPtrField<v1::Invalidation>& all =
      *list.mutable_invalidations();
  return std::vector<v1::Invalidation>(std::make_move_iterator(all.begin()),
                                       std::make_move_iterator(all.end()));
}

// An empty envelope on an arena of its own, sized for `wire_size` bytes of
// input: the node keeps a share of a batch's envelope (its invalidations)
// rather than copies, and the whole envelope goes at once when the last
// share does.
std::shared_ptr<v1::Envelope> NewArenaEnvelope(size_t wire_size) {
  struct ArenaEnvelope {
    explicit ArenaEnvelope(const google::protobuf::ArenaOptions& options)
        : arena(options),
          envelope(
              google::protobuf::Arena::CreateMessage<v1::Envelope>(&arena)) {}
    google::protobuf::Arena arena;
    v1::Envelope* envelope;
  };
  google::protobuf::ArenaOptions options;
  // Parsed messages take about twice their wire size.
  options.start_block_size = std::max<size_t>(256, 2 * wire_size);
  options.max_block_size = std::max<size_t>(8192, 2 * wire_size);
  auto holder = std::make_shared<ArenaEnvelope>(options);
  return std::shared_ptr<v1::Envelope>(holder, holder->envelope);
}

// What an app may publish on the app channel (no Redis-protocol messages).
absl::Status ValidateAppList(const v1::InvalidationList& list) {
  for (int i = 0; i < list.invalidations_size(); ++i) {
    if (absl::Status valid = ValidateAppInvalidation(list.invalidations(i), i);
        !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

std::string DescribeChange(const MembershipChange& change) {
  auto name = [](v1::MemberState state) -> std::string {
    return state == v1::MEMBER_STATE_UNSPECIFIED ? "-"
                                                 : v1::MemberState_Name(state);
  };
  return absl::StrFormat("member %s (%s) %s -> %s, incarnation %d: %s",
                         change.id, change.endpoint, name(change.from),
                         name(change.to), change.incarnation, change.reason);
}

}  // namespace

void Daemon::RequestStop() { stop_->Notify(); }

void Daemon::RequestReload() { reload_->Notify(); }

absl::Status Daemon::Run() {
  net::Poller poller;
  poller.Add(mesh_.get());
  poller.Add(app_server_.get());
  poller.AddFd(commands_->wake_fd());
  poller.AddFd(stop_->fd());
  poller.AddFd(reload_->fd());
  if (redis_ != nullptr) poller.AddFd(redis_->fd());
  for (;;) {
    absl::Time deadline = driver_->node().NextDeadline();
    if (redis_ != nullptr) deadline = std::min(deadline, redis_->NextDeadline());
    const absl::Duration timeout = std::clamp(
        deadline - clock_.Now(), absl::ZeroDuration(), kSnapshotInterval);
    absl::StatusOr<net::Ready> ready = poller.Wait(timeout);
    if (!ready.ok()) return ready.status();
    // Only what is ready: every idle look costs system calls.
    auto fd_ready = [&ready](int fd) {
      return absl::c_linear_search(ready->fds, fd);
    };
    if (fd_ready(stop_->fd()) && stop_->Consume()) break;
    if (fd_ready(reload_->fd()) && reload_->Consume()) Reload();
    if (!ready->meshes.empty()) HandleMesh();
    if (!ready->app_servers.empty()) HandleApps();
    if (fd_ready(commands_->wake_fd())) HandleCommands();
    if (redis_ != nullptr) {
      if (fd_ready(redis_->fd())) redis_->HandleReady();
      if (clock_.Now() >= redis_->NextDeadline()) redis_->Tick();
    }
    Tick();
    driver_->CarryOutOutputs();
    if (redis_ != nullptr) redis_->FlushWrites();
    PublishSnapshot(clock_.Now());
  }
  SayGoodbye();
  return absl::OkStatus();
}

void Daemon::HandleMesh() {
  // After an error, what was read before it is still handled.
  if (absl::Status drained = mesh_->Drain(mesh_input_); !drained.ok()) {
    logger_.Error(absl::StrCat("mesh: ", drained.message()));
  }
  for (const std::string& endpoint : mesh_input_.announced_endpoints) {
    driver_->OnAnnouncedEndpoint(endpoint);
  }
  for (const std::string& payload : mesh_input_.payloads) {
    metrics_.mesh_bytes_received->Increment(payload.size());
    std::shared_ptr<v1::Envelope> parsed = NewArenaEnvelope(payload.size());
    if (!parsed->ParseFromString(payload)) {
      if (++malformed_envelopes_ % 1000 == 1) {
        logger_.Warning(absl::StrFormat("dropped %d malformed envelopes so far",
                                        malformed_envelopes_));
      }
      continue;
    }
    const v1::Envelope& envelope = *parsed;
    if (envelope.cluster() != config_.node.cluster) {
      if (++foreign_envelopes_ % 1000 == 1) {
        logger_.Warning(absl::StrFormat(
            "ignoring envelopes from %s of cluster \"%s\" (this is \"%s\"; "
            "%d so far): check cachemesh.cluster.name",
            envelope.sender().id(), envelope.cluster(), config_.node.cluster,
            foreign_envelopes_));
      }
      continue;
    }
    if (!testonly_deaf_to_.empty() &&
        envelope.sender().id() == testonly_deaf_to_) {
      continue;
    }
    driver_->OnEnvelope(std::move(parsed));
  }
}

void Daemon::HandleApps() {
  absl::StatusOr<std::vector<v1::InvalidationList>> lists =
      app_server_->Drain();
  if (!lists.ok()) {
    logger_.Error(absl::StrCat("app channel: ", lists.status().message()));
    return;
  }
  for (v1::InvalidationList& list : *lists) {
    const int count = list.invalidations_size();
    absl::Status published = ValidateAppList(list);
    if (published.ok()) published = driver_->Publish(TakeInvalidations(list));
    if (!published.ok()) {
      logger_.Warning(
          absl::StrCat("app channel: rejected a list: ", published.message()));
    } else {
      metrics_.invalidations_sent->Increment(count);
    }
  }
}

void Daemon::HandleCommands() {
  for (Command& command : commands_->Drain()) {
    if (auto* publish = std::get_if<PublishCommand>(&command)) {
      // The HTTP thread validated it, so Publish only fails after LEAVE.
      const int count = publish->list.invalidations_size();
      if (driver_->Publish(TakeInvalidations(publish->list)).ok()) {
        metrics_.invalidations_sent->Increment(count);
      }
    } else if (auto* drain = std::get_if<SetDrainingCommand>(&command)) {
      logger_.Info(drain->draining
                       ? "draining: /health now answers 503 DRAINING"
                       : "draining ended: /health reflects the node again");
    }
  }
}

void Daemon::Tick() {
  if (std::optional<absl::Duration> late = driver_->TickIfDue()) {
    metrics_.heartbeat_lateness->Observe(absl::ToDoubleSeconds(*late));
  }
}

// --- NodeHost: the node's outputs, in the driver's order. ---

void Daemon::Disconnect(const std::string& endpoint) {
  if (absl::Status status = mesh_->Disconnect(endpoint); !status.ok()) {
    logger_.Warning(absl::StrCat("mesh: ", status.message()));
  }
}

void Daemon::Connect(const std::string& endpoint) {
  if (absl::Status status = mesh_->Connect(endpoint); !status.ok()) {
    logger_.Warning(absl::StrCat("mesh: ", status.message()));
  }
}

void Daemon::Broadcast(std::shared_ptr<const v1::Envelope> envelope) {
  envelope->SerializeToString(&wire_);
  metrics_.mesh_bytes_sent->Increment(wire_.size());
  if (absl::Status sent = mesh_->Broadcast(wire_); !sent.ok()) {
    logger_.Error(absl::StrCat("mesh: ", sent.message()));
  }
}

void Daemon::MembershipChanged(const MembershipChange& change) {
  logger_.Info(DescribeChange(change));
  snapshot_due_ = true;
}

void Daemon::Deliver(std::vector<AppDelivery>& deliveries) {
  deliverer_->Deliver(deliveries, clock_.Now());
}

void Daemon::PublishSnapshot(absl::Time now) {
  if (!snapshot_due_ && now - last_snapshot_ < kSnapshotInterval) {
    return;
  }
  const Node& node = driver_->node();
  NodeSnapshot snapshot;
  snapshot.self_id = node.id();
  for (v1::MemberView& view : node.Members(now)) {
    *snapshot.members.add_members() = std::move(view);
  }
  snapshot.synced = node.Synced(now);
  snapshot.untrusted_reasons = node.UntrustedReasons(now);
  if (flush_ != nullptr) {
    const FlushAction::State flush = flush_->state();
    if (flush.pending) snapshot.untrusted_reasons.push_back(flush.reason);
  }
  RecordRedisAndFlushMetrics();
  snapshot.taken_at = now;
  metrics_.RecordMembers(snapshot.members);
  metrics_.nacks_sent->Increment(node.stats().nacks_sent - nacks_reported_);
  nacks_reported_ = node.stats().nacks_sent;
  snapshots_.Publish(std::move(snapshot));
  last_snapshot_ = now;
  snapshot_due_ = false;
}

void Daemon::RequestFlush(std::string reason, bool only_if_app_answers) {
  if (flush_ == nullptr) return;
  flush_->Request(std::move(reason), only_if_app_answers);
  snapshot_due_ = true;  // /health says so at once.
}

int64_t Daemon::PublishChannelMessage(const std::string& channel,
                                      const std::string& payload) {
  std::vector<v1::Invalidation> message(1);
  message[0].set_op(v1::Invalidation::CHANNEL_MESSAGE);
  message[0].set_channel(channel);
  message[0].set_payload(payload);
  if (driver_->Publish(std::move(message)).ok()) {
    metrics_.invalidations_sent->Increment();
  }
  return redis_->Deliver(channel, payload);
}

void Daemon::RecordRedisAndFlushMetrics() {
  if (redis_ != nullptr) {
    const RedisServerStats stats = redis_->stats();
    metrics_.redis_clients->Set(stats.clients);
    metrics_.redis_subscriptions->Set(stats.subscriptions);
    metrics_.redis_messages_in->SetTotal(stats.messages_in);
    metrics_.redis_messages_out->SetTotal(stats.messages_out);
  }
  if (flush_ != nullptr) {
    const FlushAction::State state = flush_->state();
    metrics_.flush_runs->SetTotal(state.runs);
    metrics_.flush_succeeded->SetTotal(state.succeeded);
    metrics_.flush_failed->SetTotal(state.failed);
  }
}

void Daemon::SayGoodbye() {
  // No more 202s: everything already accepted goes out before LEAVE.
  http_server_->Stop();
  HandleApps();
  HandleCommands();
  logger_.Info("stopping: saying goodbye to the cluster");
  driver_->Leave();
  driver_->CarryOutOutputs();
  if (redis_ != nullptr) redis_->FlushWrites();
  absl::Time now = clock_.Now();
  PublishSnapshot(now);
  // Let ZeroMQ's I/O thread put LEAVE on the wire; sockets close with
  // LINGER 0 afterwards, so nothing can hold the exit up.
  net::Poller poller;
  poller.AddFd(stop_->fd());
  const absl::Time until = now + kGoodbyeGrace;
  while ((now = clock_.Now()) < until) {
    if (!poller.Wait(until - now).ok()) break;
    stop_->Consume();
  }
  events_->Shutdown();
  if (prober_ != nullptr) prober_->Stop();
}

}  // namespace cachemesh
