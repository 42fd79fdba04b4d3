// Counters, gauges and histograms, rendered as Prometheus text (GET /metrics).
//
// Register every metric once at setup; the registry owns them and hands out
// pointers that stay valid for its lifetime. Updating a metric is a few
// relaxed atomic operations, safe from any thread (the event loop); rendering
// takes the registry's lock only against concurrent registration.
#ifndef CACHEMESH_SERVICE_METRICS_H_
#define CACHEMESH_SERVICE_METRICS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cachemesh {

// Label name/value pairs of one series, e.g. {{"state", "alive"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  void Increment(uint64_t by = 1) {
    value_.fetch_add(by, std::memory_order_relaxed);
  }
  // For a counter that mirrors a component's own running total (which never
  // decreases): sets it to `total`.
  void SetTotal(uint64_t total) {
    value_.store(total, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into fixed buckets (`value <= upper bound`), plus an
// implicit +Inf bucket, and keeps their sum.
class Histogram {
 public:
  void Observe(double value);

  // Per-bucket counts (not cumulative), the last one being +Inf.
  std::vector<uint64_t> BucketCounts() const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  friend class MetricsRegistry;
  // `upper_bounds` finite and strictly increasing (checked by the registry).
  explicit Histogram(std::vector<double> upper_bounds);

  const std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a series. Several series may share a name (one family) if
  // their types and help agree and their labels differ. Errors name the
  // metric: invalid metric or label names, a type or help mismatch, a
  // duplicate series; for histograms, bounds that are not finite and
  // strictly increasing, or a label named "le".
  absl::StatusOr<Counter*> AddCounter(absl::string_view name,
                                      absl::string_view help,
                                      MetricLabels labels = {});
  absl::StatusOr<Gauge*> AddGauge(absl::string_view name,
                                  absl::string_view help,
                                  MetricLabels labels = {});
  absl::StatusOr<Histogram*> AddHistogram(absl::string_view name,
                                          absl::string_view help,
                                          std::vector<double> upper_bounds,
                                          MetricLabels labels = {});

  // Prometheus text exposition format 0.0.4, families in registration order.
  std::string RenderPrometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::vector<Series> series;
  };

  // Adds `series` (with its metric set) to the family `name`, creating it.
  absl::Status AddSeries(absl::string_view name, absl::string_view help,
                         Type type, Series series);

  mutable absl::Mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mutex_);
};

// Formats a sample value as Prometheus does: shortest round-trip decimal,
// "+Inf", "-Inf" or "NaN".
std::string FormatMetricValue(double value);

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_METRICS_H_
