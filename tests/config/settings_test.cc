#include "config/settings.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "config/properties.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(SettingsTest, KeysAreUniqueCachemeshKeysAndDocumented) {
  absl::flat_hash_set<std::string> keys;
  for (const SettingSpec& spec : Settings()) {
    EXPECT_TRUE(keys.insert(spec.key).second) << spec.key;
    EXPECT_THAT(spec.key, StartsWith("cachemesh."));
    EXPECT_FALSE(spec.doc.empty()) << spec.key;
    EXPECT_FALSE(spec.sets.empty()) << spec.key;
    EXPECT_EQ(FindSetting(spec.key), &spec);
  }
  EXPECT_EQ(FindSetting("cachemesh.no.such.key"), nullptr);
}

// A default is a value its own row accepts, and reads back unchanged.
TEST(SettingsTest, EveryDefaultIsAValueItsRowAccepts) {
  for (const SettingSpec& spec : Settings()) {
    if (!spec.default_doc.empty()) continue;  // Computed from the cache port.
    const Config defaults;
    const std::string text = SettingValueText(spec, defaults);
    Config config;
    ASSERT_TRUE(ApplySetting(spec, text, config).ok())
        << spec.key << " = " << text;
    EXPECT_EQ(SettingValueText(spec, config), text) << spec.key;
  }
}

// The production batch window is adaptive (0), and that is what a default
// NodeOptions (the simulator's, the tests') runs.
TEST(SettingsTest, DefaultBatchWindowIsZeroEverywhere) {
  EXPECT_EQ(NodeOptions().streams.batch_max_delay, absl::ZeroDuration());
  EXPECT_EQ(
      SettingValueText(*FindSetting("cachemesh.batch.max.delay.us"), Config()),
      "0");
}

TEST(SettingsTest, SpecialValuesAreAcceptedAndNamedWhenOutOfRange) {
  const SettingSpec& hwm = *FindSetting("cachemesh.zmq.send.hwm");
  Config config;
  ASSERT_TRUE(ApplySetting(hwm, "0", config).ok());
  EXPECT_EQ(config.mesh.send_hwm, 0);
  const absl::Status negative = ApplySetting(hwm, "-1", config);
  EXPECT_THAT(negative.message(),
              HasSubstr("must be 0 (unlimited) or from 1 to 2147483647"));

  const SettingSpec& ttl = *FindSetting("cachemesh.zmq.heartbeat.ttl.ms");
  EXPECT_THAT(ApplySetting(ttl, "50", config).message(),
              HasSubstr("must be 0 (none) or from 100 to 64999 milliseconds"));
  EXPECT_THAT(ApplySetting(ttl, "65000", config).message(),
              HasSubstr("libzmq issue #4226"));
  EXPECT_THAT(ApplySetting(ttl, "50", config).message(),
              Not(HasSubstr("#4226")));
}

TEST(SettingsTest, SecretsAreNeverShown) {
  std::string text =
      "cluster.hostname = a\nredis.cache.invalidation.enabled = on\n"
      "redis.password = hush-redis\n";
  for (const SettingSpec& spec : Settings()) {
    if (spec.secret)
      absl::StrAppend(&text, spec.key, " = hush-", spec.key, "\n");
  }
  ParsedProperties parsed = ParsePropertiesCollectingErrors(
      text, "dhis.conf", FixedEnvironment({}), DhisConfParseOptions());
  absl::StatusOr<Config> config = ResolveConfig(parsed.file);
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string report = FormatConfig(*config);
  EXPECT_THAT(report, Not(HasSubstr("hush-")));
  EXPECT_THAT(report, HasSubstr("(set, hidden)"));
}

std::string ReadDoc(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::ifstream in(absl::StrCat(srcdir ? srcdir : ".", "/",
                                workspace ? workspace : "cachemesh", "/",
                                path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// docs/CONFIGURATION.md shows the table as generated from the code, so a
// documented key, default, range or SIGHUP behaviour cannot drift.
TEST(SettingsTest, DocsHoldTheGeneratedTable) {
  const std::string doc = ReadDoc("docs/CONFIGURATION.md");
  ASSERT_FALSE(doc.empty());
  const std::string kBegin =
      "<!-- settings table: `bazel run //tools:settings_doc` -->\n";
  const std::string kEnd = "<!-- end of settings table -->";
  const size_t begin = doc.find(kBegin);
  const size_t end = doc.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "no " << kBegin;
  ASSERT_NE(end, std::string::npos) << "no " << kEnd;
  const std::string documented =
      doc.substr(begin + kBegin.size(), end - begin - kBegin.size());
  EXPECT_EQ(documented, SettingsMarkdownTable())
      << "regenerate the table: bazel run //tools:settings_doc";
}

}  // namespace
}  // namespace cachemesh
