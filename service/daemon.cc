#include "service/daemon.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "config/properties.h"
#include "config/reload.h"
#include "google/protobuf/arena.h"

namespace cachemesh {
namespace {

// The loop publishes a snapshot at least this often (/health/live).
constexpr absl::Duration kSnapshotInterval = absl::Milliseconds(50);
// After LEAVE, the loop keeps running this long so ZeroMQ can send it.
constexpr absl::Duration kGoodbyeGrace = absl::Milliseconds(100);
// Commands queued from HTTP, counted in invalidations.
constexpr size_t kCommandCapacity = 1 << 20;

absl::StatusOr<int> NewEventFd() {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  return fd;
}

// Reads an eventfd to zero; true if it had been written.
bool ConsumeEventFd(int fd) {
  uint64_t value = 0;
  return read(fd, &value, sizeof(value)) == sizeof(value);
}

void WriteEventFd(int fd) {
  const uint64_t one = 1;
  // Async-signal-safe; a full counter still wakes the loop.
  [[maybe_unused]] ssize_t written = write(fd, &one, sizeof(one));
}

std::string MeshBindEndpoint(const Config& config) {
  const bool ipv6 = config.bind_address.find(':') != std::string::npos;
  return absl::StrCat("tcp://", ipv6 ? "[" : "", config.bind_address,
                      ipv6 ? "]" : "", ":", config.self.port);
}

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

Daemon::Daemon(const Config& config, Logger& logger)
    : config_(config), logger_(logger) {}

Daemon::~Daemon() {
  if (http_server_ != nullptr) http_server_->Stop();
  if (events_ != nullptr) events_->Shutdown();
  if (prober_ != nullptr) prober_->Stop();
  if (stop_fd_ >= 0) close(stop_fd_);
  if (reload_fd_ >= 0) close(reload_fd_);
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(const Config& config,
                                                       Logger& logger) {
  std::unique_ptr<Daemon> daemon(new Daemon(config, logger));
  if (absl::Status status = daemon->Init(); !status.ok()) return status;
  return daemon;
}

NodeOptions Daemon::MakeNodeOptions(absl::Time now) const {
  NodeOptions options = config_.node;
  options.instance_id = static_cast<uint64_t>(absl::ToUnixMicros(now));
  options.random_seed = options.instance_id;
  return options;
}

absl::Status Daemon::Init() {
  const absl::Time now = absl::Now();
  absl::StatusOr<int> stop_fd = NewEventFd();
  if (!stop_fd.ok()) return stop_fd.status();
  stop_fd_ = *stop_fd;
  absl::StatusOr<int> reload_fd = NewEventFd();
  if (!reload_fd.ok()) return reload_fd.status();
  reload_fd_ = *reload_fd;

  absl::StatusOr<std::unique_ptr<net::Context>> context =
      net::Context::Create();
  if (!context.ok()) return context.status();
  context_ = std::move(*context);

  const NodeOptions node_options = MakeNodeOptions(now);
  if (absl::Status valid = ValidateNodeOptions(node_options); !valid.ok()) {
    return valid;
  }
  net::MeshOptions mesh_options = config_.mesh;
  if (config_.bind_address != "*" && config_.bind_address != "0.0.0.0" &&
      config_.bind_address != "::") {
    mesh_options.source_address = config_.bind_address;
  }
  absl::StatusOr<std::unique_ptr<net::Mesh>> mesh = net::Mesh::Create(
      *context_, MeshBindEndpoint(config_), config_.self.endpoint(),
      mesh_options);
  if (!mesh.ok()) return mesh.status();
  mesh_ = std::move(*mesh);

  absl::StatusOr<std::unique_ptr<net::AppServer>> app_server =
      net::AppServer::Create(*context_, config_.client_endpoint);
  if (!app_server.ok()) return app_server.status();
  app_server_ = std::move(*app_server);

  absl::StatusOr<std::unique_ptr<CommandQueue>> commands =
      CommandQueue::Create(kCommandCapacity);
  if (!commands.ok()) return commands.status();
  commands_ = std::move(*commands);

  // Event ids start at this process's start time in microseconds, so a
  // Last-Event-ID from an earlier process is never mistaken for ours.
  events_ = std::make_unique<EventLog>(
      config_.events_buffer, static_cast<uint64_t>(absl::ToUnixMicros(now)));

  absl::StatusOr<DaemonMetrics> metrics =
      DaemonMetrics::Register(registry_, RestartOnlyKeys());
  if (!metrics.ok()) return metrics.status();
  metrics_ = *metrics;

  if (!config_.app_health_url.empty()) {
    AppHealthOptions prober_options;
    prober_options.url = config_.app_health_url;
    prober_options.interval = config_.app_health_interval;
    prober_options.timeout = config_.app_health_timeout;
    absl::StatusOr<std::unique_ptr<AppHealthProber>> prober =
        AppHealthProber::Create(prober_options);
    if (!prober.ok()) return prober.status();
    prober_ = std::move(*prober);
    prober_->Start();
  }
  backend_ = std::make_unique<LoopBackend>(snapshots_, *commands_,
                                           prober_.get());

  node_ = std::make_unique<Node>(node_options, now);
  node_->Start(now);
  // Whatever an app cached before this daemon started was not kept
  // coherent by it: the first event is always a FLUSH.
  std::vector<AppDelivery> startup(1);
  startup[0].kind = v1::AppEvent::FLUSH;
  startup[0].origin_id = config_.node.id;
  startup[0].reason = "cachemeshd started";
  Deliver(startup, now);
  CarryOutOutputs(now);
  PublishSnapshot(now);

  HttpServerOptions http_options;
  http_options.address = config_.http_address;
  http_options.port = config_.http_port;
  http_options.token = config_.http_token;
  http_server_ = std::make_unique<HttpServer>(http_options, *backend_,
                                              *events_, registry_);
  if (absl::Status started = http_server_->Start(); !started.ok()) {
    return started;
  }
  logger_.Info(absl::StrFormat(
      "cachemeshd %s in cluster %s: mesh %s (bound %s), http %s:%d, apps %s, "
      "%d configured peers",
      config_.node.id, config_.node.cluster, config_.self.endpoint(),
      mesh_->bound_endpoint(), config_.http_address, http_server_->port(),
      app_server_->endpoint(), config_.peers.size()));
  return absl::OkStatus();
}

void Daemon::RequestStop() { WriteEventFd(stop_fd_); }

void Daemon::RequestReload() { WriteEventFd(reload_fd_); }

absl::Status Daemon::Run() {
  net::Poller poller;
  poller.Add(mesh_.get());
  poller.Add(app_server_.get());
  poller.AddFd(commands_->wake_fd());
  poller.AddFd(stop_fd_);
  poller.AddFd(reload_fd_);
  for (;;) {
    absl::Time now = absl::Now();
    const absl::Duration timeout = std::clamp(
        node_->NextDeadline() - now, absl::ZeroDuration(), kSnapshotInterval);
    absl::StatusOr<net::Ready> ready = poller.Wait(timeout);
    if (!ready.ok()) return ready.status();
    now = absl::Now();
    // Only what is ready: every idle look costs system calls.
    auto fd_ready = [&ready](int fd) {
      return absl::c_linear_search(ready->fds, fd);
    };
    if (fd_ready(stop_fd_) && ConsumeEventFd(stop_fd_)) break;
    if (fd_ready(reload_fd_) && ConsumeEventFd(reload_fd_)) Reload(now);
    if (!ready->meshes.empty()) HandleMesh(now);
    if (!ready->app_servers.empty()) HandleApps(now);
    if (fd_ready(commands_->wake_fd())) HandleCommands(now);
    Tick(now);
    CarryOutOutputs(now);
    PublishSnapshot(now);
  }
  SayGoodbye();
  return absl::OkStatus();
}

void Daemon::HandleMesh(absl::Time now) {
  // After an error, what was read before it is still handled.
  if (absl::Status drained = mesh_->Drain(mesh_input_); !drained.ok()) {
    logger_.Error(absl::StrCat("mesh: ", drained.message()));
  }
  for (const std::string& endpoint : mesh_input_.announced_endpoints) {
    node_->OnAnnouncedEndpoint(endpoint, now);
  }
  for (const std::string& payload : mesh_input_.payloads) {
    metrics_.mesh_bytes_received->Increment(payload.size());
    std::shared_ptr<v1::Envelope> parsed = NewArenaEnvelope(payload.size());
    if (!parsed->ParseFromString(payload)) {
      if (++malformed_envelopes_ % 1000 == 1) {
        logger_.Warning(absl::StrFormat(
            "dropped %d malformed envelopes so far", malformed_envelopes_));
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
    node_->OnEnvelope(std::move(parsed), now);
  }
}

void Daemon::HandleApps(absl::Time now) {
  absl::StatusOr<std::vector<v1::InvalidationList>> lists =
      app_server_->Drain();
  if (!lists.ok()) {
    logger_.Error(absl::StrCat("app channel: ", lists.status().message()));
    return;
  }
  for (v1::InvalidationList& list : *lists) {
    const int count = list.invalidations_size();
    absl::Status published = node_->Publish(TakeInvalidations(list), now);
    if (!published.ok()) {
      logger_.Warning(absl::StrCat("app channel: rejected a list: ",
                                   published.message()));
    } else {
      metrics_.invalidations_sent->Increment(count);
    }
  }
}

void Daemon::HandleCommands(absl::Time now) {
  for (Command& command : commands_->Drain()) {
    if (auto* publish = std::get_if<PublishCommand>(&command)) {
      // The HTTP thread validated it, so Publish only fails after LEAVE.
      const int count = publish->list.invalidations_size();
      if (node_->Publish(TakeInvalidations(publish->list), now).ok()) {
        metrics_.invalidations_sent->Increment(count);
      }
    } else if (auto* drain = std::get_if<SetDrainingCommand>(&command)) {
      logger_.Info(drain->draining
                       ? "draining: /health now answers 503 DRAINING"
                       : "draining ended: /health reflects the node again");
    }
  }
}

void Daemon::Reload(absl::Time now) {
  absl::StatusOr<Config> reloaded =
      LoadConfig(config_.file, ProcessEnvironment());
  if (!reloaded.ok()) {
    metrics_.config_reloads_refused->Increment();
    logger_.Error(absl::StrCat("SIGHUP: kept the running configuration; ",
                               reloaded.status().message()));
    return;
  }
  metrics_.config_reloads_applied->Increment();
  const ConfigChanges changes = DiffConfigs(config_, *reloaded);
  AdoptLiveSettings(*reloaded, changes, config_);
  // Every live setting is applied, changed or not: it costs nothing.
  node_->SetSeeds(config_.node.seeds, now);
  if (absl::StatusOr<LogLevel> level = ParseLogLevel(config_.log_level);
      level.ok()) {
    logger_.SetLevel(*level);
  }
  http_server_->SetToken(config_.http_token);
  for (const auto& [key, gauge] : metrics_.restart_pending) {
    gauge->Set(absl::c_linear_search(changes.restart, key) ? 1 : 0);
  }
  logger_.Info(absl::StrCat(
      "SIGHUP: applied ",
      changes.live.empty() ? "no changes" : absl::StrJoin(changes.live, ", "),
      "; peers now ",
      config_.peers.empty() ? "none" : absl::StrJoin(config_.node.seeds, ", ")));
  if (!changes.restart.empty()) {
    logger_.Warning(absl::StrCat("SIGHUP: restart to apply the changed ",
                                 absl::StrJoin(changes.restart, ", ")));
  }
}

void Daemon::Tick(absl::Time now) {
  const absl::Time deadline = node_->NextDeadline();
  if (now < deadline) return;
  metrics_.heartbeat_lateness->Observe(absl::ToDoubleSeconds(now - deadline));
  node_->OnTick(now);
}

void Daemon::CarryOutOutputs(absl::Time now) {
  Outputs outputs = node_->TakeOutputs();
  std::string wire;
  for (const std::shared_ptr<const v1::Envelope>& envelope :
       outputs.broadcasts) {
    envelope->SerializeToString(&wire);
    metrics_.mesh_bytes_sent->Increment(wire.size());
    if (absl::Status sent = mesh_->Broadcast(wire); !sent.ok()) {
      logger_.Error(absl::StrCat("mesh: ", sent.message()));
    }
  }
  for (const std::string& endpoint : outputs.connect) {
    if (absl::Status status = mesh_->Connect(endpoint); !status.ok()) {
      logger_.Warning(absl::StrCat("mesh: ", status.message()));
    }
  }
  for (const std::string& endpoint : outputs.disconnect) {
    if (absl::Status status = mesh_->Disconnect(endpoint); !status.ok()) {
      logger_.Warning(absl::StrCat("mesh: ", status.message()));
    }
  }
  for (const MembershipChange& change : outputs.membership_changes) {
    logger_.Info(DescribeChange(change));
    membership_changed_ = true;
  }
  Deliver(outputs.deliveries, now);
}

void Daemon::Deliver(std::vector<AppDelivery>& deliveries, absl::Time now) {
  if (deliveries.empty()) return;
  // Only this loop appends, so the ids the log will assign are known: the
  // events go to the apps first and are then moved into the log, uncopied.
  uint64_t event_id = events_->newest_id() + 1;
  absl::flat_hash_map<std::string, int> recovered_by_origin;
  uint64_t received = 0;
  frame_.Clear();
  for (const AppDelivery& delivery : deliveries) {
    if (delivery.kind == v1::AppEvent::FLUSH) {
      if (delivery.flushed_to != 0) metrics_.flushes->Increment();
      logger_.Warning(
          delivery.flushed_to == 0
              ? absl::StrCat("FLUSH: ", delivery.reason)
              : absl::StrFormat("FLUSH: %s (stream %s/%d seq %d..%d)",
                                delivery.reason, delivery.origin_id,
                                delivery.origin_instance,
                                delivery.flushed_from, delivery.flushed_to));
    } else {
      ++received;
      metrics_.propagation_latency->Observe(
          absl::ToDoubleSeconds(now - delivery.published_at));
      if (delivery.recovered) {
        metrics_.invalidations_recovered->Increment();
        ++recovered_by_origin[delivery.origin_id];
      }
    }
    frame_.Add({delivery.kind, delivery.origin_id, delivery.seq,
                delivery.reason, event_id++},
               delivery.invalidation.get());
  }
  metrics_.invalidations_received->Increment(received);
  if (absl::Status sent = app_server_->Publish(frame_); !sent.ok()) {
    logger_.Error(absl::StrCat("app channel: ", sent.message()));
  }
  events_->AppendAll(&deliveries);
  for (const auto& [origin, count] : recovered_by_origin) {
    logger_.Info(absl::StrFormat("recovered %d lost invalidations from %s",
                                 count, origin));
  }
}

void Daemon::PublishSnapshot(absl::Time now) {
  if (!membership_changed_ && now - last_snapshot_ < kSnapshotInterval) {
    return;
  }
  NodeSnapshot snapshot;
  snapshot.self_id = node_->id();
  for (v1::MemberView& view : node_->Members(now)) {
    *snapshot.members.add_members() = std::move(view);
  }
  snapshot.synced = node_->Synced(now);
  snapshot.untrusted_reasons = node_->UntrustedReasons(now);
  snapshot.taken_at = now;
  metrics_.RecordMembers(snapshot.members);
  metrics_.nacks_sent->Increment(node_->stats().nacks_sent - nacks_reported_);
  nacks_reported_ = node_->stats().nacks_sent;
  snapshots_.Publish(std::move(snapshot));
  last_snapshot_ = now;
  membership_changed_ = false;
}

void Daemon::SayGoodbye() {
  // No more 202s: everything already accepted goes out before LEAVE.
  http_server_->Stop();
  absl::Time now = absl::Now();
  HandleApps(now);
  HandleCommands(now);
  logger_.Info("stopping: saying goodbye to the cluster");
  node_->Leave(now);
  CarryOutOutputs(now);
  PublishSnapshot(now);
  // Let ZeroMQ's I/O thread put LEAVE on the wire; sockets close with
  // LINGER 0 afterwards, so nothing can hold the exit up.
  net::Poller poller;
  poller.AddFd(stop_fd_);
  const absl::Time until = now + kGoodbyeGrace;
  while ((now = absl::Now()) < until) {
    if (!poller.Wait(until - now).ok()) break;
    ConsumeEventFd(stop_fd_);
  }
  events_->Shutdown();
  if (prober_ != nullptr) prober_->Stop();
}

}  // namespace cachemesh
