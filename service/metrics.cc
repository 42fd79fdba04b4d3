#include "service/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {
namespace {

// Adds `delta` to an atomic double (no fetch_add for floating point in C++17).
void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta,
                                       std::memory_order_relaxed)) {
  }
}

bool IsNameStart(char c, bool colon_allowed) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (colon_allowed && c == ':');
}

bool IsValidName(absl::string_view name, bool colon_allowed) {
  if (name.empty() || !IsNameStart(name[0], colon_allowed)) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return IsNameStart(c, colon_allowed) || (c >= '0' && c <= '9');
  });
}

absl::Status ValidateLabels(absl::string_view metric,
                            const MetricLabels& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i].first;
    if (!IsValidName(label, /*colon_allowed=*/false) ||
        absl::StartsWith(label, "__")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric ", metric, ": invalid label name '", label, "'"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (labels[j].first == label) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric ", metric, ": label '", label, "' repeated"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateBounds(absl::string_view metric,
                            const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram ", metric,
          ": bucket bounds must be finite and strictly increasing, bound ", i,
          " is ", FormatMetricValue(bounds[i])));
    }
  }
  return absl::OkStatus();
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}`, with `le` appended if given; empty without labels.
std::string RenderLabels(const MetricLabels& labels,
                         const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ",";
    absl::StrAppend(&out, name, "=\"", EscapeLabelValue(value), "\"");
  }
  if (le != nullptr) {
    if (out.size() > 1) out += ",";
    absl::StrAppend(&out, "le=\"", *le, "\"");
  }
  out += "}";
  return out;
}

void RenderHistogram(const std::string& name, const MetricLabels& labels,
                     const Histogram& histogram, std::string& out) {
  const std::vector<uint64_t> counts = histogram.BucketCounts();
  const std::vector<double>& bounds = histogram.upper_bounds();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le =
        i < bounds.size() ? FormatMetricValue(bounds[i]) : "+Inf";
    absl::StrAppend(&out, name, "_bucket", RenderLabels(labels, &le), " ",
                    cumulative, "\n");
  }
  absl::StrAppend(&out, name, "_sum", RenderLabels(labels), " ",
                  FormatMetricValue(histogram.sum()), "\n");
  absl::StrAppend(&out, name, "_count", RenderLabels(labels), " ", cumulative,
                  "\n");
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::string text = absl::StrFormat("%.15g", value);
  if (std::strtod(text.c_str(), nullptr) != value) {
    text = absl::StrFormat("%.17g", value);
  }
  return text;
}

void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double value) {
  const size_t bucket = std::isnan(value)
                            ? upper_bounds_.size()
                            : std::lower_bound(upper_bounds_.begin(),
                                               upper_bounds_.end(), value) -
                                  upper_bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

absl::Status MetricsRegistry::AddSeries(absl::string_view name,
                                        absl::string_view help, Type type,
                                        Series series) {
  if (!IsValidName(name, /*colon_allowed=*/true)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid metric name '", name, "'"));
  }
  if (absl::Status status = ValidateLabels(name, series.labels); !status.ok()) {
    return status;
  }
  absl::MutexLock lock(&mutex_);
  auto family = std::find_if(
      families_.begin(), families_.end(),
      [&](const std::unique_ptr<Family>& f) { return f->name == name; });
  if (family == families_.end()) {
    families_.push_back(std::make_unique<Family>(
        Family{std::string(name), std::string(help), type, {}}));
    family = families_.end() - 1;
  } else if ((*family)->type != type || (*family)->help != help) {
    return absl::AlreadyExistsError(absl::StrCat(
        "metric ", name, " is already registered with another type or help"));
  }
  for (const Series& existing : (*family)->series) {
    if (existing.labels == series.labels) {
      return absl::AlreadyExistsError(absl::StrCat("metric ", name,
                                                   RenderLabels(series.labels),
                                                   " is already registered"));
    }
  }
  (*family)->series.push_back(std::move(series));
  return absl::OkStatus();
}

absl::StatusOr<Counter*> MetricsRegistry::AddCounter(absl::string_view name,
                                                     absl::string_view help,
                                                     MetricLabels labels) {
  Series series;
  series.labels = std::move(labels);
  series.counter = std::make_unique<Counter>();
  Counter* counter = series.counter.get();
  if (absl::Status status =
          AddSeries(name, help, Type::kCounter, std::move(series));
      !status.ok()) {
    return status;
  }
  return counter;
}

absl::StatusOr<Gauge*> MetricsRegistry::AddGauge(absl::string_view name,
                                                 absl::string_view help,
                                                 MetricLabels labels) {
  Series series;
  series.labels = std::move(labels);
  series.gauge = std::make_unique<Gauge>();
  Gauge* gauge = series.gauge.get();
  if (absl::Status status =
          AddSeries(name, help, Type::kGauge, std::move(series));
      !status.ok()) {
    return status;
  }
  return gauge;
}

absl::StatusOr<Histogram*> MetricsRegistry::AddHistogram(
    absl::string_view name, absl::string_view help,
    std::vector<double> upper_bounds, MetricLabels labels) {
  if (absl::Status status = ValidateBounds(name, upper_bounds); !status.ok()) {
    return status;
  }
  for (const auto& label : labels) {
    if (label.first == "le") {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram ", name, ": label 'le' is reserved for buckets"));
    }
  }
  Series series;
  series.labels = std::move(labels);
  series.histogram.reset(new Histogram(std::move(upper_bounds)));
  Histogram* histogram = series.histogram.get();
  if (absl::Status status =
          AddSeries(name, help, Type::kHistogram, std::move(series));
      !status.ok()) {
    return status;
  }
  return histogram;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  absl::MutexLock lock(&mutex_);
  for (const std::unique_ptr<Family>& family : families_) {
    const char* type = family->type == Type::kCounter ? "counter"
                       : family->type == Type::kGauge ? "gauge"
                                                      : "histogram";
    absl::StrAppend(&out, "# HELP ", family->name, " ",
                    EscapeHelp(family->help), "\n# TYPE ", family->name, " ",
                    type, "\n");
    for (const Series& series : family->series) {
      if (series.counter != nullptr) {
        absl::StrAppend(&out, family->name, RenderLabels(series.labels), " ",
                        series.counter->value(), "\n");
      } else if (series.gauge != nullptr) {
        absl::StrAppend(&out, family->name, RenderLabels(series.labels), " ",
                        FormatMetricValue(series.gauge->value()), "\n");
      } else {
        RenderHistogram(family->name, series.labels, *series.histogram, out);
      }
    }
  }
  return out;
}

}  // namespace cachemesh
