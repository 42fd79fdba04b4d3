// For every numeric key of the settings table, its minimum, its maximum and
// every special value, as a real cachemeshd sees them: `--check_config` and
// start-up must agree. Either both accept, and the daemon runs (answers
// /health/live, stops cleanly on SIGTERM), or both refuse, with the same
// message. Every such value is valid on its own, so only the four that
// break a rule between keys (named below) may be refused.
#include <signal.h>

#include <ostream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "config/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"

namespace cachemesh::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kPatience = absl::Seconds(10);

struct Case {
  std::string key;
  std::string value;
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.key << " = " << c.value;
}

// The values whose refusal is right: each breaks a rule between two keys
// (suspicion.min <= suspicion.max, batch.max.size <= recovery.buffer) with
// the other key at its default.
const absl::flat_hash_set<std::string>& RefusedByDesign() {
  static const auto* const kRefused = new absl::flat_hash_set<std::string>{
      "cachemesh.suspicion.min.ms = 86400000",
      "cachemesh.suspicion.max.ms = 1",
      "cachemesh.batch.max.size = 2147483647",
      "cachemesh.recovery.buffer = 1",
  };
  return *kRefused;
}

std::vector<Case> NumericCases() {
  std::vector<Case> cases;
  for (const SettingSpec& spec : Settings()) {
    switch (spec.kind) {
      case SettingKind::kCount:
      case SettingKind::kMilliseconds:
      case SettingKind::kMicroseconds:
        cases.push_back({spec.key, absl::StrCat(spec.min)});
        cases.push_back({spec.key, absl::StrCat(spec.max)});
        for (const SpecialValue& special : spec.special) {
          if (special.value == spec.min || special.value == spec.max) continue;
          cases.push_back({spec.key, absl::StrCat(special.value)});
        }
        break;
      case SettingKind::kNumber:  // Any number above 0.
        cases.push_back({spec.key, "0.001"});
        cases.push_back({spec.key, "1000000"});
        break;
      case SettingKind::kPort:  // Every test sets it: a free port.
      case SettingKind::kText:
        break;
    }
  }
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = absl::StrCat(info.param.key, "_", info.param.value);
  for (char& c : name) {
    if (!absl::ascii_isalnum(c)) c = '_';
  }
  return name;
}

class ConfigAgreementTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigAgreementTest, CheckConfigAndStartUpAgree) {
  const Case& c = GetParam();
  const std::string line = absl::StrCat(c.key, " = ", c.value);
  DaemonSpec spec;
  spec.id = "agree";
  spec.cache_port = PickFreePort();
  spec.http_port = PickFreePort();
  spec.extra_lines = {line};
  DaemonProcess daemon(spec);

  const DaemonProcess::Exit check = daemon.CheckConfig();
  const bool refused_by_design = RefusedByDesign().contains(line);
  EXPECT_EQ(check.code, refused_by_design ? 1 : 0) << check.output;

  daemon.Start();
  if (check.code == 0) {
    ASSERT_TRUE(WaitUntil(
        [&] { return daemon.Get("/health/live").status == 200; }, kPatience))
        << "--check_config accepted " << line
        << " but the daemon does not run:\n"
        << daemon.log();
    ASSERT_TRUE(daemon.Signal(SIGTERM).has_value()) << daemon.log();
    EXPECT_EQ(daemon.exit_code(), 0) << daemon.log();
  } else {
    const std::optional<int> code = daemon.WaitForExit(kPatience);
    ASSERT_TRUE(code.has_value())
        << "--check_config refused " << line << " but the daemon runs:\n"
        << check.output;
    EXPECT_EQ(*code, check.code) << daemon.log();
    const std::string message(absl::StripAsciiWhitespace(check.output));
    EXPECT_THAT(message, HasSubstr(c.key));
    EXPECT_THAT(daemon.log(), HasSubstr(message));
  }
}

INSTANTIATE_TEST_SUITE_P(EveryNumericSetting, ConfigAgreementTest,
                         ::testing::ValuesIn(NumericCases()), CaseName);

}  // namespace
}  // namespace cachemesh::testing
