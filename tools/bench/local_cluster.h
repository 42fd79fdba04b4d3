// A cluster of real cachemesh daemons inside this process, for the benchmarks:
// each node gets a generated dhis.conf (loaded with LoadConfig, so every
// default is the daemon's own), ephemeral loopback ports, an ipc:// app
// channel under /tmp, and its event loop on a thread of its own. Every node
// lists all the others as peers.
#ifndef CACHEMESH_TOOLS_BENCH_LOCAL_CLUSTER_H_
#define CACHEMESH_TOOLS_BENCH_LOCAL_CLUSTER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "service/daemon.h"
#include "service/log.h"

namespace cachemesh {
namespace bench {

// `count` distinct TCP ports on 127.0.0.1 that were free a moment ago: all
// are bound to port 0 at once (so the kernel hands out distinct ones), then
// released.
absl::StatusOr<std::vector<int>> PickFreePorts(int count);

class LocalCluster {
 public:
  // More dhis.conf lines for node `index`, e.g. to turn its Redis-protocol
  // endpoint on.
  using ExtraConfig = std::function<std::string(int index)>;

  // Starts `nodes` (at least 2) daemons logging through `logger`, which must
  // outlive the cluster. The cluster forms in the background.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(
      int nodes, Logger& logger, const ExtraConfig& extra_config = nullptr);

  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;
  // Stops what still runs and removes the generated files.
  ~LocalCluster();

  // Waits until every node's GET /v1/members lists all nodes ALIVE.
  absl::Status WaitUntilFormed(absl::Duration timeout) const;

  // Asks every node to leave, joins the loops, removes the config files and
  // ipc socket files. Returns the first event loop error. Idempotent.
  absl::Status Stop();

  int size() const { return static_cast<int>(nodes_.size()); }
  // The app channel endpoint of node `index` (net::Client connects here).
  const std::string& client_endpoint(int index) const {
    return nodes_[index]->config.client_endpoint;
  }
  const Config& config(int index) const { return nodes_[index]->config; }

 private:
  struct LocalNode {
    Config config;
    std::string config_path;
    std::unique_ptr<Daemon> daemon;
    std::thread loop;
    absl::Status loop_result;
  };

  explicit LocalCluster(std::string dir) : dir_(std::move(dir)) {}

  // How many nodes list all nodes ALIVE right now.
  int FormedNodes() const;
  void RemoveFiles();

  // The temp directory holding the generated dhis.conf files.
  std::string dir_;
  std::vector<std::unique_ptr<LocalNode>> nodes_;
  bool stopped_ = false;
};

}  // namespace bench
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_BENCH_LOCAL_CLUSTER_H_
