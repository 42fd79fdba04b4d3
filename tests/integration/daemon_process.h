// Real cachemeshd processes for integration tests: each gets its own
// dhis.conf, ephemeral ports and log file in the test's temp dir, and is
// driven with signals (kill -9, SIGSTOP, SIGTERM) and its HTTP API.
#ifndef CACHEMESH_TESTS_INTEGRATION_DAEMON_PROCESS_H_
#define CACHEMESH_TESTS_INTEGRATION_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/cachemesh.pb.h"
#include "tests/integration/subprocess.h"

namespace cachemesh::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 by the
// kernel, then released), and never returned before in this process.
int PickFreePort();


struct DaemonSpec {
  std::string id;
  int cache_port = 0;
  int http_port = 0;
  // host:port of the peers it is configured with.
  std::vector<std::string> members;
  // Extra dhis.conf lines, e.g. "cachemesh.app.health.url = ...".
  std::vector<std::string> extra_lines;
  std::string cluster = "integration";
  // The node's address: cluster.hostname and cachemesh.bind.address. Any
  // 127.x.y.z works on loopback; distinct ones let iptables tell nodes apart.
  std::string host = "127.0.0.1";
  // Extra command-line flags, e.g. "--testonly_deaf_to=n1".
  std::vector<std::string> flags;
};

class DaemonProcess {
 public:
  explicit DaemonProcess(DaemonSpec spec);
  ~DaemonProcess();  // kill -9 if still running.
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Writes the dhis.conf (see config_path()) and starts the daemon on it.
  void Start();
  // Sends `signal`; for SIGTERM and SIGKILL also waits for the exit (up to
  // `timeout`) and returns how long that took (the exit code: exit_code()).
  std::optional<absl::Duration> Signal(int signal,
                                       absl::Duration timeout = absl::Seconds(5));
  // Waits for the daemon to exit by itself; its exit code (-1 for a signal),
  // or nullopt if it still runs after `timeout`.
  std::optional<int> WaitForExit(absl::Duration timeout);
  // The exit code seen by the last Signal() that waited; -1 for a signal.
  int exit_code() const { return exit_code_; }

  // What `cachemeshd --check_config` says of this daemon's dhis.conf.
  struct Exit {
    int code = -1;
    std::string output;  // stdout and stderr
  };
  Exit CheckConfig() const;
  // Rewrites the dhis.conf with other extra lines (then SIGHUP applies it).
  void SetExtraLines(std::vector<std::string> extra_lines);
  std::string config_path() const;
  bool running() const { return process_ != nullptr; }
  pid_t pid() const { return process_ == nullptr ? -1 : process_->pid(); }
  const DaemonSpec& spec() const { return spec_; }
  std::string address() const;  // "<host>:<cache port>"
  std::string log() const;

  // HTTP against this daemon. Status -1 when it does not answer.
  struct Reply {
    int status = -1;
    std::string body;
  };
  Reply Get(const std::string& path) const;
  Reply Post(const std::string& path, const std::string& body) const;
  Reply Delete(const std::string& path) const;

  // This daemon's view of member `id`, or UNSPECIFIED if absent.
  v1::MemberState StateOf(const std::string& id) const;
  std::optional<v1::MemberList> Members() const;
  int HealthStatus() const { return Get("/health").status; }

 private:
  std::string IpcPath() const;
  void WriteConfig() const;

  DaemonSpec spec_;
  std::string dir_;
  std::unique_ptr<Subprocess> process_;
  int exit_code_ = -1;
};

// Reads /v1/invalidations/stream of one daemon on a thread of its own.
class SseReader {
 public:
  struct Event {
    uint64_t id = 0;
    std::string type;  // "invalidation" or "flush"
    v1::AppEvent event;
  };
  // Connects at once; `last_event_id` 0 means none (live from now).
  SseReader(int http_port, uint64_t last_event_id = 0);
  ~SseReader();  // Disconnects.
  SseReader(const SseReader&) = delete;
  SseReader& operator=(const SseReader&) = delete;

  std::vector<Event> events() const;
  // Waits until at least `count` events arrived.
  bool WaitForCount(size_t count, absl::Duration timeout) const;
  bool connected() const;

 private:
  void Run(int http_port, uint64_t last_event_id);
  void ParseEvents(std::string& buffer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  std::vector<Event> events_ ABSL_GUARDED_BY(mutex_);
  bool connected_ ABSL_GUARDED_BY(mutex_) = false;
  httplib::Client* client_ ABSL_GUARDED_BY(mutex_) = nullptr;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cachemesh::testing

#endif  // CACHEMESH_TESTS_INTEGRATION_DAEMON_PROCESS_H_
