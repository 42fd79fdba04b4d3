// cachemeshd: the cachemesh daemon. Reads dhis.conf and runs one node;
// --check_config prints the resolved configuration and exits.
//
// Signals: SIGTERM and SIGINT leave the cluster gracefully and exit; SIGHUP
// re-reads the config file (see Daemon::RequestReload). They are blocked in every thread and taken by
// sigwait() on a thread of their own, which only pokes the event loop.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "config/properties.h"
#include "service/daemon.h"
#include "service/log.h"
#include "service/sigpipe.h"

ABSL_FLAG(std::string, config, "/opt/dhis2/dhis.conf",
          "The DHIS 2 configuration file (dhis.conf) to read.");
ABSL_FLAG(std::string, testonly_deaf_to, "",
          "For tests only: drop every envelope from this member id, as if the "
          "link from it were cut.");
ABSL_FLAG(bool, check_config, false,
          "Print the resolved configuration (this node, its peers, every "
          "setting and where it came from) and exit: 0 when it is valid, 1 "
          "with every error otherwise.");

namespace cachemesh {
namespace {

// Exit codes.
constexpr int kExitOk = 0;
constexpr int kExitBadConfig = 1;
constexpr int kExitUsage = 2;
constexpr int kExitFailed = 3;

int RunCheckConfig(const Config& config) {
  std::fputs(FormatConfig(config).c_str(), stdout);
  return kExitOk;
}

// Forwards stop and reload signals to `daemon` until `done` is set. The
// caller joins the thread before `daemon` goes away.
std::thread ForwardSignals(const sigset_t& signals, Daemon& daemon,
                           const std::atomic<bool>& done) {
  return std::thread([signals, &daemon, &done] {
    const timespec poll_interval = {0, 100 * 1000 * 1000};
    while (!done) {
      const int signal = sigtimedwait(&signals, nullptr, &poll_interval);
      if (signal == SIGHUP) {
        daemon.RequestReload();
      } else if (signal > 0) {
        daemon.RequestStop();
      }
    }
  });
}

int RunDaemon(const Config& config) {
  const absl::StatusOr<LogLevel> level = ParseLogLevel(config.log_level);
  Logger logger(level.ok() ? *level : LogLevel::kInfo);
  for (const std::string& warning : config.warnings) logger.Warning(warning);
  // Block before any thread exists, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, signal);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  IgnoreSigpipe();

  absl::StatusOr<std::unique_ptr<Daemon>> daemon =
      Daemon::Create(config, logger);
  if (!daemon.ok()) {
    logger.Error(absl::StrCat("cannot start: ", daemon.status().message()));
    return kExitFailed;
  }
  if (const std::string deaf_to = absl::GetFlag(FLAGS_testonly_deaf_to);
      !deaf_to.empty()) {
    logger.Warning(absl::StrCat("test-only: dropping envelopes from ", deaf_to));
    (*daemon)->DropEnvelopesFromForTesting(deaf_to);
  }
  std::atomic<bool> done{false};
  std::thread forwarder = ForwardSignals(signals, **daemon, done);
  const absl::Status run = (*daemon)->Run();
  done = true;
  forwarder.join();
  if (!run.ok()) {
    logger.Error(absl::StrCat("event loop failed: ", run.message()));
    return kExitFailed;
  }
  logger.Info("stopped");
  return kExitOk;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Keeps a cluster's local caches coherent.\n"
      "Usage: cachemeshd [--config=FILE] [--check_config]");
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "cachemeshd: unexpected argument %s\n", positional[1]);
    return kExitUsage;
  }
  const absl::StatusOr<Config> config =
      LoadConfig(absl::GetFlag(FLAGS_config), ProcessEnvironment());
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(config.status().message()).c_str());
    return kExitBadConfig;
  }
  if (absl::GetFlag(FLAGS_check_config)) return RunCheckConfig(*config);
  return RunDaemon(*config);
}

}  // namespace
}  // namespace cachemesh

int main(int argc, char** argv) { return cachemesh::Main(argc, argv); }
