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

// The Redis-protocol endpoint that stands in for DHIS 2's Redis: from
// DHIS 2's own redis.* keys (read as DHIS 2 reads them) and cachemesh.redis.*.
struct RedisEndpoint {
  bool enabled = false;
  // Why it is on or off, for --check_config and the start-up log, e.g.
  // "redis.cache.invalidation.enabled = on (dhis.conf:12)".
  std::string because;
  // Loopback addresses to listen on ("localhost": 127.0.0.1 and ::1).
  std::vector<std::string> addresses;
  int port = defaults::kRedisPort;
  // redis.password, byte for byte as DHIS 2 sends it; empty: any password,
  // the empty one included, is accepted. A secret.
  std::string password;
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

  RedisEndpoint redis;
  // cachemesh.redis.enabled: "auto", "on" or "off".
  std::string redis_mode = std::string(defaults::kRedisMode);
  // cachemesh.redis.*: the endpoint's buffers (see RedisServerOptions).
  int redis_max_output_bytes = defaults::kRedisMaxOutputBytes;
  absl::Duration redis_park_for = defaults::kRedisParkFor;
  int redis_park_messages = defaults::kRedisParkMessages;

  // The flush action (cachemesh.flush.*): what makes the local app drop its
  // caches when it may have missed invalidations. Empty url: none.
  std::string flush_url;
  std::string flush_method = std::string(defaults::kFlushMethod);
  // The environment variable that holds the token, and the scheme it is
  // sent with: "Authorization: <scheme> <token>".
  std::string flush_token_env = std::string(defaults::kFlushTokenEnv);
  std::string flush_auth_scheme = std::string(defaults::kFlushAuthScheme);
  // The header value, from the environment at load time; empty when the
  // variable is unset or empty. A secret.
  std::string flush_authorization;
  absl::Duration flush_retry = defaults::kFlushRetry;
  absl::Duration flush_timeout = defaults::kFlushTimeout;
  absl::Duration flush_coalesce = defaults::kFlushCoalesce;

  // Every effective setting: the cluster keys first, then every cachemesh.*
  // key, set or not.
  std::vector<Setting> settings;
  // "FILE:LINE: message": duplicate keys and dubious but usable values.
  std::vector<std::string> warnings;
};

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_CONFIG_TYPES_H_
