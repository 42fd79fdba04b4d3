// cachemesh's resolved configuration, read from DHIS 2's dhis.conf: this
// node and its peers (both DHIS 2 key styles), and every cachemesh.* setting
// with its default. docs/CONFIGURATION.md documents every key and error.
#ifndef CACHEMESH_CONFIG_CONFIG_H_
#define CACHEMESH_CONFIG_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "config/properties.h"

namespace cachemesh {

// A cluster member's cache endpoint.
struct Peer {
  // Hostname or IP address; an IPv6 address without brackets.
  std::string host;
  int port = 0;

  // "host:port", with an IPv6 host in brackets: "[::1]:4001".
  std::string address() const;
  // "tcp://" + address().
  std::string endpoint() const;
};

// One effective setting, for --check_config.
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

  std::string cluster_name;
  std::string node_id;
  // "*" or a host; an IPv6 address without brackets.
  std::string bind_address;
  // A host; an IPv6 address without brackets.
  std::string http_address;
  std::string http_token;
  // Empty: no application health check.
  std::string app_health_url;
  // A ZeroMQ endpoint: ipc://... or tcp://...
  std::string client_endpoint;
  // "debug", "info", "warning" or "error".
  std::string log_level;

  int http_port = 0;
  absl::Duration app_health_interval;
  absl::Duration app_health_timeout;
  absl::Duration heartbeat_interval;
  absl::Duration failure_acceptable_pause;
  absl::Duration failure_min_stddev;
  absl::Duration suspicion_min;
  absl::Duration suspicion_max;
  absl::Duration reap_after;
  absl::Duration batch_max_delay;
  absl::Duration startup_sync_timeout;
  absl::Duration zmq_heartbeat_interval;
  absl::Duration zmq_heartbeat_timeout;
  absl::Duration zmq_heartbeat_ttl;

  double failure_phi_threshold = 0;
  int batch_max_size = 0;
  int recovery_buffer = 0;
  int events_buffer = 0;
  int zmq_send_hwm = 0;
  int zmq_receive_hwm = 0;

  // Every effective setting: the cluster keys first, then every cachemesh.*
  // key, set or not.
  std::vector<Setting> settings;
  // "FILE:LINE: message": duplicate keys and dubious but usable values.
  std::vector<std::string> warnings;
};

// True for the keys cachemesh reads (cluster.* and cachemesh.*): ${...} is
// expanded in their values only. Every other dhis.conf key is ignored.
bool IsClusterOrCachemeshKey(absl::string_view key);

// Reads, parses and resolves a dhis.conf. On failure the status message lists
// every error, one per line ("FILE:LINE: message" or "FILE: message"), in
// line order.
absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const Environment& env);

// Resolves an already parsed file (errors as for LoadConfig).
absl::StatusOr<Config> ResolveConfig(const PropertiesFile& file);

// The --check_config report: this node, its peers, and an aligned table of
// every setting with its origin. cachemesh.http.token is never shown.
std::string FormatConfig(const Config& config);

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_CONFIG_H_
