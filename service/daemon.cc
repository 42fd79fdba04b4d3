// The composition root: builds and wires the daemon's parts. The loop is in
// daemon_loop.cc, SIGHUP in daemon_reload.cc.
#include "service/daemon.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "config/reload.h"

namespace cachemesh {
namespace {

// Commands queued from HTTP, counted in invalidations.
constexpr size_t kCommandCapacity = 1 << 20;

std::string MeshBindEndpoint(const Config& config) {
  const bool ipv6 = config.bind_address.find(':') != std::string::npos;
  return absl::StrCat("tcp://", ipv6 ? "[" : "", config.bind_address,
                      ipv6 ? "]" : "", ":", config.self.port);
}

// Connections to peers leave from the bound address, unless it is a
// wildcard (then the OS chooses).
std::string SourceAddress(const Config& config) {
  const std::string& bind = config.bind_address;
  return bind == "*" || bind == "0.0.0.0" || bind == "::" ? "" : bind;
}

template <typename T>
absl::Status Take(absl::StatusOr<T> made, T& into) {
  if (!made.ok()) return made.status();
  into = *std::move(made);
  return absl::OkStatus();
}

}  // namespace

Daemon::Daemon(const Config& config, Logger& logger)
    : config_(config), logger_(logger) {}

Daemon::~Daemon() {
  if (http_server_ != nullptr) http_server_->Stop();
  if (events_ != nullptr) events_->Shutdown();
  if (prober_ != nullptr) prober_->Stop();
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(const Config& config,
                                                       Logger& logger) {
  std::unique_ptr<Daemon> daemon(new Daemon(config, logger));
  if (absl::Status status = daemon->Init(); !status.ok()) return status;
  return daemon;
}

NodeOptions Daemon::MakeNodeOptions(absl::Time now) const {
  NodeOptions options = config_.node;
  // Strictly increasing across restarts of this node.
  options.instance_id = static_cast<uint64_t>(absl::ToUnixMicros(now));
  options.random_seed = options.instance_id;
  return options;
}

absl::Status Daemon::Init() {
  const absl::Time now = clock_.Now();
  const NodeOptions node_options = MakeNodeOptions(now);
  net::MeshOptions mesh_options = config_.mesh;
  mesh_options.source_address = SourceAddress(config_);
  for (absl::Status status : {
           ValidateNodeOptions(node_options),
           Take(EventFd::Create(), stop_),
           Take(EventFd::Create(), reload_),
           Take(net::Context::Create(), context_),
       }) {
    if (!status.ok()) return status;
  }
  for (absl::Status status : {
           Take(net::Mesh::Create(*context_, MeshBindEndpoint(config_),
                                  config_.self.endpoint(), mesh_options),
                mesh_),
           Take(net::AppServer::Create(*context_, config_.client_endpoint),
                app_server_),
           Take(CommandQueue::Create(kCommandCapacity), commands_),
           Take(DaemonMetrics::Register(registry_, RestartOnlyKeys()),
                metrics_),
       }) {
    if (!status.ok()) return status;
  }
  // Event ids start at this process's start time in microseconds, so a
  // Last-Event-ID from an earlier process is never mistaken for ours.
  events_ = std::make_unique<EventLog>(
      config_.events_buffer, static_cast<uint64_t>(absl::ToUnixMicros(now)));
  if (!config_.flush_url.empty()) {
    FlushActionOptions flush_options;
    flush_options.url = config_.flush_url;
    flush_options.method = config_.flush_method;
    flush_options.authorization = config_.flush_authorization;
    flush_options.retry_interval = config_.flush_retry;
    flush_options.timeout = config_.flush_timeout;
    flush_options.coalesce = config_.flush_coalesce;
    flush_options.log = [this](const std::string& line) {
      logger_.Info(absl::StrCat("flush action: ", line));
    };
    if (absl::Status made = Take(FlushAction::Create(flush_options), flush_);
        !made.ok()) {
      return made;
    }
  }
  if (config_.redis.enabled) {
    if (absl::Status made = StartRedisServer(); !made.ok()) return made;
  }
  AppDeliverer::Hooks hooks;
  hooks.channel_message = [this](const std::string& channel,
                                 const std::string& payload) {
    if (redis_ != nullptr) redis_->Deliver(channel, payload);
  };
  hooks.flush = [this](std::string reason, bool only_if_app_answers) {
    RequestFlush(std::move(reason), only_if_app_answers);
  };
  deliverer_ = std::make_unique<AppDeliverer>(*app_server_, *events_,
                                              metrics_, logger_, hooks);

  if (!config_.app_health_url.empty()) {
    AppHealthOptions prober_options;
    prober_options.url = config_.app_health_url;
    prober_options.interval = config_.app_health_interval;
    prober_options.timeout = config_.app_health_timeout;
    if (absl::Status made =
            Take(AppHealthProber::Create(prober_options), prober_);
        !made.ok()) {
      return made;
    }
    prober_->Start();
  }
  backend_ =
      std::make_unique<LoopBackend>(snapshots_, *commands_, prober_.get());

  NodeHost& host = *this;  // The base is private: convert here.
  driver_ = std::make_unique<NodeDriver>(node_options, clock_, host);
  driver_->Start();
  // Whatever an app cached before this daemon started was not kept
  // coherent by it: the first event is always a FLUSH.
  std::vector<AppDelivery> startup(1);
  startup[0].kind = v1::AppEvent::FLUSH;
  startup[0].origin_id = config_.node.id;
  startup[0].reason = "cachemeshd started";
  Deliver(startup);
  driver_->CarryOutOutputs();
  PublishSnapshot(now);

  HttpServerOptions http_options;
  http_options.address = config_.http_address;
  http_options.port = config_.http_port;
  http_options.token = config_.http_token;
  http_server_ = std::make_unique<HttpServer>(http_options, *backend_, *events_,
                                              registry_);
  if (absl::Status started = http_server_->Start(); !started.ok()) {
    return started;
  }
  logger_.Info(absl::StrFormat(
      "cachemeshd %s in cluster %s: mesh %s (bound %s), http %s:%d, apps %s, "
      "%d configured peers",
      config_.node.id, config_.node.cluster, config_.self.endpoint(),
      mesh_->bound_endpoint(), config_.http_address, http_server_->port(),
      app_server_->endpoint(), config_.peers.size()));
  logger_.Info(absl::StrCat(
      "redis endpoint: ",
      redis_ == nullptr
          ? absl::StrCat("off, ", config_.redis.because)
          : absl::StrCat("port ", redis_->port(), " on ",
                         absl::StrJoin(config_.redis.addresses, " and "),
                         ", because ", config_.redis.because)));
  return absl::OkStatus();
}

absl::Status Daemon::StartRedisServer() {
  RedisServerOptions options;
  options.addresses = config_.redis.addresses;
  options.port = config_.redis.port;
  options.password = config_.redis.password;
  options.max_output_bytes = config_.redis_max_output_bytes;
  options.park_for = config_.redis_park_for;
  options.park_max_messages = config_.redis_park_messages;
  absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Create(
      options,
      [this](const std::string& channel, const std::string& payload) {
        return PublishChannelMessage(channel, payload);
      },
      [this](const std::string& reason) {
        // A subscriber may have missed messages; if the app is not running
        // any more, it has nothing to flush.
        metrics_.redis_losses->Increment();
        logger_.Warning(absl::StrCat("redis endpoint: ", reason));
        RequestFlush(absl::StrCat("Redis subscriber: ", reason),
                     /*only_if_app_answers=*/true);
      },
      [this] { return clock_.Now(); });
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("Redis endpoint (", config_.redis.because,
                                     "): ", server.status().message()));
  }
  redis_ = *std::move(server);
  for (const std::string& note : redis_->bind_notes()) {
    logger_.Warning(absl::StrCat("redis endpoint: ", note));
  }
  return absl::OkStatus();
}

}  // namespace cachemesh
