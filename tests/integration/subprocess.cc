#include "tests/integration/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace cachemesh::testing {

bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

Subprocess::Subprocess(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)) {
  std::vector<char*> raw;
  for (std::string& argument : argv) raw.push_back(argument.data());
  raw.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int log =
        open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execv(raw[0], raw.data());
    std::fprintf(stderr, "exec %s: %s\n", raw[0], std::strerror(errno));
    _exit(127);
  }
  EXPECT_GT(pid, 0) << "fork: " << std::strerror(errno);
  pid_ = pid;
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::optional<int> Subprocess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return std::nullopt;
  std::optional<int> code;
  WaitUntil(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
        code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return true;
      },
      timeout);
  if (code.has_value()) pid_ = -1;
  return code;
}

void Subprocess::Signal(int signal) const {
  if (pid_ > 0) kill(pid_, signal);
}

std::string Subprocess::log() const { return ReadFile(log_path_); }

std::pair<int, std::string> RunShell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

namespace {
constexpr char kInPrivateNetwork[] = "CACHEMESH_IN_PRIVATE_NETWORK";
}  // namespace

bool InPrivateNetwork() { return getenv(kInPrivateNetwork) != nullptr; }

bool CanMakePrivateNetwork() {
  return geteuid() == 0 && RunShell("unshare -n true").first == 0;
}

int RerunInPrivateNetwork(const std::string& gtest_filter) {
  const auto [code, output] =
      RunShell(absl::StrCat("unshare -n env -u XML_OUTPUT_FILE -u GTEST_OUTPUT "
                            "-u TEST_PREMATURE_EXIT_FILE ",
                            kInPrivateNetwork, "=1 /proc/", getpid(),
                            "/exe --gtest_filter=", gtest_filter));
  std::fputs(output.c_str(), stdout);  // The re-run's report is ours.
  return code;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace cachemesh::testing
