#include "config/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
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

namespace cachemesh {
namespace {

constexpr int kDefaultCachePort = 4001;
constexpr int kMaxPort = 65535;
constexpr int kHttpPortOffset = 1000;
constexpr int64_t kOneDayMillis = int64_t{24} * 60 * 60 * 1000;
constexpr int64_t kOneSecondMicros = 1000 * 1000;
constexpr int64_t kMaxCount = std::numeric_limits<int>::max();
// libzmq #4226: a ZMQ_HEARTBEAT_TTL of 65600 ms or more overflows a 16-bit
// field and drops the connection at every heartbeat.
constexpr int64_t kZmqHeartbeatTtlLimitMillis = 65000;
// sizeof(sockaddr_un::sun_path) minus its terminating NUL.
constexpr size_t kMaxIpcPathBytes = 107;
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
constexpr absl::string_view kHttpTokenKey = "cachemesh.http.token";
constexpr absl::string_view kDefaultOrigin = "default";

// ---------------------------------------------------------------------------
// Value syntax. Each parser returns the value, or InvalidArgument saying what
// is wrong with it (the caller adds FILE:LINE: KEY:).
// ---------------------------------------------------------------------------

absl::Status Invalid(absl::string_view text, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(QuoteForMessage(text), " ", problem));
}

bool IsIpv6Address(absl::string_view text) {
  absl::string_view address = text;
  const size_t percent = text.find('%');
  if (percent != absl::string_view::npos) {
    address = text.substr(0, percent);
    const absl::string_view zone = text.substr(percent + 1);
    const bool zone_ok =
        !zone.empty() && std::all_of(zone.begin(), zone.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
        });
    if (!zone_ok) return false;
  }
  const bool chars_ok =
      !address.empty() &&
      std::all_of(address.begin(), address.end(), [](char c) {
        return absl::ascii_isxdigit(c) || c == ':' || c == '.';
      });
  if (!chars_ok) return false;
  const std::string terminated(address);
  in6_addr parsed;
  return inet_pton(AF_INET6, terminated.c_str(), &parsed) == 1;
}

// A DNS name or IPv4 address: dot-separated labels of letters, digits, - and _.
bool IsHostname(absl::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(text, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return false;
    }
  }
  return true;
}

// A hostname, IPv4 address, IPv6 address, or [IPv6 address]; returns it
// without brackets.
absl::StatusOr<std::string> ParseHost(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("the hostname is empty");
  if (text.front() == '[') {
    const absl::string_view inner =
        text.size() < 2 ? "" : text.substr(1, text.size() - 2);
    if (text.back() != ']' || !IsIpv6Address(inner)) {
      return Invalid(text, "is not a valid IPv6 address in brackets");
    }
    return std::string(inner);
  }
  if (IsIpv6Address(text) || IsHostname(text)) return std::string(text);
  return Invalid(text, absl::StrContains(text, ':')
                           ? "is not a valid hostname or IP address (a port "
                             "cannot be given here)"
                           : "is not a valid hostname or IP address");
}

absl::StatusOr<int> ParsePort(absl::string_view text) {
  const bool digits_ok =
      !text.empty() && text.size() <= 5 &&
      std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
  int port = 0;
  if (!digits_ok || !absl::SimpleAtoi(text, &port) || port < 1 ||
      port > kMaxPort) {
    return Invalid(text, "is not a port number (1..65535)");
  }
  return port;
}

// host, host:port, [ipv6] or [ipv6]:port. `default_port` when no port is
// given; a port is required when it is nullopt.
absl::StatusOr<Peer> ParseHostPort(absl::string_view text,
                                   std::optional<int> default_port) {
  absl::string_view host_text = text;
  std::optional<absl::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return Invalid(text, "has no ] after the IPv6 address");
    }
    host_text = text.substr(0, close + 1);
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!absl::ConsumePrefix(&rest, ":")) {
        return Invalid(text, "must be [IPv6 address]:port");
      }
      port_text = rest;
    }
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    return Invalid(text,
                   "looks like an IPv6 address: write it in brackets, "
                   "e.g. [::1]:4001");
  } else if (const size_t colon = text.find(':');
             colon != absl::string_view::npos) {
    host_text = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  Peer peer;
  absl::StatusOr<std::string> host = ParseHost(host_text);
  if (!host.ok()) return host.status();
  peer.host = *std::move(host);
  if (!port_text.has_value()) {
    if (!default_port.has_value()) return Invalid(text, "has no :port");
    peer.port = *default_port;
    return peer;
  }
  absl::StatusOr<int> port = ParsePort(*port_text);
  if (!port.ok()) return port.status();
  peer.port = *port;
  return peer;
}

// A whole number in [min, max]. `unit` ("milliseconds", or empty for a
// count) appears in messages.
absl::StatusOr<int64_t> ParseInteger(absl::string_view text, int64_t min,
                                     int64_t max, absl::string_view unit) {
  const std::string of_unit = unit.empty() ? "" : absl::StrCat(" of ", unit);
  absl::string_view digits = text;
  absl::ConsumePrefix(&digits, "-");
  const size_t leading_digits =
      std::find_if_not(digits.begin(), digits.end(), absl::ascii_isdigit) -
      digits.begin();
  int64_t value = 0;
  if (leading_digits == 0 || leading_digits != digits.size() ||
      digits.size() > 18 || !absl::SimpleAtoi(text, &value)) {
    const bool has_suffix = !unit.empty() && leading_digits > 0 &&
                            leading_digits < digits.size() &&
                            absl::ascii_isalpha(digits[leading_digits]);
    return Invalid(text, absl::StrCat("is not a whole number", of_unit,
                                      has_suffix ? " (the unit is part of the "
                                                   "key name: write the number "
                                                   "only)"
                                                 : ""));
  }
  if (value < min || value > max) {
    return Invalid(
        text, absl::StrCat("is out of range: must be from ", min, " to ", max,
                           unit.empty() ? "" : " ", unit));
  }
  return value;
}

absl::StatusOr<double> ParsePositiveNumber(absl::string_view text) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return Invalid(text, "is not a number");
  }
  if (value <= 0) return Invalid(text, "must be greater than 0");
  return value;
}

// A cluster name or node id: some printable text without whitespace.
absl::StatusOr<std::string> ParseName(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("must not be empty");
  for (char c : text) {
    if (absl::ascii_isspace(c) || absl::ascii_iscntrl(c)) {
      return Invalid(text, "must not contain whitespace or control characters");
    }
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

// Empty, or http(s)://host[:port][/path...].
absl::StatusOr<std::string> ParseHealthUrl(absl::string_view text) {
  if (text.empty()) return std::string(text);
  absl::string_view rest = text;
  if (!absl::ConsumePrefix(&rest, "http://") &&
      !absl::ConsumePrefix(&rest, "https://")) {
    return Invalid(text, "must start with http:// or https://");
  }
  if (std::any_of(text.begin(), text.end(), [](char c) {
        return absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
      })) {
    return Invalid(text, "must not contain whitespace or control characters");
  }
  const absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  absl::StatusOr<Peer> server = ParseHostPort(authority, kDefaultCachePort);
  if (!server.ok()) {
    return Invalid(text,
                   absl::StrCat("has a bad host: ", server.status().message()));
  }
  return std::string(text);
}

// ipc://PATH or tcp://HOST:PORT, where local applications reach the daemon.
absl::StatusOr<std::string> ParseClientEndpoint(absl::string_view text) {
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "ipc://")) {
    if (rest.empty()) return Invalid(text, "has no socket path after ipc://");
    if (rest.size() > kMaxIpcPathBytes) {
      return Invalid(text,
                     absl::StrCat("has a socket path of ", rest.size(),
                                  " bytes; the limit is ", kMaxIpcPathBytes));
    }
    if (std::any_of(rest.begin(), rest.end(), [](char c) {
          return absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
        })) {
      return Invalid(text, "must not contain whitespace or control characters");
    }
    return std::string(text);
  }
  if (absl::ConsumePrefix(&rest, "tcp://")) {
    absl::StatusOr<Peer> address = ParseHostPort(rest, std::nullopt);
    if (!address.ok()) return address.status();
    return std::string(text);
  }
  return Invalid(text, "must be ipc://PATH or tcp://HOST:PORT");
}

absl::StatusOr<std::string> ParseLogLevel(absl::string_view text) {
  const std::string level = absl::AsciiStrToLower(text);
  if (level == "debug" || level == "info" || level == "warning" ||
      level == "error") {
    return level;
  }
  return Invalid(text, "is not a log level: debug, info, warning or error");
}

absl::StatusOr<int64_t> ParseZmqHeartbeatTtl(absl::string_view text) {
  absl::StatusOr<int64_t> ttl =
      ParseInteger(text, 0, kOneDayMillis, "milliseconds");
  if (ttl.ok() && *ttl >= kZmqHeartbeatTtlLimitMillis) {
    return Invalid(text,
                   absl::StrCat("must be below ", kZmqHeartbeatTtlLimitMillis,
                                " milliseconds: larger TTLs overflow in "
                                "libzmq and drop every connection at "
                                "each heartbeat (libzmq issue #4226)"));
  }
  return ttl;
}

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

class Resolver {
 public:
  explicit Resolver(const PropertiesFile& file) : file_(file) {}

  // Resolves everything it can; problems go to errors().
  Config Resolve() {
    Config config;
    config.file = file_.file_name;
    config.warnings = file_.warnings;
    settings_ = &config.settings;
    ResolveCluster(&config);
    ResolveCachemesh(&config);
    CheckCachemeshCombinations(config);
    CheckUnknownKeys();
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

  static std::string ToText(const std::string& value) { return value; }
  static std::string ToText(int64_t value) { return absl::StrCat(value); }
  static std::string ToText(int value) { return absl::StrCat(value); }
  static std::string ToText(double value) { return absl::StrCat(value); }

  // Reads `key` with `parse`, falling back to `fallback` when it is unset or
  // wrong (wrong is reported), and records the effective setting.
  template <typename T, typename Parse>
  T Read(absl::string_view key, const T& fallback, Parse parse) {
    known_keys_.emplace_back(key);
    const Property* property = file_.Find(key);
    if (property == nullptr) {
      Record(key, ToText(fallback), std::string(kDefaultOrigin));
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
    Record(key, ToText(*value), Origin(*property));
    return *std::move(value);
  }

  int ReadPort(absl::string_view key, int fallback) {
    return Read(key, fallback, ParsePort);
  }

  absl::Duration ReadMillis(absl::string_view key, int64_t fallback,
                            int64_t min) {
    return absl::Milliseconds(
        Read(key, fallback, [min](absl::string_view text) {
          return ParseInteger(text, min, kOneDayMillis, "milliseconds");
        }));
  }

  absl::Duration ReadMicros(absl::string_view key, int64_t fallback,
                            int64_t min, int64_t max) {
    return absl::Microseconds(
        Read(key, fallback, [min, max](absl::string_view text) {
          return ParseInteger(text, min, max, "microseconds");
        }));
  }

  int ReadCount(absl::string_view key, int64_t fallback, int64_t min) {
    return static_cast<int>(Read(key, fallback, [min](absl::string_view text) {
      return ParseInteger(text, min, kMaxCount, "");
    }));
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

  void ResolveCachemesh(Config* config) {
    const int cache_port = config->self.port;
    config->cluster_name =
        Read("cachemesh.cluster.name", std::string("dhis2"), ParseName);
    config->node_id =
        Read("cachemesh.node.id", config->self.address(), ParseName);
    config->bind_address =
        Read("cachemesh.bind.address", std::string("*"), ParseBindAddress);
    config->http_address = Read("cachemesh.http.address",
                                std::string("0.0.0.0"), ParseHttpAddress);
    config->http_port = ReadHttpPort(cache_port);
    config->http_token = Read(kHttpTokenKey, std::string(), ParseAnyText);
    config->app_health_url =
        Read("cachemesh.app.health.url", std::string(), ParseHealthUrl);
    config->app_health_interval =
        ReadMillis("cachemesh.app.health.interval.ms", 1000, 1);
    config->app_health_timeout =
        ReadMillis("cachemesh.app.health.timeout.ms", 500, 1);
    config->heartbeat_interval =
        ReadMillis("cachemesh.heartbeat.interval.ms", 50, 1);
    config->failure_phi_threshold =
        Read("cachemesh.failure.phi.threshold", 8.0, ParsePositiveNumber);
    config->failure_acceptable_pause =
        ReadMillis("cachemesh.failure.acceptable.pause.ms", 500, 0);
    config->failure_min_stddev =
        ReadMillis("cachemesh.failure.min.stddev.ms", 25, 1);
    config->suspicion_min = ReadMillis("cachemesh.suspicion.min.ms", 150, 1);
    config->suspicion_max = ReadMillis("cachemesh.suspicion.max.ms", 600, 1);
    config->reap_after = ReadMillis("cachemesh.reap.after.ms", 60000, 1);
    config->batch_max_delay =
        ReadMicros("cachemesh.batch.max.delay.us", 0, 0, kOneSecondMicros);
    config->batch_max_size = ReadCount("cachemesh.batch.max.size", 512, 1);
    config->recovery_buffer = ReadCount("cachemesh.recovery.buffer", 8192, 1);
    config->startup_sync_timeout =
        ReadMillis("cachemesh.startup.sync.timeout.ms", 5000, 0);
    config->client_endpoint =
        Read("cachemesh.client.endpoint",
             absl::StrCat("ipc:///tmp/cachemesh-", cache_port, ".sock"),
             ParseClientEndpoint);
    config->events_buffer = ReadCount("cachemesh.events.buffer", 65536, 1);
    config->log_level =
        Read("cachemesh.log.level", std::string("info"), ParseLogLevel);
    config->zmq_send_hwm = ReadCount("cachemesh.zmq.send.hwm", 100000, 0);
    config->zmq_receive_hwm = ReadCount("cachemesh.zmq.receive.hwm", 100000, 0);
    config->zmq_heartbeat_interval =
        ReadMillis("cachemesh.zmq.heartbeat.interval.ms", 1000, 0);
    config->zmq_heartbeat_timeout =
        ReadMillis("cachemesh.zmq.heartbeat.timeout.ms", 3000, 0);
    config->zmq_heartbeat_ttl =
        absl::Milliseconds(Read("cachemesh.zmq.heartbeat.ttl.ms",
                                int64_t{10000}, ParseZmqHeartbeatTtl));
  }

  int ReadHttpPort(int cache_port) {
    const int fallback = cache_port + kHttpPortOffset;
    const int port = ReadPort(kHttpPortKey, fallback);
    if (file_.Find(kHttpPortKey) == nullptr && fallback > kMaxPort) {
      ErrorInFile(absl::StrCat(kHttpPortKey,
                               " is not set and its default, the cache port ",
                               cache_port, " + ", kHttpPortOffset, " = ",
                               fallback, ", is not a port number: set it"));
    }
    return port;
  }

  void CheckCachemeshCombinations(const Config& config) {
    if (config.suspicion_min > config.suspicion_max) {
      const int64_t min = absl::ToInt64Milliseconds(config.suspicion_min);
      const int64_t max = absl::ToInt64Milliseconds(config.suspicion_max);
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
    if (config.recovery_buffer < config.batch_max_size) {
      if (file_.Find("cachemesh.recovery.buffer") != nullptr) {
        ErrorAtKey("cachemesh.recovery.buffer",
                   absl::StrCat(config.recovery_buffer,
                                " is below cachemesh.batch.max.size (",
                                config.batch_max_size,
                                "): a lost batch must fit for retransmission"));
      } else {
        ErrorAtKey("cachemesh.batch.max.size",
                   absl::StrCat(config.batch_max_size,
                                " exceeds cachemesh.recovery.buffer (",
                                config.recovery_buffer,
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
                               std::vector<Diagnostic> errors) {
  Resolver resolver(file);
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
  if (setting.key == kHttpTokenKey) return "(set, hidden)";
  return setting.value;
}

void AppendPadded(std::string* out, absl::string_view text, size_t width) {
  out->append(text.data(), text.size());
  if (text.size() < width) out->append(width - text.size(), ' ');
}

}  // namespace

std::string Peer::address() const {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string Peer::endpoint() const { return absl::StrCat("tcp://", address()); }

bool IsClusterOrCachemeshKey(absl::string_view key) {
  return absl::StartsWith(key, kClusterPrefix) ||
         absl::StartsWith(key, kCachemeshPrefix);
}

absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const Environment& env) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  ParseOptions options;
  options.expands_variables = IsClusterOrCachemeshKey;
  ParsedProperties parsed =
      ParsePropertiesCollectingErrors(*text, path, env, options);
  return Resolve(parsed.file, std::move(parsed.errors));
}

absl::StatusOr<Config> ResolveConfig(const PropertiesFile& file) {
  return Resolve(file, {});
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
                                        config.node_id, ", cluster ",
                                        config.cluster_name, ")"));
  if (config.peers.empty())
    append_line("peers", "none (a single-node cluster)");
  for (size_t i = 0; i < config.peers.size(); ++i) {
    append_line(i == 0 ? absl::StrCat("peers (", config.peers.size(), ")") : "",
                config.peers[i].endpoint());
  }

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
