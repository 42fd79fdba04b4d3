// A child process for integration tests: a real client program (redis-cli,
// a node or python runner) started with its output in a log file, stopped
// with a signal, and killed with -9 if still running when the test ends.
#ifndef CACHEMESH_TESTS_INTEGRATION_SUBPROCESS_H_
#define CACHEMESH_TESTS_INTEGRATION_SUBPROCESS_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
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

}  // namespace cachemesh::testing

#endif  // CACHEMESH_TESTS_INTEGRATION_SUBPROCESS_H_
