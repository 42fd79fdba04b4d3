// What SIGHUP does with a re-read dhis.conf, decided by the settings table:
// which changed keys the running daemon applies live, and which need a
// restart. The daemon applies the first and reports the second.
#ifndef CACHEMESH_CONFIG_RELOAD_H_
#define CACHEMESH_CONFIG_RELOAD_H_

#include <string>
#include <vector>

#include "config/config_types.h"

namespace cachemesh {

struct ConfigChanges {
  // Changed keys SIGHUP applies: live rows of the table, and the peer keys
  // (cluster.members, cluster.instanceN.* for N >= 1).
  std::vector<std::string> live;
  // Changed keys that take effect only after a restart.
  std::vector<std::string> restart;
};

// The keys whose effective value differs between `running` and `reloaded`
// (set in one and not the other counts), in the order `reloaded` lists them,
// then those only `running` has.
ConfigChanges DiffConfigs(const Config& running, const Config& reloaded);

// Takes into `running` what SIGHUP applies: the live settings' values (the
// peers and their seeds, the log level, the HTTP token) and their entries in
// `running.settings`. Restart keys keep their running values there, so the
// next diff still reports them until the daemon restarts.
void AdoptLiveSettings(const Config& reloaded, const ConfigChanges& changes,
                       Config& running);

// Every key that can need a restart: the table's rows that are not live, the
// keys that say where this node is, and DHIS 2's redis.* keys.
std::vector<std::string> RestartOnlyKeys();

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_RELOAD_H_
