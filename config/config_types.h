// The resolved configuration of one node: this node and its peers, the
// option structs of the components the settings fill (core's NodeOptions,
// net's MeshOptions), and the daemon's own settings. Defaults come from
// config/defaults.h; docs/CONFIGURATION.md documents every key.
#ifndef CACHEMESH_CONFIG_CONFIG_TYPES_H_
#define CACHEMESH_CONFIG_CONFIG_TYPES_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "config/defaults.h"
#include "config/values.h"
#include "core/node.h"
#include "net/mesh_options.h"

namespace cachemesh {

// One effective setting, for --check_config and SIGHUP.
struct Setting {
  std::string key;
  // The value in effect, as text.
  std::string value;
  // "FILE:LINE", with ", environment ${VAR}" or ", ${VAR} unset: its
  // default" appended for each ${...} in the value; or "default".
  std::string origin;
};

struct Config {
  // The file it came from.
  std::string file;

  // This node (cluster.hostname / cluster.instance0.*) and its peers, in the
  // order the file lists them (legacy style: by instance number).
  Peer self;
  std::vector<Peer> peers;

  // The protocol: cluster name, node id, endpoint, seeds (the peers), and
  // every timing and buffer. instance_id and random_seed are the daemon's.
  NodeOptions node;
  // The mesh sockets.
  net::MeshOptions mesh;

  // "*" or a host; an IPv6 address without brackets.
  std::string bind_address = std::string(defaults::kBindAddress);
  // A host; an IPv6 address without brackets.
  std::string http_address = std::string(defaults::kHttpAddress);
  int http_port = 0;
  std::string http_token;
  // Empty: no application health check.
  std::string app_health_url;
  absl::Duration app_health_interval = defaults::kAppHealthInterval;
  absl::Duration app_health_timeout = defaults::kAppHealthTimeout;
  // The local app channel: ipc://PATH (or inproc://NAME in tests).
  std::string client_endpoint;
  int events_buffer = defaults::kEventsBuffer;
  // "debug", "info", "warning" or "error".
  std::string log_level = std::string(defaults::kLogLevel);

  // Every effective setting: the cluster keys first, then every cachemesh.*
  // key, set or not.
  std::vector<Setting> settings;
  // "FILE:LINE: message": duplicate keys and dubious but usable values.
  std::vector<std::string> warnings;
};

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_CONFIG_TYPES_H_
