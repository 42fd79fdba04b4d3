// SIGHUP (see Daemon::RequestReload): re-reads dhis.conf, applies what the
// settings table marks live, and reports what needs a restart.
#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "config/config.h"
#include "config/properties.h"
#include "config/reload.h"
#include "service/daemon.h"

namespace cachemesh {

void Daemon::Reload() {
  absl::StatusOr<Config> reloaded =
      LoadConfig(config_.file, ProcessEnvironment());
  if (!reloaded.ok()) {
    metrics_.config_reloads_refused->Increment();
    logger_.Error(absl::StrCat("SIGHUP: kept the running configuration; ",
                               reloaded.status().message()));
    return;
  }
  metrics_.config_reloads_applied->Increment();
  const ConfigChanges changes = DiffConfigs(config_, *reloaded);
  AdoptLiveSettings(*reloaded, changes, config_);
  // Every live setting is applied, changed or not: it costs nothing.
  driver_->SetSeeds(config_.node.seeds);
  if (absl::StatusOr<LogLevel> level = ParseLogLevel(config_.log_level);
      level.ok()) {
    logger_.SetLevel(*level);
  }
  http_server_->SetToken(config_.http_token);
  for (const auto& [key, gauge] : metrics_.restart_pending) {
    gauge->Set(absl::c_linear_search(changes.restart, key) ? 1 : 0);
  }
  logger_.Info(absl::StrCat(
      "SIGHUP: applied ",
      changes.live.empty() ? "no changes" : absl::StrJoin(changes.live, ", "),
      "; peers now ",
      config_.peers.empty() ? "none"
                            : absl::StrJoin(config_.node.seeds, ", ")));
  if (!changes.restart.empty()) {
    logger_.Warning(absl::StrCat("SIGHUP: restart to apply the changed ",
                                 absl::StrJoin(changes.restart, ", ")));
  }
}

}  // namespace cachemesh
