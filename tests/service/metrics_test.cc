// Tests of the metrics registry and its Prometheus text rendering, read back
// with a small parser of the exposition format.
#include "service/metrics.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace {

using ::testing::HasSubstr;

// What a scraper reads from the text format.
struct Exposition {
  std::map<std::string, std::string> help;  // family -> help text
  std::map<std::string, std::string> type;  // family -> type
  std::vector<std::string> family_order;
  // "name{labels}" exactly as rendered -> value.
  std::map<std::string, double> samples;
};

double ParseValue(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  EXPECT_EQ(*end, '\0') << "bad sample value '" << text << "'";
  return value;
}

Exposition Parse(const std::string& text) {
  Exposition parsed;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the last line must end with a newline";
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# HELP ")) {
      const std::vector<std::string> parts =
          absl::StrSplit(line, absl::MaxSplits(' ', 1));
      EXPECT_EQ(parts.size(), 2u) << line;
      parsed.help[parts[0]] = parts.size() > 1 ? parts[1] : "";
      parsed.family_order.push_back(parts[0]);
    } else if (absl::ConsumePrefix(&line, "# TYPE ")) {
      const std::vector<std::string> parts = absl::StrSplit(line, ' ');
      EXPECT_EQ(parts.size(), 2u) << line;
      EXPECT_TRUE(parsed.help.count(parts[0])) << "TYPE before HELP: " << line;
      parsed.type[parts[0]] = parts[1];
    } else {
      const size_t space = line.rfind(' ');
      EXPECT_NE(space, absl::string_view::npos) << line;
      const std::string series(line.substr(0, space));
      EXPECT_FALSE(parsed.samples.count(series)) << "repeated " << series;
      parsed.samples[series] = ParseValue(std::string(line.substr(space + 1)));
    }
  }
  return parsed;
}

TEST(MetricsTest, RendersCountersAndGaugesWithHelpAndType) {
  MetricsRegistry registry;
  absl::StatusOr<Counter*> sent =
      registry.AddCounter("cachemesh_sent_total", "Sent.");
  absl::StatusOr<Gauge*> alive =
      registry.AddGauge("cachemesh_members", "Members.", {{"state", "alive"}});
  absl::StatusOr<Gauge*> dead =
      registry.AddGauge("cachemesh_members", "Members.", {{"state", "dead"}});
  ASSERT_TRUE(sent.ok() && alive.ok() && dead.ok());
  (*sent)->Increment();
  (*sent)->Increment(41);
  (*alive)->Set(3);
  (*dead)->Set(1);
  (*dead)->Add(-0.5);

  const Exposition parsed = Parse(registry.RenderPrometheus());
  EXPECT_EQ(
      parsed.family_order,
      (std::vector<std::string>{"cachemesh_sent_total", "cachemesh_members"}));
  EXPECT_EQ(parsed.type.at("cachemesh_sent_total"), "counter");
  EXPECT_EQ(parsed.help.at("cachemesh_sent_total"), "Sent.");
  EXPECT_EQ(parsed.type.at("cachemesh_members"), "gauge");
  EXPECT_EQ(parsed.samples.at("cachemesh_sent_total"), 42);
  EXPECT_EQ(parsed.samples.at("cachemesh_members{state=\"alive\"}"), 3);
  EXPECT_EQ(parsed.samples.at("cachemesh_members{state=\"dead\"}"), 0.5);
  EXPECT_EQ((*sent)->value(), 42u);
}

TEST(MetricsTest, RendersHistogramsCumulatively) {
  MetricsRegistry registry;
  absl::StatusOr<Histogram*> latency =
      registry.AddHistogram("cachemesh_latency_seconds", "Latency.",
                            {0.00005, 0.001, 1}, {{"origin", "app2"}});
  ASSERT_TRUE(latency.ok()) << latency.status();
  for (double value : {0.00001, 0.00005, 0.0005, 0.5, 2.0}) {
    (*latency)->Observe(value);
  }

  const Exposition parsed = Parse(registry.RenderPrometheus());
  EXPECT_EQ(parsed.type.at("cachemesh_latency_seconds"), "histogram");
  const auto bucket = [&](const std::string& le) {
    return parsed.samples.at(
        "cachemesh_latency_seconds_bucket{origin=\"app2\","
        "le=\"" +
        le + "\"}");
  };
  EXPECT_EQ(bucket("5e-05"), 2);  // A value on a bound counts in its bucket.
  EXPECT_EQ(bucket("0.001"), 3);
  EXPECT_EQ(bucket("1"), 4);
  EXPECT_EQ(bucket("+Inf"), 5);
  EXPECT_EQ(
      parsed.samples.at("cachemesh_latency_seconds_count{origin=\"app2\"}"), 5);
  EXPECT_NEAR(
      parsed.samples.at("cachemesh_latency_seconds_sum{origin=\"app2\"}"),
      2.50056, 1e-9);
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry
                  .AddCounter("odd_total", "Line one\nback\\slash",
                              {{"path", "a\"b\\c\nd"}})
                  .ok());
  const std::string text = registry.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("# HELP odd_total Line one\\nback\\\\slash\n"));
  EXPECT_THAT(text, HasSubstr("odd_total{path=\"a\\\"b\\\\c\\nd\"} 0\n"));
}

TEST(MetricsTest, RejectsBadRegistrations) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddCounter("ok_total", "Ok.").ok());

  EXPECT_EQ(registry.AddCounter("9lives", "Bad.").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("has space", "Bad.").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("x_total", "Bad.", {{"bad-label", "v"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("x_total", "Bad.", {{"a", "1"}, {"a", "2"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok_total", "Ok.").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddGauge("ok_total", "Ok.", {{"a", "1"}}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddHistogram("h", "H.", {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "H.", {2, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "H.", {1, INFINITY}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status le =
      registry.AddHistogram("h", "H.", {1}, {{"le", "x"}}).status();
  EXPECT_EQ(le.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(le.message(), HasSubstr("'le'"));
  // Failed registrations leave no trace.
  EXPECT_EQ(Parse(registry.RenderPrometheus()).family_order,
            std::vector<std::string>{"ok_total"});
}

TEST(MetricsTest, FormatsValuesAsPrometheusDoes) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1), "1");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(0.00005), "5e-05");
  EXPECT_EQ(FormatMetricValue(1234567.25), "1234567.25");
  EXPECT_EQ(FormatMetricValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatMetricValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatMetricValue(NAN), "NaN");
  const double third = 1.0 / 3;
  EXPECT_EQ(std::strtod(FormatMetricValue(third).c_str(), nullptr), third);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  Counter* counter = *registry.AddCounter("c_total", "C.");
  Gauge* gauge = *registry.AddGauge("g", "G.");
  Histogram* histogram = *registry.AddHistogram("h", "H.", {1});
  constexpr int kThreads = 4;
  constexpr int kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        counter->Increment();
        gauge->Add(1);
        histogram->Observe(0.5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const Exposition parsed = Parse(registry.RenderPrometheus());
  EXPECT_EQ(parsed.samples.at("c_total"), kThreads * kEach);
  EXPECT_EQ(parsed.samples.at("g"), kThreads * kEach);
  EXPECT_EQ(parsed.samples.at("h_count"), kThreads * kEach);
  EXPECT_EQ(parsed.samples.at("h_sum"), kThreads * kEach * 0.5);
}

}  // namespace
}  // namespace cachemesh
