// The one table of cachemesh.* settings: for each dhis.conf key, its type and
// unit, its range and special values, its documentation, whether SIGHUP
// applies it live, whether it is a secret, and which component option it
// sets. The config reader, --check_config, SIGHUP and docs/CONFIGURATION.md
// (generated from it: SettingsMarkdownTable) all follow this table.
//
// Defaults are not written here: a row reads its default from a
// default-constructed Config, whose component option structs initialise
// themselves from config/defaults.h. A default that depends on the cache port
// is computed by the reader, and the row says how (`default_doc`).
#ifndef CACHEMESH_CONFIG_SETTINGS_H_
#define CACHEMESH_CONFIG_SETTINGS_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "config/config_types.h"

namespace cachemesh {

enum class SettingKind {
  kText,          // checked by SettingSpec::syntax
  kCount,         // a whole number
  kMilliseconds,  // a whole number of milliseconds
  kMicroseconds,  // a whole number of microseconds
  kNumber,        // a number greater than 0
  kPort,          // 1..65535
};

// A value outside [min, max] that is allowed, and what it means.
struct SpecialValue {
  int64_t value;
  std::string meaning;
};

// Where a row's value lives in a Config.
using TextField = std::string& (*)(Config&);
using IntField = int& (*)(Config&);
using DurationField = absl::Duration& (*)(Config&);
using NumberField = double& (*)(Config&);
using SettingField =
    std::variant<TextField, IntField, DurationField, NumberField>;

struct SettingSpec {
  std::string key;
  SettingKind kind = SettingKind::kText;
  // kCount, kMilliseconds, kMicroseconds: the range, plus `special` values.
  int64_t min = 0;
  int64_t max = 0;
  std::vector<SpecialValue> special;
  // Why values above `max` are refused, when that is not obvious.
  std::string max_reason;
  // kText: checks the text and returns the value kept; `syntax_doc` says in
  // a few words what it accepts.
  absl::StatusOr<std::string> (*syntax)(absl::string_view text) = nullptr;
  std::string syntax_doc;
  // Set when the default is computed from the cluster view.
  std::string default_doc;
  std::string doc;
  // SIGHUP applies a new value without a restart.
  bool live = false;
  // Never printed: --check_config, logs and pages show "(set, hidden)".
  bool secret = false;
  // The component option it sets, e.g. "MeshOptions.send_hwm". Errors from
  // a component's own check that name this option are reported at the key.
  std::string sets;
  SettingField field;
};

// Every cachemesh.* setting, in documentation order.
const std::vector<SettingSpec>& Settings();

// The row for `key`, or nullptr.
const SettingSpec* FindSetting(absl::string_view key);

// A DHIS 2 key that cachemesh reads as DHIS 2 reads it (docs/CONFIGURATION.md,
// "DHIS 2's Redis keys"). Each changes only on restart.
struct Dhis2Key {
  absl::string_view key;
  // DHIS 2's own default (ConfigurationKey).
  absl::string_view dhis2_default;
  bool secret = false;
};

// redis.cache.invalidation.enabled, redis.host, redis.port, redis.password,
// redis.use.ssl, redis.enabled: in the order --check_config lists them.
const std::vector<Dhis2Key>& Dhis2RedisKeys();
const Dhis2Key* FindDhis2Key(absl::string_view key);

// True for keys whose value is never printed: the table's secrets, and
// DHIS 2's redis.password.
bool IsSecretKey(absl::string_view key);

// Parses `text` by the row's kind, range and syntax, and stores it in
// `config`. The error quotes the text and says what is wrong.
absl::Status ApplySetting(const SettingSpec& spec, absl::string_view text,
                          Config& config);

// The row's value in `config`, as dhis.conf would write it.
std::string SettingValueText(const SettingSpec& spec, const Config& config);

// The row's default as the docs show it.
std::string SettingDefaultText(const SettingSpec& spec);

// The "unit, range" column of the docs: "ms, 1..86400000; 0: off".
std::string SettingRangeText(const SettingSpec& spec);

// The Markdown table of docs/CONFIGURATION.md: key, default, unit and range,
// SIGHUP, meaning.
std::string SettingsMarkdownTable();

}  // namespace cachemesh

#endif  // CACHEMESH_CONFIG_SETTINGS_H_
