#include "config/reload.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "config/settings.h"

namespace cachemesh {
namespace {

// The cluster keys that say where this node itself is (both styles).
constexpr absl::string_view kSelfKeys[] = {
    "cluster.hostname",
    "cluster.cache.port",
    "cluster.instance0.hostname",
    "cluster.instance0.cache.port",
};

bool IsLive(absl::string_view key) {
  if (const SettingSpec* spec = FindSetting(key)) return spec->live;
  if (!absl::StartsWith(key, "cluster.")) return false;
  for (absl::string_view self : kSelfKeys) {
    if (key == self) return false;
  }
  return true;  // A peer key: SIGHUP replaces the seeds.
}

}  // namespace

ConfigChanges DiffConfigs(const Config& running, const Config& reloaded) {
  absl::flat_hash_map<std::string, const std::string*> before;
  for (const Setting& setting : running.settings) {
    before[setting.key] = &setting.value;
  }
  ConfigChanges changes;
  auto add = [&changes](const std::string& key) {
    (IsLive(key) ? changes.live : changes.restart).push_back(key);
  };
  for (const Setting& setting : reloaded.settings) {
    auto it = before.find(setting.key);
    if (it == before.end() || *it->second != setting.value) add(setting.key);
    if (it != before.end()) before.erase(it);
  }
  for (const Setting& setting : running.settings) {
    if (before.contains(setting.key)) add(setting.key);
  }
  return changes;
}

void AdoptLiveSettings(const Config& reloaded, const ConfigChanges& changes,
                       Config& running) {
  running.peers = reloaded.peers;
  running.node.seeds = reloaded.node.seeds;
  running.log_level = reloaded.log_level;
  running.http_token = reloaded.http_token;
  absl::flat_hash_map<std::string, const Setting*> kept;
  for (const Setting& setting : running.settings) kept[setting.key] = &setting;
  const absl::flat_hash_set<std::string> restart(changes.restart.begin(),
                                                 changes.restart.end());
  absl::flat_hash_set<std::string> reloaded_keys;
  std::vector<Setting> in_effect;
  for (const Setting& setting : reloaded.settings) {
    reloaded_keys.insert(setting.key);
    if (!restart.contains(setting.key)) {
      in_effect.push_back(setting);
    } else if (auto it = kept.find(setting.key); it != kept.end()) {
      in_effect.push_back(*it->second);
    }
  }
  for (const Setting& setting : running.settings) {
    if (!reloaded_keys.contains(setting.key) && restart.contains(setting.key)) {
      in_effect.push_back(setting);
    }
  }
  running.settings = std::move(in_effect);
}

std::vector<std::string> RestartOnlyKeys() {
  std::vector<std::string> keys(std::begin(kSelfKeys), std::end(kSelfKeys));
  for (const SettingSpec& spec : Settings()) {
    if (!spec.live) keys.push_back(spec.key);
  }
  for (const Dhis2Key& dhis2_key : Dhis2RedisKeys()) {
    keys.emplace_back(dhis2_key.key);
  }
  return keys;
}

}  // namespace cachemesh
