// What the Redis pub/sub benchmark (tools/bench/redis_bench_main.cc) compares
// cachemesh's Redis-protocol endpoints (a LocalCluster) with: a real
// redis-server child process; and the CPU accounting of both from
// /proc/<pid>/task/*/schedstat.
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

// CPU nanoseconds of the threads of process `pid` (0: this process) so far,
// by thread id, from /proc/<pid>/task/*/schedstat.
std::vector<std::pair<int, int64_t>> TaskCpuNanos(pid_t pid);

// The sum of `now` minus `before` over the threads for which `counts` says
// yes (threads that appeared since count from zero).
int64_t CpuDelta(const std::vector<std::pair<int, int64_t>>& before,
                 const std::vector<std::pair<int, int64_t>>& now,
                 const std::function<bool(int tid)>& counts);

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
