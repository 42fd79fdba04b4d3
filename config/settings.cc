#include "config/settings.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "net/app_endpoint.h"
#include "service/health_url.h"
#include "service/log.h"

namespace cachemesh {
namespace {

constexpr int64_t kOneDayMillis = int64_t{24} * 60 * 60 * 1000;
constexpr int64_t kOneSecondMicros = 1000 * 1000;
constexpr int64_t kMaxCount = std::numeric_limits<int>::max();
// sizeof(sockaddr_un::sun_path) minus its terminating NUL.
constexpr size_t kMaxIpcPathBytes = 107;

// --- Text syntaxes. ---

bool HasSpaceOrControl(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
  });
}

// A cluster name or node id: some printable text without whitespace.
absl::StatusOr<std::string> ParseName(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("must not be empty");
  if (HasSpaceOrControl(text)) {
    return Invalid(text, "must not contain whitespace or control characters");
  }
  return std::string(text);
}

absl::StatusOr<std::string> ParseBindAddress(absl::string_view text) {
  if (text == "*") return std::string(text);
  return ParseHost(text);
}

absl::StatusOr<std::string> ParseHttpAddress(absl::string_view text) {
  if (text == "*") {
    return Invalid(text,
                   "is not an address: write 0.0.0.0 (or :: for IPv6) "
                   "for all interfaces");
  }
  return ParseHost(text);
}

absl::StatusOr<std::string> ParseAnyText(absl::string_view text) {
  return std::string(text);
}

// Empty, or a URL the prober accepts (its own check).
absl::StatusOr<std::string> ParseAppHealthUrl(absl::string_view text) {
  if (text.empty()) return std::string(text);
  if (HasSpaceOrControl(text)) {
    return Invalid(text, "must not contain whitespace or control characters");
  }
  absl::StatusOr<HealthUrl> url = ParseHealthUrl(std::string(text));
  if (!url.ok()) return url.status();
  return std::string(text);
}

// Where local applications reach the daemon: a Unix socket. The channel is
// local and unauthenticated; the app channel's own check has the last word.
absl::StatusOr<std::string> ParseClientEndpoint(absl::string_view text) {
  absl::string_view path = text;
  if (!absl::ConsumePrefix(&path, "ipc://")) {
    return Invalid(text,
                   "must be ipc://PATH: the app channel is local and "
                   "unauthenticated, so tcp:// is refused");
  }
  if (path.empty()) return Invalid(text, "has no socket path after ipc://");
  if (path.size() > kMaxIpcPathBytes) {
    return Invalid(text,
                   absl::StrCat("has a socket path of ", path.size(),
                                " bytes; the limit is ", kMaxIpcPathBytes));
  }
  if (HasSpaceOrControl(text)) {
    return Invalid(text, "must not contain whitespace or control characters");
  }
  if (absl::Status valid = net::ValidateAppEndpoint(text); !valid.ok()) {
    return valid;
  }
  return std::string(text);
}

// The logger's own names, in any case; kept lower-case.
absl::StatusOr<std::string> ParseLogLevelName(absl::string_view text) {
  std::string level = absl::AsciiStrToLower(text);
  if (!ParseLogLevel(level).ok()) {
    return Invalid(text, "is not a log level: debug, info, warning or error");
  }
  return level;
}

absl::StatusOr<std::string> ParseRedisMode(absl::string_view text) {
  std::string mode = absl::AsciiStrToLower(text);
  if (mode == "auto" || mode == "on" || mode == "off") return mode;
  return Invalid(text, "must be auto, on or off");
}

// Empty, or a URL the flush action can request.
absl::StatusOr<std::string> ParseFlushUrl(absl::string_view text) {
  return ParseAppHealthUrl(text);
}

absl::StatusOr<std::string> ParseFlushMethod(absl::string_view text) {
  std::string method = absl::AsciiStrToUpper(text);
  if (method == "POST" || method == "PUT" || method == "GET") return method;
  return Invalid(text, "must be POST, PUT or GET");
}

// Empty (no token), or an environment variable's name.
absl::StatusOr<std::string> ParseVariableName(absl::string_view text) {
  const bool valid =
      text.empty() ||
      ((absl::ascii_isalpha(text[0]) || text[0] == '_') &&
       std::all_of(text.begin(), text.end(), [](char c) {
         return absl::ascii_isalnum(c) || c == '_';
       }));
  if (!valid) {
    return Invalid(text,
                   "is not an environment variable name (letters, digits "
                   "and _, not starting with a digit)");
  }
  return std::string(text);
}

// --- The table. ---

SettingSpec Text(std::string key, TextField field,
                 absl::StatusOr<std::string> (*syntax)(absl::string_view),
                 std::string syntax_doc) {
  SettingSpec spec;
  spec.key = std::move(key);
  spec.kind = SettingKind::kText;
  spec.field = field;
  spec.syntax = syntax;
  spec.syntax_doc = std::move(syntax_doc);
  return spec;
}

SettingSpec Number(std::string key, SettingKind kind, SettingField field,
                   int64_t min, int64_t max) {
  SettingSpec spec;
  spec.key = std::move(key);
  spec.kind = kind;
  spec.field = field;
  spec.min = min;
  spec.max = max;
  return spec;
}

SettingSpec Millis(std::string key, DurationField field, int64_t min,
                   int64_t max = kOneDayMillis) {
  return Number(std::move(key), SettingKind::kMilliseconds, field, min, max);
}

SettingSpec Count(std::string key, IntField field, int64_t min) {
  return Number(std::move(key), SettingKind::kCount, field, min, kMaxCount);
}

// Fills in what every row has: documentation, the option it sets, reload.
SettingSpec Doc(SettingSpec spec, std::string sets, std::string doc,
                bool live = false) {
  spec.sets = std::move(sets);
  spec.doc = std::move(doc);
  spec.live = live;
  return spec;
}

SettingSpec With(SettingSpec spec, std::vector<SpecialValue> special) {
  spec.special = std::move(special);
  return spec;
}

// The Redis-protocol endpoint and the flush action.
void AddRedisAndFlushRows(std::vector<SettingSpec>& table) {
  table.push_back(Doc(
      Text(
          "cachemesh.redis.enabled",
          [](Config& c) -> std::string& { return c.redis_mode; },
          ParseRedisMode, "`auto`, `on`, `off`"),
      "RedisServer",
      "The Redis-protocol endpoint on loopback, where an unchanged DHIS 2 "
      "publishes and subscribes its cache invalidations. `auto`: on when "
      "DHIS 2's `redis.cache.invalidation.enabled` is on and `redis.host` is "
      "this machine's loopback; `on`: also for apps that are not DHIS 2. It "
      "listens on `redis.port` (see below)."));
  table.push_back(Doc(
      Count(
          "cachemesh.redis.max.output.bytes",
          [](Config& c) -> int& { return c.redis_max_output_bytes; }, 1024),
      "RedisServerOptions.max_output_bytes",
      "Bytes a Redis subscriber may leave unread. Beyond it the subscriber is "
      "disconnected (it reconnects by itself) and the flush action runs."));
  table.push_back(Doc(
      With(Millis(
               "cachemesh.redis.park.ms",
               [](Config& c) -> absl::Duration& { return c.redis_park_for; },
               0),
           {{0, "keep none"}}),
      "RedisServerOptions.park_for",
      "When a subscriber goes away without unsubscribing (a client "
      "reconnecting), how long its channel's messages are kept and replayed "
      "to whoever subscribes to it. If it has not come back by then, the "
      "flush action runs."));
  table.push_back(Doc(
      With(Count(
               "cachemesh.redis.park.messages",
               [](Config& c) -> int& { return c.redis_park_messages; }, 1),
           {{0, "keep none"}}),
      "RedisServerOptions.park_max_messages",
      "Most messages kept that way, over all channels (and at most 64 MiB); "
      "beyond it the oldest are dropped and the flush action runs."));
  table.push_back(Doc(
      Text(
          "cachemesh.flush.url",
          [](Config& c) -> std::string& { return c.flush_url; },
          ParseFlushUrl, "`http://` URL"),
      "FlushActionOptions.url",
      "What makes the local app drop all its caches when it may have missed "
      "invalidations (an unrecoverable loss, a restart of this daemon, a "
      "subscriber that fell behind, a received `CLEAR_ALL`). For DHIS 2: "
      "`http://127.0.0.1:8080/api/maintenance/cacheClear` (with its context "
      "path). Until it succeeds, `/health` answers 503. Empty: no action."));
  table.push_back(Doc(
      Text(
          "cachemesh.flush.method",
          [](Config& c) -> std::string& { return c.flush_method; },
          ParseFlushMethod, "`POST`, `PUT`, `GET`"),
      "FlushActionOptions.method", "The flush action's HTTP method."));
  table.push_back(Doc(
      Text(
          "cachemesh.flush.token.env",
          [](Config& c) -> std::string& { return c.flush_token_env; },
          ParseVariableName, "an environment variable's name"),
      "FlushActionOptions.authorization",
      "The environment variable that holds the flush action's token (for "
      "DHIS 2 a personal access token with authority F_PERFORM_MAINTENANCE). "
      "Unset or empty: no Authorization header. The token is never printed."));
  table.push_back(Doc(
      Text(
          "cachemesh.flush.auth.scheme",
          [](Config& c) -> std::string& { return c.flush_auth_scheme; },
          ParseName, "text without whitespace"),
      "FlushActionOptions.authorization",
      "Sent as `Authorization: <scheme> <token>`; DHIS 2 takes `ApiToken`."));
  table.push_back(Doc(
      Millis(
          "cachemesh.flush.retry.ms",
          [](Config& c) -> absl::Duration& { return c.flush_retry; }, 1),
      "FlushActionOptions.retry_interval",
      "How long after a failed flush action it is tried again."));
  table.push_back(Doc(
      Millis(
          "cachemesh.flush.timeout.ms",
          [](Config& c) -> absl::Duration& { return c.flush_timeout; }, 1),
      "FlushActionOptions.timeout",
      "How long one flush request may take (clearing caches can be slow)."));
  table.push_back(Doc(
      Millis(
          "cachemesh.flush.coalesce.ms",
          [](Config& c) -> absl::Duration& { return c.flush_coalesce; }, 0),
      "FlushActionOptions.coalesce",
      "Flushes asked for within this time of the last run share one "
      "follow-up run, so a burst of losses clears the app's caches at most "
      "twice (a guard against database stampedes)."));
}

std::vector<SettingSpec> BuildSettings() {
  std::vector<SettingSpec> table;
  table.push_back(Doc(
      Text(
          "cachemesh.cluster.name",
          [](Config& c) -> std::string& { return c.node.cluster; }, ParseName,
          "text without whitespace"),
      "NodeOptions.cluster",
      "The cluster's name. Messages from another cluster are dropped, so two "
      "clusters can share a network."));
  SettingSpec node_id =
      Doc(Text(
              "cachemesh.node.id",
              [](Config& c) -> std::string& { return c.node.id; }, ParseName,
              "text without whitespace"),
          "NodeOptions.id",
          "This member's id; must be unique in the cluster and stable across "
          "restarts. An IPv6 hostname is bracketed: `[fd00::1]:4001`.");
  node_id.default_doc = "`<hostname>:<cache port>`";
  table.push_back(std::move(node_id));
  table.push_back(
      Doc(Text(
              "cachemesh.bind.address",
              [](Config& c) -> std::string& { return c.bind_address; },
              ParseBindAddress, "`*` or an address"),
          "mesh bind address",
          "The interface the cache port is bound on; `*` is all interfaces. "
          "IPv6 with or without brackets."));
  table.push_back(
      Doc(Text(
              "cachemesh.http.address",
              [](Config& c) -> std::string& { return c.http_address; },
              ParseHttpAddress, "an address"),
          "HttpServerOptions.address",
          "Where the HTTP API (health, members, invalidations, events) "
          "listens. Use `::` for all IPv6 interfaces; `*` is not accepted."));
  SettingSpec http_port = Doc(
      Number(
          "cachemesh.http.port", SettingKind::kPort,
          [](Config& c) -> int& { return c.http_port; }, 1, 65535),
      "HttpServerOptions.port",
      "The HTTP API's port. Must differ from the cache port. If the default "
      "would exceed 65535, it must be set.");
  http_port.default_doc = "cache port + 1000";
  table.push_back(std::move(http_port));
  SettingSpec token = Doc(
      Text(
          "cachemesh.http.token",
          [](Config& c) -> std::string& { return c.http_token; }, ParseAnyText,
          "text"),
      "HttpServerOptions.token",
      "Secret that mutating HTTP endpoints and the event stream require from "
      "clients that are not on loopback. Empty: those endpoints answer "
      "loopback clients only. Never printed.",
      /*live=*/true);
  token.secret = true;
  table.push_back(std::move(token));
  table.push_back(
      Doc(Text(
              "cachemesh.app.health.url",
              [](Config& c) -> std::string& { return c.app_health_url; },
              ParseAppHealthUrl, "`http://` URL"),
          "AppHealthOptions.url",
          "The local application's health URL, polled to decide whether this "
          "node may take traffic. Empty: no application check."));
  table.push_back(Doc(
      Millis(
          "cachemesh.app.health.interval.ms",
          [](Config& c) -> absl::Duration& { return c.app_health_interval; },
          1),
      "AppHealthOptions.interval", "How often the health URL is polled."));
  table.push_back(Doc(
      Millis(
          "cachemesh.app.health.timeout.ms",
          [](Config& c) -> absl::Duration& { return c.app_health_timeout; }, 1),
      "AppHealthOptions.timeout",
      "How long one poll may take. A timeout above the interval is a "
      "warning."));
  table.push_back(Doc(
      Millis(
          "cachemesh.heartbeat.interval.ms",
          [](Config& c) -> absl::Duration& {
            return c.node.heartbeat_interval;
          },
          1),
      "NodeOptions.heartbeat_interval",
      "How often this node sends a heartbeat (which also carries membership "
      "gossip)."));
  table.push_back(
      Doc(Number(
              "cachemesh.failure.phi.threshold", SettingKind::kNumber,
              [](Config& c) -> double& {
                return c.node.failure_detector.phi_threshold;
              },
              0, 0),
          "FailureDetectorOptions.phi_threshold",
          "Phi accrual failure detector: a peer is suspected when phi exceeds "
          "this. Higher is slower but surer."));
  table.push_back(
      Doc(Millis(
              "cachemesh.failure.acceptable.pause.ms",
              [](Config& c) -> absl::Duration& {
                return c.node.failure_detector.acceptable_pause;
              },
              0),
          "FailureDetectorOptions.acceptable_pause",
          "A heartbeat gap tolerated on top of the usual interval before phi "
          "rises (GC pauses, hiccups)."));
  table.push_back(Doc(
      Millis(
          "cachemesh.failure.min.stddev.ms",
          [](Config& c) -> absl::Duration& {
            return c.node.failure_detector.min_stddev;
          },
          1),
      "FailureDetectorOptions.min_stddev",
      "The least standard deviation of heartbeat gaps the detector assumes, "
      "so a very regular peer is not suspected at the first late beat."));
  table.push_back(Doc(
      Millis(
          "cachemesh.suspicion.min.ms",
          [](Config& c) -> absl::Duration& { return c.node.suspicion.min; }, 1),
      "SuspicionOptions.min",
      "The shortest time a SUSPECT member has to refute before it is declared "
      "DEAD. Must not exceed `suspicion.max.ms`."));
  table.push_back(Doc(
      Millis(
          "cachemesh.suspicion.max.ms",
          [](Config& c) -> absl::Duration& { return c.node.suspicion.max; }, 1),
      "SuspicionOptions.max", "The longest such time."));
  table.push_back(Doc(
      Millis(
          "cachemesh.reap.after.ms",
          [](Config& c) -> absl::Duration& { return c.node.reap_after; }, 1),
      "NodeOptions.reap_after",
      "DEAD and LEFT members are forgotten after this."));
  table.push_back(Doc(
      With(Number(
               "cachemesh.batch.max.delay.us", SettingKind::kMicroseconds,
               [](Config& c) -> absl::Duration& {
                 return c.node.streams.batch_max_delay;
               },
               0, kOneSecondMicros),
           {{0, "adaptive batching"}}),
      "StreamOptions.batch_max_delay",
      "How long an invalidation may wait for others to share its batch. 0 "
      "(adaptive batching): everything that reached the event loop together "
      "goes out in one batch, with no added delay. A positive window is "
      "honoured to the loop's timer resolution of 1 ms."));
  table.push_back(Doc(
      Count(
          "cachemesh.batch.max.size",
          [](Config& c) -> int& { return c.node.streams.batch_max_size; }, 1),
      "StreamOptions.batch_max_size",
      "Most invalidations in one batch. Must not exceed `recovery.buffer`."));
  table.push_back(Doc(
      Count(
          "cachemesh.recovery.buffer",
          [](Config& c) -> int& { return c.node.streams.recovery_buffer; }, 1),
      "StreamOptions.recovery_buffer",
      "Invalidations kept per stream for retransmission after a loss. A loss "
      "older than this makes receivers flush their caches."));
  table.push_back(
      Doc(With(Millis(
                   "cachemesh.startup.sync.timeout.ms",
                   [](Config& c) -> absl::Duration& {
                     return c.node.startup_sync_timeout;
                   },
                   0),
               {{0, "do not wait"}}),
          "NodeOptions.startup_sync_timeout",
          "At startup, how long this node waits to catch up with its peers."));
  SettingSpec endpoint = Doc(
      Text(
          "cachemesh.client.endpoint",
          [](Config& c) -> std::string& { return c.client_endpoint; },
          ParseClientEndpoint, "`ipc://PATH`"),
      "AppServer endpoint",
      "Where local applications connect to the daemon (ZeroMQ). The channel "
      "is local and unauthenticated, so only `ipc://` is accepted (a Unix "
      "socket, guarded by its file's permissions); `tcp://` is refused. The "
      "path may be at most 107 bytes.");
  endpoint.default_doc = "`ipc:///tmp/cachemesh-<cache port>.sock`";
  table.push_back(std::move(endpoint));
  table.push_back(
      Doc(Count(
              "cachemesh.events.buffer",
              [](Config& c) -> int& { return c.events_buffer; }, 1),
          "EventLog capacity",
          "Events kept so an SSE client can resume with `Last-Event-ID`."));
  table.push_back(
      Doc(Text(
              "cachemesh.log.level",
              [](Config& c) -> std::string& { return c.log_level; },
              ParseLogLevelName, "`debug`, `info`, `warning`, `error`"),
          "Logger level", "Least severe message logged (case-insensitive).",
          /*live=*/true));
  table.push_back(
      Doc(With(Count(
                   "cachemesh.zmq.send.hwm",
                   [](Config& c) -> int& { return c.mesh.send_hwm; }, 1),
               {{0, "unlimited"}}),
          "MeshOptions.send_hwm",
          "ZeroMQ send high-water mark (`ZMQ_SNDHWM`), in messages queued per "
          "peer. Unlimited lets a stalled peer take unbounded memory."));
  table.push_back(
      Doc(With(Count(
                   "cachemesh.zmq.receive.hwm",
                   [](Config& c) -> int& { return c.mesh.receive_hwm; }, 1),
               {{0, "unlimited"}}),
          "MeshOptions.receive_hwm",
          "ZeroMQ receive high-water mark (`ZMQ_RCVHWM`), in messages."));
  table.push_back(
      Doc(With(Millis(
                   "cachemesh.zmq.heartbeat.interval.ms",
                   [](Config& c) -> absl::Duration& {
                     return c.mesh.zmtp_heartbeat_interval;
                   },
                   1),
               {{0, "off"}}),
          "MeshOptions.zmtp_heartbeat_interval",
          "ZeroMQ connection heartbeat interval (`ZMQ_HEARTBEAT_IVL`)."));
  table.push_back(
      Doc(With(Millis(
                   "cachemesh.zmq.heartbeat.timeout.ms",
                   [](Config& c) -> absl::Duration& {
                     return c.mesh.zmtp_heartbeat_timeout;
                   },
                   1),
               {{0, "the interval"}}),
          "MeshOptions.zmtp_heartbeat_timeout",
          "How long a ZeroMQ connection waits for traffic after a heartbeat "
          "(`ZMQ_HEARTBEAT_TIMEOUT`)."));
  SettingSpec ttl = Doc(
      With(Millis(
               "cachemesh.zmq.heartbeat.ttl.ms",
               [](Config& c) -> absl::Duration& {
                 return c.mesh.zmtp_heartbeat_ttl;
               },
               absl::ToInt64Milliseconds(net::kMinZmtpHeartbeatTtl),
               absl::ToInt64Milliseconds(net::kMaxZmtpHeartbeatTtl) - 1),
           {{0, "none"}}),
      "MeshOptions.zmtp_heartbeat_ttl",
      "The heartbeat time-to-live sent to peers (`ZMQ_HEARTBEAT_TTL`), sent "
      "in tenths of a second. 65000 and above is an error: libzmq overflows "
      "such TTLs and drops every connection at each heartbeat (libzmq issue "
      "#4226).");
  ttl.max_reason =
      "larger TTLs overflow in libzmq and drop every connection at each "
      "heartbeat (libzmq issue #4226)";
  table.push_back(std::move(ttl));
  AddRedisAndFlushRows(table);
  return table;
}

absl::string_view UnitName(SettingKind kind) {
  switch (kind) {
    case SettingKind::kMilliseconds:
      return "milliseconds";
    case SettingKind::kMicroseconds:
      return "microseconds";
    default:
      return "";
  }
}

absl::string_view UnitShort(SettingKind kind) {
  switch (kind) {
    case SettingKind::kMilliseconds:
      return "ms";
    case SettingKind::kMicroseconds:
      return "µs";
    case SettingKind::kCount:
      return "count";
    default:
      return "";
  }
}

const SpecialValue* FindSpecial(const SettingSpec& spec, int64_t value) {
  for (const SpecialValue& special : spec.special) {
    if (special.value == value) return &special;
  }
  return nullptr;
}

// "0 (off) or from 1 to 86400000 milliseconds".
std::string AllowedRange(const SettingSpec& spec) {
  std::vector<std::string> specials;
  for (const SpecialValue& special : spec.special) {
    if (special.value < spec.min || special.value > spec.max) {
      specials.push_back(
          absl::StrCat(special.value, " (", special.meaning, ")"));
    }
  }
  const absl::string_view unit = UnitName(spec.kind);
  return absl::StrCat(absl::StrJoin(specials, ", "),
                      specials.empty() ? "" : " or ", "from ", spec.min, " to ",
                      spec.max, unit.empty() ? "" : " ", unit);
}

absl::StatusOr<int64_t> ParseWhole(const SettingSpec& spec,
                                   absl::string_view text) {
  absl::StatusOr<int64_t> value = ParseInteger(
      text, std::numeric_limits<int64_t>::min() / 2,
      std::numeric_limits<int64_t>::max() / 2, UnitName(spec.kind));
  if (!value.ok()) return value.status();
  const bool in_range = *value >= spec.min && *value <= spec.max;
  if (!in_range && FindSpecial(spec, *value) == nullptr) {
    const bool explained = *value > spec.max && !spec.max_reason.empty();
    return Invalid(text, absl::StrCat("is out of range: must be ",
                                      AllowedRange(spec), explained ? ": " : "",
                                      explained ? spec.max_reason : ""));
  }
  return value;
}

// Stores `value` in the row's field, converting it to the field's type.
struct Store {
  Store(Config& config, const SettingSpec& spec) : config(config), spec(spec) {}

  Config& config;
  const SettingSpec& spec;
  int64_t whole = 0;
  double number = 0;
  std::string text;

  void operator()(TextField field) const { field(config) = text; }
  void operator()(IntField field) const {
    field(config) = static_cast<int>(whole);
  }
  void operator()(NumberField field) const { field(config) = number; }
  void operator()(DurationField field) const {
    field(config) = spec.kind == SettingKind::kMicroseconds
                        ? absl::Microseconds(whole)
                        : absl::Milliseconds(whole);
  }
};

std::string DurationText(const SettingSpec& spec, absl::Duration value) {
  return absl::StrCat(spec.kind == SettingKind::kMicroseconds
                          ? absl::ToInt64Microseconds(value)
                          : absl::ToInt64Milliseconds(value));
}

std::string EscapeTableCell(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"|", "\\|"}});
}

}  // namespace

const std::vector<SettingSpec>& Settings() {
  static const std::vector<SettingSpec>* const kSettings =
      new std::vector<SettingSpec>(BuildSettings());
  return *kSettings;
}

const SettingSpec* FindSetting(absl::string_view key) {
  for (const SettingSpec& spec : Settings()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

const std::vector<Dhis2Key>& Dhis2RedisKeys() {
  static const auto* const kKeys = new std::vector<Dhis2Key>{
      {"redis.cache.invalidation.enabled", "off"},
      {"redis.host", "localhost"},
      {"redis.port", "6379"},
      {"redis.password", "", /*secret=*/true},
      {"redis.use.ssl", "off"},
      {"redis.enabled", "off"},
  };
  return *kKeys;
}

const Dhis2Key* FindDhis2Key(absl::string_view key) {
  for (const Dhis2Key& dhis2_key : Dhis2RedisKeys()) {
    if (dhis2_key.key == key) return &dhis2_key;
  }
  return nullptr;
}

bool IsSecretKey(absl::string_view key) {
  if (const Dhis2Key* dhis2_key = FindDhis2Key(key)) return dhis2_key->secret;
  const SettingSpec* spec = FindSetting(key);
  return spec != nullptr && spec->secret;
}

absl::Status ApplySetting(const SettingSpec& spec, absl::string_view text,
                          Config& config) {
  Store store(config, spec);
  switch (spec.kind) {
    case SettingKind::kText: {
      absl::StatusOr<std::string> value = spec.syntax(text);
      if (!value.ok()) return value.status();
      store.text = *std::move(value);
      break;
    }
    case SettingKind::kPort: {
      absl::StatusOr<int> port = ParsePort(text);
      if (!port.ok()) return port.status();
      store.whole = *port;
      break;
    }
    case SettingKind::kNumber: {
      absl::StatusOr<double> number = ParsePositiveNumber(text);
      if (!number.ok()) return number.status();
      store.number = *number;
      break;
    }
    case SettingKind::kCount:
    case SettingKind::kMilliseconds:
    case SettingKind::kMicroseconds: {
      absl::StatusOr<int64_t> whole = ParseWhole(spec, text);
      if (!whole.ok()) return whole.status();
      store.whole = *whole;
      break;
    }
  }
  std::visit(store, spec.field);
  return absl::OkStatus();
}

std::string SettingValueText(const SettingSpec& spec, const Config& config) {
  // The accessors take a mutable Config; reading through them changes nothing.
  Config& readable = const_cast<Config&>(config);
  return std::visit(
      [&](auto field) -> std::string {
        using Field = decltype(field);
        if constexpr (std::is_same_v<Field, TextField>) {
          return field(readable);
        } else if constexpr (std::is_same_v<Field, DurationField>) {
          return DurationText(spec, field(readable));
        } else {
          return absl::StrCat(field(readable));
        }
      },
      spec.field);
}

std::string SettingDefaultText(const SettingSpec& spec) {
  if (!spec.default_doc.empty()) return spec.default_doc;
  const std::string value = SettingValueText(spec, Config());
  return value.empty() ? "empty" : absl::StrCat("`", value, "`");
}

std::string SettingRangeText(const SettingSpec& spec) {
  switch (spec.kind) {
    case SettingKind::kText:
      return spec.syntax_doc;
    case SettingKind::kPort:
      return "port 1..65535";
    case SettingKind::kNumber:
      return "number > 0";
    default:
      break;
  }
  std::string range =
      absl::StrCat(UnitShort(spec.kind), ", ", spec.min, "..", spec.max);
  for (const SpecialValue& special : spec.special) {
    absl::StrAppend(&range, "; ", special.value, ": ", special.meaning);
  }
  return range;
}

std::string SettingsMarkdownTable() {
  std::string out =
      "| key | default | unit, range | SIGHUP | meaning |\n"
      "| --- | --- | --- | --- | --- |\n";
  for (const SettingSpec& spec : Settings()) {
    absl::StrAppend(&out, "| `", spec.key, "` | ",
                    EscapeTableCell(SettingDefaultText(spec)), " | ",
                    EscapeTableCell(SettingRangeText(spec)), " | ",
                    spec.live ? "live" : "restart", " | ",
                    EscapeTableCell(spec.doc), " |\n");
  }
  return out;
}

}  // namespace cachemesh
