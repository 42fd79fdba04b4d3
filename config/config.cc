#include "config/config.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "config/settings.h"
#include "net/app_endpoint.h"

namespace cachemesh {
namespace {

constexpr int kDefaultCachePort = defaults::kCachePort;
constexpr int kMaxPort = 65535;
// Unknown keys longer than this get no "did you mean" hint.
constexpr size_t kMaxHintedKeyBytes = 200;

constexpr absl::string_view kClusterPrefix = "cluster.";
constexpr absl::string_view kCachemeshPrefix = "cachemesh.";
constexpr absl::string_view kHostnameKey = "cluster.hostname";
constexpr absl::string_view kCachePortKey = "cluster.cache.port";
constexpr absl::string_view kMembersKey = "cluster.members";
// Read by DHIS 2 (for Ehcache RMI), accepted and not used by cachemesh.
constexpr absl::string_view kRemoteObjectPortKey =
    "cluster.cache.remote.object.port";
constexpr absl::string_view kLegacyPrefix = "cluster.instance";
constexpr absl::string_view kLegacyHostnameField = "hostname";
constexpr absl::string_view kLegacyPortField = "cache.port";
constexpr absl::string_view kLegacyRemoteObjectPortField =
    "cache.remote.object.port";
constexpr absl::string_view kHttpPortKey = "cachemesh.http.port";
constexpr absl::string_view kDefaultOrigin = "default";

// ---------------------------------------------------------------------------
// Keys.
// ---------------------------------------------------------------------------

// cluster.instanceN.FIELD, N in canonical decimal (no leading zeros).
struct LegacyKey {
  std::string instance;
  std::string field;
};

std::optional<LegacyKey> ParseLegacyKey(absl::string_view key) {
  if (!absl::ConsumePrefix(&key, kLegacyPrefix)) return std::nullopt;
  const size_t digits =
      std::find_if_not(key.begin(), key.end(), absl::ascii_isdigit) -
      key.begin();
  if (digits == 0 || (digits > 1 && key[0] == '0')) return std::nullopt;
  const absl::string_view instance = key.substr(0, digits);
  key.remove_prefix(digits);
  if (!absl::ConsumePrefix(&key, ".")) return std::nullopt;
  if (key != kLegacyHostnameField && key != kLegacyPortField &&
      key != kLegacyRemoteObjectPortField) {
    return std::nullopt;
  }
  return LegacyKey{std::string(instance), std::string(key)};
}

std::string LegacyKeyName(absl::string_view instance, absl::string_view field) {
  return absl::StrCat(kLegacyPrefix, instance, ".", field);
}

bool IsModernClusterKey(absl::string_view key) {
  return key == kHostnameKey || key == kCachePortKey || key == kMembersKey;
}

// Instance numbers in numeric order, however long.
struct InstanceOrder {
  bool operator()(const std::string& a, const std::string& b) const {
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
  }
};

// Levenshtein distance, or limit + 1 when it is certainly above `limit`.
size_t EditDistance(absl::string_view a, absl::string_view b, size_t limit) {
  const size_t length_gap =
      a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (length_gap > limit) return limit + 1;
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] != b[j - 1]);
      current[j] =
          std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

absl::string_view LastSegment(absl::string_view key) {
  const size_t dot = key.rfind('.');
  return dot == absl::string_view::npos ? key : key.substr(dot + 1);
}

// The closest candidate to `key`, if close enough to be a likely typo. Ties
// go to a candidate ending in the same segment (".port", ".ms", ...).
std::optional<std::string> ClosestKey(
    absl::string_view key, const std::vector<std::string>& candidates) {
  if (key.size() > kMaxHintedKeyBytes) return std::nullopt;
  std::optional<std::string> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  bool best_same_end = false;
  for (const std::string& candidate : candidates) {
    const size_t limit = std::max<size_t>(3, candidate.size() / 3);
    const size_t distance = EditDistance(key, candidate, limit);
    if (distance > limit) continue;
    const bool same_end = LastSegment(key) == LastSegment(candidate);
    if (distance < best_distance ||
        (distance == best_distance && same_end && !best_same_end)) {
      best = candidate;
      best_distance = distance;
      best_same_end = same_end;
    }
  }
  return best;
}

// The legacy keys an unknown cluster.* key may have meant: with the key's own
// instance number (without leading zeros), else the pattern itself.
std::vector<std::string> LegacyCandidates(absl::string_view key) {
  if (!absl::StartsWith(key, kClusterPrefix)) return {};
  std::string instance = "N";
  if (absl::ConsumePrefix(&key, kLegacyPrefix)) {
    const size_t digits =
        std::find_if_not(key.begin(), key.end(), absl::ascii_isdigit) -
        key.begin();
    if (digits > 0) {
      absl::string_view number = key.substr(0, digits);
      while (number.size() > 1 && number.front() == '0')
        number.remove_prefix(1);
      instance = std::string(number);
    }
  }
  return {LegacyKeyName(instance, kLegacyHostnameField),
          LegacyKeyName(instance, kLegacyPortField),
          LegacyKeyName(instance, kLegacyRemoteObjectPortField)};
}

std::string LowerAddress(const Peer& peer) {
  return absl::AsciiStrToLower(peer.address());
}

// ---------------------------------------------------------------------------
// Resolution.
// ---------------------------------------------------------------------------

// DHIS 2's keys for its Redis, which cachemesh reads as DHIS 2 does: unset
// ${VAR}s stay as text, and nothing is refused that DHIS 2 would take.
constexpr absl::string_view kRedisInvalidationKey =
    "redis.cache.invalidation.enabled";
constexpr absl::string_view kRedisHostKey = "redis.host";
constexpr absl::string_view kRedisPortKey = "redis.port";
constexpr absl::string_view kRedisPasswordKey = "redis.password";
constexpr absl::string_view kRedisSslKey = "redis.use.ssl";
constexpr absl::string_view kRedisEnabledKey = "redis.enabled";
constexpr absl::string_view kRedisModeKey = "cachemesh.redis.enabled";

bool IsClusterOrCachemeshKey(absl::string_view key) {
  return absl::StartsWith(key, kClusterPrefix) ||
         absl::StartsWith(key, kCachemeshPrefix);
}

bool IsDhis2RedisKey(absl::string_view key) {
  return FindDhis2Key(key) != nullptr;
}

// DHIS 2's reading of a boolean key: "on" or "true", in any case.
bool IsOn(absl::string_view value) {
  return absl::EqualsIgnoreCase(value, "on") ||
         absl::EqualsIgnoreCase(value, "true");
}

// The loopback addresses `host` names, or none when it names another
// machine. "localhost" may resolve to either family: both are served.
std::vector<std::string> LoopbackAddresses(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return {"127.0.0.1", "::1"};
  if (host == "::1" || host == "[::1]") return {"::1"};
  if (absl::StartsWith(host, "127.") && ParseHost(host).ok() &&
      std::count(host.begin(), host.end(), '.') == 3) {
    return {std::string(host)};
  }
  return {};
}

// Whether an http(s) URL's host is this machine's loopback.
bool IsLoopbackUrl(absl::string_view url) {
  absl::string_view rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  absl::StatusOr<Peer> server = ParseHostPort(rest, kDefaultCachePort);
  return server.ok() && !LoopbackAddresses(server->host).empty();
}

class Resolver {
 public:
  Resolver(const PropertiesFile& file, const Environment& env)
      : file_(file), env_(env) {}

  // Resolves everything it can; problems go to errors().
  Config Resolve() {
    Config config;
    config.file = file_.file_name;
    config.warnings = file_.warnings;
    settings_ = &config.settings;
    ResolveCluster(&config);
    ResolveCachemesh(&config);
    ResolveRedis(&config);
    ResolveFlushToken(&config);
    CheckCachemeshCombinations(config);
    CheckUnknownKeys();
    if (errors_.empty()) CheckComponents(config);
    config.warnings.insert(config.warnings.end(), warnings_.begin(),
                           warnings_.end());
    return config;
  }

  std::vector<Diagnostic>& errors() { return errors_; }

 private:
  std::string Where(const Property& property) const {
    return absl::StrCat(file_.file_name, ":", property.line);
  }

  void ErrorAt(const Property& property, absl::string_view message) {
    errors_.push_back({property.line, absl::StrCat(Where(property), ": ",
                                                   KeyForMessage(property.key),
                                                   ": ", message)});
  }

  void ErrorInFile(absl::string_view message) {
    errors_.push_back({0, absl::StrCat(file_.file_name, ": ", message)});
  }

  // At the key's line when it is set, else against the whole file.
  void ErrorAtKey(absl::string_view key, absl::string_view message) {
    if (const Property* property = file_.Find(key)) {
      ErrorAt(*property, message);
    } else {
      ErrorInFile(absl::StrCat(key, ": ", message));
    }
  }

  std::string Origin(const Property& property) const {
    std::string origin = Where(property);
    for (const Substitution& substitution : property.substitutions) {
      absl::StrAppend(
          &origin, substitution.from_environment ? ", environment ${" : ", ${",
          substitution.variable,
          substitution.from_environment ? "}" : "} unset: its default");
    }
    return origin;
  }

  void Record(absl::string_view key, std::string value, std::string origin) {
    settings_->push_back(
        {std::string(key), std::move(value), std::move(origin)});
  }

  // Reads the cluster key `key` with `parse`, falling back to `fallback`
  // when it is unset or wrong (wrong is reported), and records the
  // effective setting.
  template <typename T, typename Parse>
  T Read(absl::string_view key, const T& fallback, Parse parse) {
    known_keys_.emplace_back(key);
    const Property* property = file_.Find(key);
    if (property == nullptr) {
      Record(key, absl::StrCat(fallback), std::string(kDefaultOrigin));
      return fallback;
    }
    if (property->malformed) {  // Already reported by the parser.
      Record(key, property->value, Origin(*property));
      return fallback;
    }
    absl::StatusOr<T> value = parse(property->value);
    if (!value.ok()) {
      ErrorAt(*property, value.status().message());
      Record(key, property->value, Origin(*property));
      return fallback;
    }
    Record(key, absl::StrCat(*value), Origin(*property));
    return *std::move(value);
  }

  int ReadPort(absl::string_view key, int fallback) {
    return Read(key, fallback, ParsePort);
  }

  // A required hostname key; nullopt when it is wrong (reported).
  std::optional<std::string> ReadHost(const Property& property) {
    known_keys_.push_back(property.key);
    Record(property.key, property.value, Origin(property));
    if (property.malformed) return std::nullopt;
    absl::StatusOr<std::string> host = ParseHost(property.value);
    if (!host.ok()) {
      ErrorAt(property, host.status().message());
      return std::nullopt;
    }
    return *std::move(host);
  }

  // --- The cluster view. ---

  void ResolveCluster(Config* config) {
    const Property* first_legacy = nullptr;
    const Property* first_modern = nullptr;
    for (const Property& property : file_.properties) {
      const std::optional<LegacyKey> legacy = ParseLegacyKey(property.key);
      if (legacy.has_value() && legacy->field != kLegacyRemoteObjectPortField) {
        if (first_legacy == nullptr) first_legacy = &property;
      } else if (IsModernClusterKey(property.key)) {
        if (first_modern == nullptr) first_modern = &property;
      }
    }
    if (first_legacy != nullptr && first_modern != nullptr) {
      const bool modern_later = first_modern->line > first_legacy->line;
      const Property& later = modern_later ? *first_modern : *first_legacy;
      const Property& earlier = modern_later ? *first_legacy : *first_modern;
      ErrorAt(later,
              absl::StrCat("cannot be used together with ", earlier.key,
                           " (line ", earlier.line,
                           "): use either cluster.hostname, cluster.cache.port "
                           "and cluster.members (DHIS 2.29 and later) or the "
                           "legacy cluster.instanceN.* keys, not both"));
      return;
    }
    if (first_legacy != nullptr) {
      ResolveLegacyCluster(config);
    } else {
      ResolveModernCluster(config);
    }
  }

  void ResolveModernCluster(Config* config) {
    const Property* hostname = file_.Find(kHostnameKey);
    std::optional<std::string> self_host;
    if (hostname == nullptr) {
      ErrorInFile(
          "cluster.hostname is not set: it must be this node's address as "
          "its peers reach it (or use the legacy cluster.instance0.hostname)");
    } else {
      self_host = ReadHost(*hostname);
    }
    config->self.host = self_host.value_or("");
    config->self.port = ReadPort(kCachePortKey, kDefaultCachePort);
    self_known_ = self_host.has_value() && IsUsablePort(kCachePortKey);

    known_keys_.emplace_back(kMembersKey);
    const Property* members = file_.Find(kMembersKey);
    if (members == nullptr) {
      Record(kMembersKey, "", std::string(kDefaultOrigin));
      return;
    }
    Record(kMembersKey, members->value, Origin(*members));
    if (members->malformed) return;
    if (absl::StripAsciiWhitespace(members->value).empty()) return;
    int item_number = 0;
    for (absl::string_view item : absl::StrSplit(members->value, ',')) {
      ++item_number;
      item = absl::StripAsciiWhitespace(item);
      if (item.empty()) {
        ErrorAt(*members, absl::StrCat("item ", item_number,
                                       " is empty (members are separated by "
                                       "single commas)"));
        continue;
      }
      absl::StatusOr<Peer> peer = ParseHostPort(item, kDefaultCachePort);
      if (!peer.ok()) {
        ErrorAt(*members, absl::StrCat("item ", item_number, ": ",
                                       peer.status().message()));
        continue;
      }
      AddPeer(*std::move(peer), *members, config);
    }
  }

  void ResolveLegacyCluster(Config* config) {
    struct Instance {
      const Property* hostname = nullptr;
      const Property* port = nullptr;
    };
    std::map<std::string, Instance, InstanceOrder> instances;
    for (const Property& property : file_.properties) {
      const std::optional<LegacyKey> key = ParseLegacyKey(property.key);
      if (!key.has_value()) continue;
      if (key->field == kLegacyHostnameField) {
        instances[key->instance].hostname = &property;
      } else if (key->field == kLegacyPortField) {
        instances[key->instance].port = &property;
      }
    }
    const Instance& self = instances["0"];
    std::optional<std::string> self_host;
    if (self.hostname == nullptr) {
      ErrorInFile(
          "cluster.instance0.hostname is not set: with the legacy "
          "cluster.instanceN.* keys it is this node's address");
    } else {
      self_host = ReadHost(*self.hostname);
    }
    config->self.host = self_host.value_or("");
    const std::string self_port_key = LegacyKeyName("0", kLegacyPortField);
    config->self.port = ReadPort(self_port_key, kDefaultCachePort);
    self_known_ = self_host.has_value() && IsUsablePort(self_port_key);

    for (const auto& [instance, keys] : instances) {
      if (instance == "0") continue;
      if (keys.hostname == nullptr) {
        if (keys.port != nullptr) {
          ErrorAt(*keys.port,
                  absl::StrCat("is set but ",
                               LegacyKeyName(instance, kLegacyHostnameField),
                               " is not"));
        }
        continue;
      }
      std::optional<std::string> host = ReadHost(*keys.hostname);
      const int port = ReadPort(LegacyKeyName(instance, kLegacyPortField),
                                kDefaultCachePort);
      if (host.has_value()) AddPeer({*host, port}, *keys.hostname, config);
    }
  }

  // True when `key` is unset (its default applies) or a valid port.
  bool IsUsablePort(absl::string_view key) const {
    const Property* property = file_.Find(key);
    return property == nullptr ||
           (!property->malformed && ParsePort(property->value).ok());
  }

  // Adds a peer unless it is this node or already listed (both reported).
  void AddPeer(Peer peer, const Property& source, Config* config) {
    const std::string address = LowerAddress(peer);
    if (self_known_ && address == LowerAddress(config->self)) {
      ErrorAt(source, absl::StrCat(peer.address(),
                                   " is this node itself; list only its "
                                   "peers"));
      return;
    }
    auto [it, inserted] = peer_lines_.try_emplace(address, source.line);
    if (!inserted) {
      ErrorAt(source, it->second == source.line
                          ? absl::StrCat(peer.address(), " is listed twice")
                          : absl::StrCat(peer.address(),
                                         " is listed twice (also on line ",
                                         it->second, ")"));
      return;
    }
    config->peers.push_back(std::move(peer));
  }

  // --- cachemesh.* settings. ---

  // Every row of the settings table: its value from the file, else its
  // default (a bad value is reported and its default kept).
  void ResolveCachemesh(Config* config) {
    SetComputedDefaults(config);
    for (const SettingSpec& spec : Settings()) {
      known_keys_.push_back(spec.key);
      const Property* property = file_.Find(spec.key);
      if (property == nullptr) {
        Record(spec.key, SettingValueText(spec, *config),
               std::string(kDefaultOrigin));
        continue;
      }
      if (!property->malformed) {  // Malformed: reported by the parser.
        if (absl::Status applied = ApplySetting(spec, property->value, *config);
            !applied.ok()) {
          ErrorAt(*property, applied.message());
        }
      }
      Record(spec.key,
             property->malformed ? property->value
                                 : SettingValueText(spec, *config),
             Origin(*property));
    }
    config->node.endpoint = config->self.endpoint();
    config->node.seeds.clear();
    for (const Peer& peer : config->peers) {
      config->node.seeds.push_back(peer.endpoint());
    }
  }

  // A DHIS 2 key as DHIS 2 reads it: its value, or DHIS 2's default when
  // unset. Recorded for --check_config (redis.password as a secret).
  std::string ReadDhis2(absl::string_view key) {
    const Property* property = file_.Find(key);
    if (property == nullptr) {
      const std::string fallback(FindDhis2Key(key)->dhis2_default);
      Record(key, fallback, std::string(kDefaultOrigin));
      return fallback;
    }
    Record(key, property->value, Origin(*property));
    return property->value;
  }

  std::string WhereSet(absl::string_view key) const {
    const Property* property = file_.Find(key);
    return property == nullptr ? "default" : Where(*property);
  }

  // Whether and where to serve the Redis protocol (see RedisEndpoint).
  void ResolveRedis(Config* config) {
    const bool invalidation_on = IsOn(ReadDhis2(kRedisInvalidationKey));
    const std::string host = ReadDhis2(kRedisHostKey);
    const std::string port = ReadDhis2(kRedisPortKey);
    config->redis.password = ReadDhis2(kRedisPasswordKey);
    const bool ssl = IsOn(ReadDhis2(kRedisSslKey));
    const bool redis_enabled = IsOn(ReadDhis2(kRedisEnabledKey));
    RedisEndpoint& redis = config->redis;
    const std::string& mode = config->redis_mode;
    if (mode == "off" || (mode == "auto" && !invalidation_on)) {
      redis.because =
          mode == "off"
              ? absl::StrCat(kRedisModeKey, " = off (", WhereSet(kRedisModeKey),
                             ")")
              : absl::StrCat(kRedisInvalidationKey, " is off");
      return;
    }
    redis.because =
        mode == "on"
            ? absl::StrCat(kRedisModeKey, " = on (", WhereSet(kRedisModeKey),
                           ")")
            : absl::StrCat(kRedisInvalidationKey, " = on (",
                           WhereSet(kRedisInvalidationKey), ")");
    redis.addresses = LoopbackAddresses(host);
    if (redis.addresses.empty()) {
      if (mode == "on") {
        ErrorAtKey(kRedisModeKey,
                   absl::StrCat("is on, but redis.host = ", host,
                                " is not this machine's loopback (localhost, "
                                "127.0.0.1, ::1): the Redis endpoint listens "
                                "on loopback only"));
      }
      redis.because = absl::StrCat(kRedisHostKey, " = ", host,
                                   " is another machine: DHIS 2 uses that "
                                   "Redis");
      return;
    }
    if (redis_enabled) {
      ErrorAtKey(kRedisEnabledKey,
                 "is on: DHIS 2 then needs a real Redis on redis.host and "
                 "redis.port for sessions, leader election and its shared "
                 "cache, and cachemesh stands in only for cache "
                 "invalidation; set redis.enabled = off (sessions then stay "
                 "on each node: keep sticky sessions), or point redis.host "
                 "at a real Redis");
    }
    if (ssl) {
      ErrorAtKey(kRedisSslKey,
                 "is on, but cachemesh's Redis endpoint is plain text on "
                 "loopback only: set redis.use.ssl = off");
    }
    absl::StatusOr<int> parsed_port = ParsePort(port);
    if (!parsed_port.ok()) {
      ErrorAtKey(kRedisPortKey, parsed_port.status().message());
      return;
    }
    redis.port = *parsed_port;
    if (redis.port == config->self.port || redis.port == config->http_port) {
      ErrorAtKey(kRedisPortKey,
                 absl::StrCat(redis.port, " is also this node's ",
                              redis.port == config->self.port ? "cache port"
                                                              : "HTTP port"));
    }
    redis.enabled = true;
    if (config->flush_url.empty()) {
      warnings_.push_back(absl::StrCat(
          file_.file_name,
          ": the Redis endpoint is on but cachemesh.flush.url is not set: "
          "when a subscriber may have missed a message, nothing can make "
          "the app drop its caches"));
    }
  }

  void ResolveFlushToken(Config* config) {
    if (!config->flush_url.empty() && !IsLoopbackUrl(config->flush_url)) {
      warnings_.push_back(absl::StrCat(
          WhereSet("cachemesh.flush.url"),
          ": cachemesh.flush.url names another machine: the flush action "
          "is meant for this node's app, and its token travels in plain "
          "HTTP"));
    }
    if (config->flush_token_env.empty() || !env_) return;
    const std::optional<std::string> token = env_(config->flush_token_env);
    if (token.has_value() && !token->empty()) {
      config->flush_authorization =
          absl::StrCat(config->flush_auth_scheme, " ", *token);
    }
  }

  // The defaults that depend on this node's address and cache port.
  void SetComputedDefaults(Config* config) {
    const int cache_port = config->self.port;
    config->node.id = config->self.address();
    config->client_endpoint = net::DefaultAppEndpoint(cache_port);
    config->http_port = cache_port + defaults::kHttpPortOffset;
    if (file_.Find(kHttpPortKey) == nullptr && config->http_port > kMaxPort) {
      ErrorInFile(absl::StrCat(
          kHttpPortKey, " is not set and its default, the cache port ",
          cache_port, " + ", defaults::kHttpPortOffset, " = ",
          config->http_port, ", is not a port number: set it"));
    }
  }

  // What the components refuse on their own (net::ValidateMeshOptions,
  // ValidateNodeOptions), reported at the key whose option it names, so
  // that this reader refuses exactly what start-up would. Run only on an
  // otherwise valid file, where these checks are the last word.
  void CheckComponents(const Config& config) {
    for (const absl::Status& status : {ValidateNodeOptions(config.node),
                                       net::ValidateMeshOptions(config.mesh)}) {
      if (status.ok()) continue;
      const absl::string_view option =
          absl::string_view(status.message())
              .substr(0, status.message().find(' '));
      const SettingSpec* named = nullptr;
      for (const SettingSpec& spec : Settings()) {
        if (spec.sets == option) named = &spec;
      }
      if (named != nullptr) {
        ErrorAtKey(named->key, status.message());
      } else {
        ErrorInFile(status.message());
      }
    }
  }

  void CheckCachemeshCombinations(const Config& config) {
    if (config.node.suspicion.min > config.node.suspicion.max) {
      const int64_t min = absl::ToInt64Milliseconds(config.node.suspicion.min);
      const int64_t max = absl::ToInt64Milliseconds(config.node.suspicion.max);
      if (file_.Find("cachemesh.suspicion.max.ms") != nullptr) {
        ErrorAtKey("cachemesh.suspicion.max.ms",
                   absl::StrCat(max, " is below cachemesh.suspicion.min.ms (",
                                min, ")"));
      } else {
        ErrorAtKey("cachemesh.suspicion.min.ms",
                   absl::StrCat(min, " exceeds cachemesh.suspicion.max.ms (",
                                max, ")"));
      }
    }
    if (config.node.streams.recovery_buffer <
        config.node.streams.batch_max_size) {
      if (file_.Find("cachemesh.recovery.buffer") != nullptr) {
        ErrorAtKey("cachemesh.recovery.buffer",
                   absl::StrCat(config.node.streams.recovery_buffer,
                                " is below cachemesh.batch.max.size (",
                                config.node.streams.batch_max_size,
                                "): a lost batch must fit for retransmission"));
      } else {
        ErrorAtKey("cachemesh.batch.max.size",
                   absl::StrCat(config.node.streams.batch_max_size,
                                " exceeds cachemesh.recovery.buffer (",
                                config.node.streams.recovery_buffer,
                                "): a lost batch must fit for retransmission"));
      }
    }
    if (config.http_port == config.self.port) {
      ErrorAtKey(kHttpPortKey, absl::StrCat(config.http_port,
                                            " is also this node's cache port"));
    }
    if (config.app_health_timeout > config.app_health_interval) {
      const Property* timeout = file_.Find("cachemesh.app.health.timeout.ms");
      warnings_.push_back(absl::StrCat(
          timeout != nullptr ? Where(*timeout) : file_.file_name,
          ": cachemesh.app.health.timeout.ms (",
          absl::ToInt64Milliseconds(config.app_health_timeout),
          ") exceeds cachemesh.app.health.interval.ms (",
          absl::ToInt64Milliseconds(config.app_health_interval),
          "): a slow application is checked less often than configured"));
    }
  }

  // --- Unknown keys. ---

  bool IsKnownClusterKey(absl::string_view key) const {
    return IsModernClusterKey(key) || key == kRemoteObjectPortKey ||
           ParseLegacyKey(key).has_value();
  }

  void CheckUnknownKeys() {
    const absl::flat_hash_set<std::string> known(known_keys_.begin(),
                                                 known_keys_.end());
    for (const Property& property : file_.properties) {
      const bool unknown =
          absl::StartsWith(property.key, kCachemeshPrefix)
              ? !known.contains(property.key)
              : absl::StartsWith(property.key, kClusterPrefix) &&
                    !IsKnownClusterKey(property.key);
      if (!unknown) continue;
      // The key's own instance number first: ties go to earlier candidates.
      std::vector<std::string> candidates = LegacyCandidates(property.key);
      for (absl::string_view key :
           {kHostnameKey, kCachePortKey, kMembersKey, kRemoteObjectPortKey}) {
        candidates.emplace_back(key);
      }
      candidates.insert(candidates.end(), known_keys_.begin(),
                        known_keys_.end());
      const std::optional<std::string> hint =
          ClosestKey(property.key, candidates);
      ErrorAt(property,
              hint.has_value()
                  ? absl::StrCat("unknown key; did you mean `", *hint, "`?")
                  : std::string("unknown key"));
    }
  }

  const PropertiesFile& file_;
  const Environment& env_;
  std::vector<Setting>* settings_ = nullptr;
  std::vector<Diagnostic> errors_;
  std::vector<std::string> warnings_;
  // Every key read, for unknown-key detection and hints.
  std::vector<std::string> known_keys_;
  bool self_known_ = false;
  // Lower-cased peer address -> the line listing it.
  absl::flat_hash_map<std::string, int> peer_lines_;
};

absl::StatusOr<Config> Resolve(const PropertiesFile& file,
                               const Environment& env,
                               std::vector<Diagnostic> errors) {
  Resolver resolver(file, env);
  Config config = resolver.Resolve();
  errors.insert(errors.end(), resolver.errors().begin(),
                resolver.errors().end());
  if (errors.empty()) return config;
  std::stable_sort(
      errors.begin(), errors.end(),
      [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
  std::vector<absl::string_view> texts;
  for (const Diagnostic& error : errors) texts.push_back(error.text);
  return absl::InvalidArgumentError(absl::StrJoin(texts, "\n"));
}

// ---------------------------------------------------------------------------
// The --check_config report.
// ---------------------------------------------------------------------------

std::string DisplayValue(const Setting& setting) {
  if (setting.value.empty()) return "\"\"";
  if (IsSecretKey(setting.key)) return "(set, hidden)";
  return setting.value;
}

std::string RedisLine(const RedisEndpoint& redis) {
  if (!redis.enabled) return absl::StrCat("off: ", redis.because);
  std::vector<std::string> listens;
  for (const std::string& address : redis.addresses) {
    listens.push_back(Peer{address, redis.port}.address());
  }
  return absl::StrCat("serves the Redis protocol on ",
                      absl::StrJoin(listens, " and "), ", because ",
                      redis.because, "; password ",
                      redis.password.empty() ? "none (any is accepted)"
                                             : "set, hidden");
}

std::string FlushLine(const Config& config) {
  if (config.flush_url.empty()) return "no action (cachemesh.flush.url unset)";
  return absl::StrCat(
      config.flush_method, " ", config.flush_url, ", token ",
      config.flush_authorization.empty()
          ? absl::StrCat("none ($", config.flush_token_env, " unset or empty)")
          : absl::StrCat("from $", config.flush_token_env, " (hidden)"));
}

void AppendPadded(std::string* out, absl::string_view text, size_t width) {
  out->append(text.data(), text.size());
  if (text.size() < width) out->append(width - text.size(), ' ');
}

}  // namespace

ParseOptions DhisConfParseOptions() {
  ParseOptions options;
  options.expands_variables = IsClusterOrCachemeshKey;
  options.keeps_unresolved_variables = IsDhis2RedisKey;
  options.is_secret = IsSecretKey;
  return options;
}



absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const Environment& env) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  ParsedProperties parsed = ParsePropertiesCollectingErrors(
      *text, path, env, DhisConfParseOptions());
  return Resolve(parsed.file, env, std::move(parsed.errors));
}

absl::StatusOr<Config> ResolveConfig(const PropertiesFile& file,
                                     const Environment& env) {
  return Resolve(file, env, {});
}

std::string FormatConfig(const Config& config) {
  constexpr size_t kMaxAlignedValue = 40;
  std::string out =
      absl::StrCat("cachemesh configuration from ", config.file, "\n\n");
  // Labels in a column at least as wide as "this node  ".
  auto append_line = [&out](absl::string_view label, absl::string_view text) {
    AppendPadded(&out, label, std::max<size_t>(11, label.size() + 2));
    absl::StrAppend(&out, text, "\n");
  };
  append_line("this node", absl::StrCat(config.self.endpoint(), "  (node id ",
                                        config.node.id, ", cluster ",
                                        config.node.cluster, ")"));
  if (config.peers.empty())
    append_line("peers", "none (a single-node cluster)");
  for (size_t i = 0; i < config.peers.size(); ++i) {
    append_line(i == 0 ? absl::StrCat("peers (", config.peers.size(), ")") : "",
                config.peers[i].endpoint());
  }
  append_line("redis", RedisLine(config.redis));
  append_line("flush", FlushLine(config));

  size_t key_width = 3;
  size_t value_width = 5;
  std::vector<std::string> values;
  for (const Setting& setting : config.settings) {
    values.push_back(DisplayValue(setting));
    key_width = std::max(key_width, setting.key.size());
    value_width =
        std::min(kMaxAlignedValue, std::max(value_width, values.back().size()));
  }
  out.append("\n");
  AppendPadded(&out, "KEY", key_width + 2);
  AppendPadded(&out, "VALUE", value_width + 2);
  out.append("FROM\n");
  for (size_t i = 0; i < config.settings.size(); ++i) {
    AppendPadded(&out, config.settings[i].key, key_width + 2);
    AppendPadded(&out, values[i], value_width + 2);
    absl::StrAppend(&out, config.settings[i].origin, "\n");
  }
  if (!config.warnings.empty()) {
    absl::StrAppend(&out, "\nwarnings (", config.warnings.size(), ")\n");
    for (const std::string& warning : config.warnings) {
      absl::StrAppend(&out, "  ", warning, "\n");
    }
  }
  return out;
}

}  // namespace cachemesh
