// A child process for integration tests: a real client program (redis-cli,
// a node or python runner) started with its output in a log file, stopped
// with a signal, and killed with -9 if still running when the test ends.
#ifndef CACHEMESH_TESTS_INTEGRATION_SUBPROCESS_H_
#define CACHEMESH_TESTS_INTEGRATION_SUBPROCESS_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace cachemesh::testing {

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout);

class Subprocess {
 public:
  // Starts argv[0] (an absolute path) with `argv`; stdout and stderr go to
  // `log_path`.
  Subprocess(std::vector<std::string> argv, std::string log_path);
  ~Subprocess();  // kill -9 if still running.
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Waits (up to `timeout`) for the exit; its code, -1 for a signal, or
  // nullopt if it still runs.
  std::optional<int> WaitForExit(absl::Duration timeout);
  // Sends `signal`; returns at once.
  void Signal(int signal) const;
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string log() const;

 private:
  std::string log_path_;
  pid_t pid_ = -1;
};

// Reads a whole file; empty when it does not exist.
std::string ReadFile(const std::string& path);

// Runs `command` through the shell: its exit code (-1 for a signal) and
// what it printed on stdout and stderr.
std::pair<int, std::string> RunShell(const std::string& command);

// Tests that cut or abort connections run themselves again inside a network
// namespace of their own (`unshare -n`, as root), so that the host's network
// is never touched.
//
// True inside such a re-run.
bool InPrivateNetwork();
// Whether this process can make one: root, and `unshare -n` works.
bool CanMakePrivateNetwork();
// Runs this test binary again under `unshare -n` with `gtest_filter`, prints
// its output, and returns its exit code (0: those tests passed). The re-run
// writes none of Bazel's report files: its results are the caller's.
int RerunInPrivateNetwork(const std::string& gtest_filter);

}  // namespace cachemesh::testing

#endif  // CACHEMESH_TESTS_INTEGRATION_SUBPROCESS_H_
