// cachemeshd's node: one event-loop thread that owns the protocol (core::Node),
// the ZeroMQ mesh and the local app channel, plus the HTTP server whose
// threads only read snapshots and queue commands.
//
// The loop (after zyre's node actor): wait on every socket and fd with the
// next protocol deadline as the timeout, drain what is readable, tick the
// node when its deadline has come, carry out the node's outputs (through the
// NodeDriver the simulator and the tests use too, so in the same order),
// publish a snapshot. Nothing else touches the node or the sockets.
//
// The class is split by seam: daemon.cc wires the parts together,
// daemon_loop.cc is the loop and the node's transport, daemon_reload.cc is
// SIGHUP, and AppDeliverer hands events to the apps.
//
// A Daemon can run in a process of its own (cachemeshd) or several to a
// process (benchmarks): signals are the caller's business.
#ifndef CACHEMESH_SERVICE_DAEMON_H_
#define CACHEMESH_SERVICE_DAEMON_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "core/node.h"
#include "core/node_driver.h"
#include "net/app_channel.h"
#include "net/context.h"
#include "net/mesh.h"
#include "net/poller.h"
#include "service/app_deliverer.h"
#include "service/app_health.h"
#include "service/command_queue.h"
#include "service/daemon_metrics.h"
#include "service/event_fd.h"
#include "service/event_log.h"
#include "service/flush_action.h"
#include "service/http_backend.h"
#include "service/http_server.h"
#include "service/log.h"
#include "service/metrics.h"
#include "service/redis_server.h"
#include "service/snapshot.h"
#include "service/system_clock.h"

namespace cachemesh {

class Daemon : private NodeHost {
 public:
  // Binds the cache port, the app channel, the HTTP port and the Redis
  // endpoint (when on); starts the HTTP server, the app prober and the flush
  // action. The loop starts with Run(). `logger` must
  // outlive the daemon (SIGHUP may change its level).
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(const Config& config,
                                                        Logger& logger);
  ~Daemon() override;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs the event loop until RequestStop(), then says goodbye to the
  // cluster (LEAVE) and shuts down. Call from one thread, once.
  absl::Status Run();
  // Thread-safe and async-signal-safe: asks Run() to stop gracefully.
  void RequestStop();
  // Thread-safe and async-signal-safe: asks Run() to re-read the config
  // file (SIGHUP): the settings table's live keys and the peers are applied,
  // other changed keys are logged and shown in /metrics as needing a
  // restart.
  void RequestReload();

  // Test-only switch, for tests that cannot cut the network: envelopes from
  // member `id` are dropped as if the link from it were cut.
  void DropEnvelopesFromForTesting(std::string id) {
    testonly_deaf_to_ = std::move(id);
  }

  // The bound HTTP port (useful when the config asked for port 0).
  int http_port() const { return http_server_->port(); }
  const std::string& mesh_endpoint() const { return mesh_->bound_endpoint(); }

 private:
  // The composition root (daemon.cc).
  Daemon(const Config& config, Logger& logger);
  absl::Status Init();
  NodeOptions MakeNodeOptions(absl::Time now) const;
  absl::Status StartRedisServer();

  // The loop (daemon_loop.cc): one turn reads what is ready, ticks the node
  // when due, carries out its outputs and publishes a snapshot.
  void HandleMesh();
  void HandleApps();
  void HandleCommands();
  void Tick();
  void PublishSnapshot(absl::Time now);
  void SayGoodbye();

  // NodeHost: the node's outputs, in the driver's order (daemon_loop.cc).
  void Disconnect(const std::string& endpoint) override;
  void Connect(const std::string& endpoint) override;
  void Broadcast(std::shared_ptr<const v1::Envelope> envelope) override;
  void MembershipChanged(const MembershipChange& change) override;
  void Deliver(std::vector<AppDelivery>& deliveries) override;

  // SIGHUP (daemon_reload.cc).
  void Reload();

  // The app may have missed invalidations: runs the flush action, if any.
  void RequestFlush(std::string reason, bool only_if_app_answers);
  // A Redis-protocol PUBLISH: into the mesh, and to this node's own
  // subscribers. Returns how many of those got it (the PUBLISH reply).
  int64_t PublishChannelMessage(const std::string& channel,
                                const std::string& payload);
  // The Redis endpoint's and the flush action's figures, for /metrics.
  void RecordRedisAndFlushMetrics();

  Config config_;
  Logger& logger_;
  SystemClock clock_;
  std::unique_ptr<net::Context> context_;
  std::unique_ptr<net::Mesh> mesh_;
  std::unique_ptr<net::AppServer> app_server_;
  std::unique_ptr<NodeDriver> driver_;
  std::unique_ptr<CommandQueue> commands_;
  std::unique_ptr<EventLog> events_;
  MetricsRegistry registry_;
  DaemonMetrics metrics_;
  std::unique_ptr<AppDeliverer> deliverer_;
  // Null when cachemesh.flush.url is unset.
  std::unique_ptr<FlushAction> flush_;
  // Null when the Redis endpoint is off.
  std::unique_ptr<RedisServer> redis_;
  SnapshotStore snapshots_;
  std::unique_ptr<AppHealthProber> prober_;
  std::unique_ptr<LoopBackend> backend_;
  std::unique_ptr<HttpServer> http_server_;
  // Written by RequestStop and RequestReload.
  std::unique_ptr<EventFd> stop_;
  std::unique_ptr<EventFd> reload_;
  absl::Time last_snapshot_ = absl::InfinitePast();
  // A snapshot must go out this turn (membership or the flush state changed).
  bool snapshot_due_ = true;
  uint64_t malformed_envelopes_ = 0;
  uint64_t foreign_envelopes_ = 0;
  uint64_t nacks_reported_ = 0;
  // What HandleMesh reads into (its buffers are reused).
  net::MeshInput mesh_input_;
  // The serialized envelope Broadcast sends (its buffer is reused).
  std::string wire_;
  std::string testonly_deaf_to_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_DAEMON_H_
