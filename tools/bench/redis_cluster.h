// What the Redis pub/sub benchmark (tools/bench/redis_bench_main.cc) runs its
// load against: a local cluster of real cachemesh daemons in this process
// whose Redis-protocol endpoints are on (like LocalCluster, which cannot
// turn them on, but each dhis.conf also says `cachemesh.redis.enabled = on`
// and `redis.port = <a free port>`), a real redis-server child process, and
// the CPU accounting of both from /proc/<pid>/task/*/schedstat.
#ifndef CACHEMESH_TOOLS_BENCH_REDIS_CLUSTER_H_
#define CACHEMESH_TOOLS_BENCH_REDIS_CLUSTER_H_

#include <sys/types.h>

#include <cstdint>
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

// `count` distinct TCP ports on 127.0.0.1 that were free a moment ago.
absl::StatusOr<std::vector<int>> PickFreeTcpPorts(int count);

// CPU nanoseconds of the threads of process `pid` (0: this process) so far,
// by thread id, from /proc/<pid>/task/*/schedstat.
std::vector<std::pair<int, int64_t>> TaskCpuNanos(pid_t pid);

// The sum of `now` minus `before` over the threads for which `counts` says
// yes (threads that appeared since count from zero).
int64_t CpuDelta(const std::vector<std::pair<int, int64_t>>& before,
                 const std::vector<std::pair<int, int64_t>>& now,
                 const std::function<bool(int tid)>& counts);

// N cachemesh daemons in this process, each serving the Redis protocol on
// 127.0.0.1:redis_port(i); every node lists all the others as peers.
class RedisLocalCluster {
 public:
  static absl::StatusOr<std::unique_ptr<RedisLocalCluster>> Start(
      int nodes, Logger& logger);
  RedisLocalCluster(const RedisLocalCluster&) = delete;
  RedisLocalCluster& operator=(const RedisLocalCluster&) = delete;
  ~RedisLocalCluster();

  // Waits until every node's GET /v1/members lists all nodes ALIVE.
  absl::Status WaitUntilFormed(absl::Duration timeout) const;
  // Stops every daemon, joins the loops, removes the generated files.
  // Idempotent; returns the first event loop error.
  absl::Status Stop();

  int size() const { return static_cast<int>(nodes_.size()); }
  int redis_port(int index) const { return nodes_[index]->config.redis.port; }
  const Config& config(int index) const { return nodes_[index]->config; }

 private:
  struct Node {
    Config config;
    std::string config_path;
    std::unique_ptr<Daemon> daemon;
    std::thread loop;
    absl::Status loop_result;
  };

  explicit RedisLocalCluster(std::string dir) : dir_(std::move(dir)) {}
  int FormedNodes() const;
  void RemoveFiles();

  std::string dir_;
  std::vector<std::unique_ptr<Node>> nodes_;
  bool stopped_ = false;
};

// A redis-server child process on 127.0.0.1:port() with persistence off,
// killed with the benchmark (PR_SET_PDEATHSIG) if it dies first.
class RedisServerProcess {
 public:
  // Starts `binary` (looked up in PATH) and waits until it answers PING.
  static absl::StatusOr<std::unique_ptr<RedisServerProcess>> Start(
      const std::string& binary, absl::Duration timeout);
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;
  // Stop().
  ~RedisServerProcess();

  // SIGTERM, then SIGKILL after a second; reaps it. Idempotent.
  void Stop();
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // redis_version from its INFO server reply, or "".
  const std::string& version() const { return version_; }

 private:
  RedisServerProcess(pid_t pid, int port) : pid_(pid), port_(port) {}

  pid_t pid_;
  int port_;
  std::string version_;
};

}  // namespace bench
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_BENCH_REDIS_CLUSTER_H_
