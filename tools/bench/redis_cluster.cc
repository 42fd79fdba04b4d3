#include "tools/bench/redis_cluster.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tools/bench/local_cluster.h"
#include "tools/bench/resp_client.h"

namespace cachemesh {
namespace bench {
namespace {

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::vector<std::pair<int, int64_t>> TaskCpuNanos(pid_t pid) {
  std::vector<std::pair<int, int64_t>> result;
  const std::string base = pid == 0 ? std::string("/proc/self/task")
                                    : absl::StrCat("/proc/", pid, "/task");
  DIR* tasks = opendir(base.c_str());
  if (tasks == nullptr) return result;
  while (dirent* entry = readdir(tasks)) {
    int tid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &tid)) continue;
    const std::string line =
        ReadFirstLine(absl::StrCat(base, "/", tid, "/schedstat"));
    int64_t nanos = 0;
    if (!absl::SimpleAtoi(line.substr(0, line.find(' ')), &nanos)) continue;
    result.emplace_back(tid, nanos);
  }
  closedir(tasks);
  return result;
}

int64_t CpuDelta(const std::vector<std::pair<int, int64_t>>& before,
                 const std::vector<std::pair<int, int64_t>>& now,
                 const std::function<bool(int tid)>& counts) {
  int64_t total = 0;
  for (const auto& [tid, nanos] : now) {
    if (!counts(tid)) continue;
    int64_t start = 0;
    for (const auto& [old_tid, old_nanos] : before) {
      if (old_tid == tid) start = old_nanos;
    }
    total += nanos - start;
  }
  return total;
}

absl::StatusOr<std::unique_ptr<RedisServerProcess>> RedisServerProcess::Start(
    const std::string& binary, absl::Duration timeout) {
  absl::StatusOr<std::vector<int>> ports = PickFreePorts(1);
  if (!ports.ok()) return ports.status();
  const int port = (*ports)[0];
  const std::string port_text = absl::StrCat(port);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    // The child: dies with the benchmark; its log goes nowhere.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
    }
    execlp(binary.c_str(), binary.c_str(), "--port", port_text.c_str(),
           "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--daemonize", "no", "--loglevel", "warning", "--logfile", "",
           static_cast<char*>(nullptr));
    std::fprintf(stderr, "redis_bench: cannot run %s: %s\n", binary.c_str(),
                 std::strerror(errno));
    _exit(127);
  }
  std::unique_ptr<RedisServerProcess> server(new RedisServerProcess(pid, port));
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat(binary, " exited at once (status ", status, ")"));
    }
    absl::StatusOr<std::unique_ptr<RespConnection>> connection =
        RespConnection::Connect(port, absl::ZeroDuration());
    if (connection.ok()) {
      RespReply reply;
      if ((*connection)->Call({"PING"}, absl::Seconds(1), &reply).ok() &&
          !reply.items.empty() && reply.items[0].text == "PONG") {
        if ((*connection)
                ->Call({"INFO", "server"}, absl::Seconds(1), &reply)
                .ok() &&
            !reply.items.empty()) {
          absl::string_view info = reply.items[0].text;
          const size_t at = info.find("redis_version:");
          if (at != absl::string_view::npos) {
            info.remove_prefix(at + 14);
            server->version_ = std::string(info.substr(0, info.find('\r')));
          }
        }
        return server;
      }
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          binary, " did not answer PING on port ", port, " in time"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

RedisServerProcess::~RedisServerProcess() { Stop(); }

void RedisServerProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  pid_ = -1;
}

}  // namespace bench
}  // namespace cachemesh
