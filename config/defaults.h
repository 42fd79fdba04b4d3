// The default of every setting that dhis.conf can change, written once.
//
// The component option structs (NodeOptions, MeshOptions, ...) initialise
// their fields from these constants, and the settings table (config/
// settings.h) documents and reads them through those structs, so a default
// cannot differ between the daemon, the simulator, the tests and the docs.
// Defaults that depend on the cluster view (the node id, the HTTP port, the
// app channel's path) are computed by the config reader from the cache port.
#ifndef CACHEMESH_CONFIG_DEFAULTS_H_
#define CACHEMESH_CONFIG_DEFAULTS_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cachemesh {
namespace defaults {

// This node and its peers.
inline constexpr int kCachePort = 4001;
// The HTTP port is the cache port plus this, unless set.
inline constexpr int kHttpPortOffset = 1000;

// Identity and interfaces.
inline constexpr absl::string_view kClusterName = "dhis2";
inline constexpr absl::string_view kBindAddress = "*";
inline constexpr absl::string_view kHttpAddress = "0.0.0.0";
inline constexpr absl::string_view kLogLevel = "info";

// The local application's health check.
inline constexpr absl::Duration kAppHealthInterval = absl::Milliseconds(1000);
inline constexpr absl::Duration kAppHealthTimeout = absl::Milliseconds(500);

// Membership and failure detection.
inline constexpr absl::Duration kHeartbeatInterval = absl::Milliseconds(50);
inline constexpr double kFailurePhiThreshold = 8.0;
inline constexpr absl::Duration kFailureAcceptablePause =
    absl::Milliseconds(500);
inline constexpr absl::Duration kFailureMinStddev = absl::Milliseconds(25);
inline constexpr absl::Duration kSuspicionMin = absl::Milliseconds(150);
inline constexpr absl::Duration kSuspicionMax = absl::Milliseconds(600);
inline constexpr absl::Duration kReapAfter = absl::Seconds(60);
inline constexpr absl::Duration kStartupSyncTimeout = absl::Seconds(5);

// Invalidation streams. A batch window of 0 is adaptive batching: what
// reached the event loop together goes out together, with no added delay.
inline constexpr absl::Duration kBatchMaxDelay = absl::ZeroDuration();
inline constexpr int kBatchMaxSize = 512;
inline constexpr int kRecoveryBuffer = 8192;
inline constexpr int kEventsBuffer = 65536;

// ZeroMQ.
inline constexpr int kZmqSendHwm = 100000;
inline constexpr int kZmqReceiveHwm = 100000;
inline constexpr absl::Duration kZmqHeartbeatInterval = absl::Seconds(1);
inline constexpr absl::Duration kZmqHeartbeatTimeout = absl::Seconds(3);
inline constexpr absl::Duration kZmqHeartbeatTtl = absl::Seconds(10);

// The Redis-protocol endpoint. The port is DHIS 2's redis.port default.
inline constexpr int kRedisPort = 6379;
// "auto": serve when DHIS 2's redis.cache.invalidation.enabled is on and
// redis.host is this machine's loopback.
inline constexpr absl::string_view kRedisMode = "auto";
inline constexpr int kRedisMaxOutputBytes = 64 << 20;
inline constexpr absl::Duration kRedisParkFor = absl::Seconds(10);
inline constexpr int kRedisParkMessages = 65536;

// The flush action. DHIS 2 takes a personal access token as
// "Authorization: ApiToken <token>".
inline constexpr absl::string_view kFlushMethod = "POST";
inline constexpr absl::string_view kFlushTokenEnv = "CACHEMESH_FLUSH_TOKEN";
inline constexpr absl::string_view kFlushAuthScheme = "ApiToken";
inline constexpr absl::Duration kFlushRetry = absl::Seconds(5);
inline constexpr absl::Duration kFlushTimeout = absl::Seconds(30);
inline constexpr absl::Duration kFlushCoalesce = absl::Seconds(1);

}  // namespace defaults
}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_DEFAULTS_H_
