#include "tools/bench/cachemesh_bench.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "net/client.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace bench {
namespace {

constexpr absl::Duration kReceivePoll = absl::Milliseconds(20);
constexpr absl::Duration kWarmUpInterval = absl::Milliseconds(10);
constexpr absl::Duration kWarmUpLimit = absl::Seconds(10);
// A run's tail is given up on after this long without any delivery.
constexpr absl::Duration kQuietLimit = absl::Seconds(3);
constexpr absl::Duration kWindowBackoff = absl::Microseconds(500);

constexpr char kWarmUpTag = 'w';
constexpr char kLatencyTag = 'l';
constexpr char kThroughputTag = 't';

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

// One receiving app: a net::Client on its own thread, sorting events by the
// tag their key starts with.
class Receiver {
 public:
  static absl::StatusOr<std::unique_ptr<Receiver>> Start(
      const std::string& endpoint, const std::string& thread_name,
      size_t expected_samples) {
    absl::StatusOr<std::unique_ptr<net::Client>> client =
        net::Client::Connect(endpoint);
    if (!client.ok()) return client.status();
    std::unique_ptr<Receiver> receiver(new Receiver(*std::move(client)));
    receiver->latency_ns_.reserve(expected_samples);
    receiver->thread_ = std::thread([r = receiver.get(), thread_name] {
      pthread_setname_np(pthread_self(), thread_name.c_str());
      r->Loop();
    });
    return receiver;
  }

  ~Receiver() { Stop(); }

  // Joins the thread; afterwards latency_ns() and status() may be read.
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  bool warmed_up() const { return warmed_up_.load(); }
  uint64_t latency_received() const { return latency_received_.load(); }
  uint64_t throughput_received() const {
    return throughput_received_.load();
  }
  uint64_t flushes() const { return flushes_.load(); }
  int64_t first_throughput_ns() const { return first_throughput_ns_.load(); }
  int64_t last_throughput_ns() const { return last_throughput_ns_.load(); }
  std::vector<int64_t>& latency_ns() { return latency_ns_; }
  const absl::Status& status() const { return status_; }

 private:
  explicit Receiver(std::unique_ptr<net::Client> client)
      : client_(std::move(client)) {}

  // Takes events in bulk, as a busy app would (net::Client::ReceiveAll).
  void Loop() {
    while (!stop_.load(std::memory_order_relaxed)) {
      absl::StatusOr<size_t> received = client_->ReceiveAll(
          kReceivePoll,
          [this](const v1::AppEvent& event) { Record(event, NowNanos()); });
      if (!received.ok()) {
        status_ = received.status();
        return;
      }
    }
  }

  void Record(const v1::AppEvent& event, int64_t now_ns) {
    if (event.kind() == v1::AppEvent::FLUSH) {
      flushes_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::string& key = event.invalidation().key();
    if (key.empty()) return;
    switch (key[0]) {
      case kWarmUpTag:
        warmed_up_.store(true);
        break;
      case kLatencyTag: {
        int64_t sent_ns = 0;
        if (absl::SimpleAtoi(absl::string_view(key).substr(1), &sent_ns)) {
          latency_ns_.push_back(now_ns - sent_ns);
        }
        latency_received_.fetch_add(1, std::memory_order_release);
        break;
      }
      case kThroughputTag:
        if (throughput_received_.load(std::memory_order_relaxed) == 0) {
          first_throughput_ns_.store(now_ns, std::memory_order_relaxed);
        }
        last_throughput_ns_.store(now_ns, std::memory_order_relaxed);
        throughput_received_.fetch_add(1, std::memory_order_release);
        break;
      default:
        break;
    }
  }

  std::unique_ptr<net::Client> client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> warmed_up_{false};
  std::atomic<uint64_t> latency_received_{0};
  std::atomic<uint64_t> throughput_received_{0};
  std::atomic<uint64_t> flushes_{0};
  std::atomic<int64_t> first_throughput_ns_{0};
  std::atomic<int64_t> last_throughput_ns_{0};
  // Written by the thread only; read after Stop().
  std::vector<int64_t> latency_ns_;
  absl::Status status_;
};

using Receivers = std::vector<std::unique_ptr<Receiver>>;

template <typename Count>
uint64_t Slowest(const Receivers& receivers, Count count) {
  uint64_t slowest = UINT64_MAX;
  for (const auto& receiver : receivers) {
    slowest = std::min(slowest, count(*receiver));
  }
  return slowest;
}

uint64_t TotalFlushes(const Receivers& receivers) {
  uint64_t total = 0;
  for (const auto& receiver : receivers) total += receiver->flushes();
  return total;
}

// Waits until the slowest receiver's `count` reaches `target`, giving up
// after kQuietLimit without progress.
template <typename Count>
void AwaitDeliveries(const Receivers& receivers, Count count,
                     uint64_t target) {
  uint64_t seen = 0;
  absl::Time last_progress = absl::Now();
  for (;;) {
    uint64_t total = 0;
    for (const auto& receiver : receivers) total += count(*receiver);
    if (Slowest(receivers, count) >= target) return;
    if (total != seen) {
      seen = total;
      last_progress = absl::Now();
    } else if (absl::Now() - last_progress > kQuietLimit) {
      return;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

v1::InvalidationList OneInvalidation(char tag) {
  v1::InvalidationList list;
  v1::Invalidation* invalidation = list.add_invalidations();
  invalidation->set_op(v1::Invalidation::UPDATE);
  invalidation->set_region(kRegion);
  invalidation->set_key(std::string(1, tag));
  return list;
}

absl::StatusOr<absl::Duration> WarmUp(net::Client& publisher,
                                      const Receivers& receivers) {
  const v1::InvalidationList list = OneInvalidation(kWarmUpTag);
  const absl::Time start = absl::Now();
  for (;;) {
    bool all = true;
    for (const auto& receiver : receivers) all &= receiver->warmed_up();
    if (all) return absl::Now() - start;
    if (absl::Now() - start > kWarmUpLimit) {
      return absl::DeadlineExceededError(absl::StrCat(
          "warm-up: not every receiver got an invalidation within ",
          absl::FormatDuration(kWarmUpLimit)));
    }
    if (absl::Status sent = publisher.Publish(list); !sent.ok()) return sent;
    absl::SleepFor(kWarmUpInterval);
  }
}

LatencyRun RunLatency(net::Client& publisher, const Receivers& receivers,
                      const CachemeshBenchOptions& options) {
  LatencyRun run;
  const uint64_t flushes_before = TotalFlushes(receivers);
  const uint64_t total = static_cast<uint64_t>(
      options.rate * absl::ToDoubleSeconds(options.latency_duration));
  v1::InvalidationList list = OneInvalidation(kLatencyTag);
  std::string* key = list.mutable_invalidations(0)->mutable_key();
  std::vector<int64_t> lateness_ns;
  lateness_ns.reserve(total);
  const CpuMeter cpu;
  const ThreadCpuMeter threads;
  Pacer pacer(options.rate);
  for (uint64_t i = 0; i < total; ++i) {
    lateness_ns.push_back(absl::ToInt64Nanoseconds(pacer.WaitForNext()));
    key->resize(1);
    absl::StrAppend(key, NowNanos());
    if (publisher.Publish(list).ok()) {
      ++run.published;
    } else {
      ++run.publish_errors;
    }
  }
  AwaitDeliveries(
      receivers, [](const Receiver& r) { return r.latency_received(); },
      run.published);
  run.cpu_busy = cpu.Busy();
  run.cpu_by_role = threads.Take();
  run.publisher_lateness = Summarize(lateness_ns);
  run.flushes = TotalFlushes(receivers) - flushes_before;
  return run;
}

// `batch` invalidations with 20-byte keys, like the latency run's.
v1::InvalidationList ThroughputList(int batch) {
  v1::InvalidationList list;
  for (int i = 0; i < batch; ++i) {
    v1::Invalidation* invalidation = list.add_invalidations();
    invalidation->set_op(v1::Invalidation::UPDATE);
    invalidation->set_region(kRegion);
    invalidation->set_key(absl::StrFormat("%c%019d", kThroughputTag, i));
  }
  return list;
}

ThroughputRun RunThroughput(net::Client& publisher, const Receivers& receivers,
                            const CachemeshBenchOptions& options) {
  ThroughputRun run;
  auto received = [](const Receiver& r) { return r.throughput_received(); };
  const uint64_t flushes_before = TotalFlushes(receivers);
  const v1::InvalidationList list = ThroughputList(options.batch);
  const CpuMeter cpu;
  const ThreadCpuMeter threads;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options.throughput_limit;
  while (run.published < options.throughput_count && absl::Now() < deadline) {
    while (options.window > 0 &&
           run.published - Slowest(receivers, received) > options.window &&
           absl::Now() < deadline) {
      absl::SleepFor(kWindowBackoff);
    }
    if (publisher.Publish(list).ok()) {
      run.published += options.batch;
    } else {
      ++run.publish_errors;
    }
  }
  run.publish_span = absl::Now() - start;
  AwaitDeliveries(receivers, received, run.published);
  run.cpu_busy = cpu.Busy();
  run.cpu_by_role = threads.Take();
  int64_t last_ns = 0;
  for (const auto& receiver : receivers) {
    const uint64_t delivered = receiver->throughput_received();
    run.delivered.push_back(delivered);
    run.per_second.push_back(PerSecond(
        delivered, absl::Nanoseconds(receiver->last_throughput_ns() -
                                     receiver->first_throughput_ns())));
    last_ns = std::max(last_ns, receiver->last_throughput_ns());
  }
  if (Slowest(receivers, received) >= run.published) {
    run.end_to_end_per_second =
        PerSecond(run.published, absl::FromUnixNanos(last_ns) - start);
  }
  run.flushes = TotalFlushes(receivers) - flushes_before;
  return run;
}

}  // namespace

absl::StatusOr<CachemeshResults> RunCachemeshBench(
    const CachemeshBenchOptions& options) {
  if (options.endpoints.size() < 2) {
    return absl::InvalidArgumentError("need a publisher and a receiver");
  }
  const size_t expected_samples = static_cast<size_t>(
      options.rate * absl::ToDoubleSeconds(options.latency_duration) * 1.1);
  Receivers receivers;
  for (size_t i = 1; i < options.endpoints.size(); ++i) {
    absl::StatusOr<std::unique_ptr<Receiver>> receiver =
        Receiver::Start(options.endpoints[i], absl::StrCat("app-", i),
                        expected_samples);
    if (!receiver.ok()) return receiver.status();
    receivers.push_back(*std::move(receiver));
  }
  absl::StatusOr<std::unique_ptr<net::Client>> publisher =
      net::Client::Connect(options.endpoints[0]);
  if (!publisher.ok()) return publisher.status();

  CachemeshResults results;
  absl::StatusOr<absl::Duration> warm_up = WarmUp(**publisher, receivers);
  if (!warm_up.ok()) return warm_up.status();
  results.warm_up = *warm_up;
  results.latency = RunLatency(**publisher, receivers, options);
  if (options.throughput) {
    results.throughput = RunThroughput(**publisher, receivers, options);
  }

  std::vector<int64_t> samples;
  for (const auto& receiver : receivers) {
    receiver->Stop();
    if (!receiver->status().ok()) return receiver->status();
    results.latency.delivered.push_back(receiver->latency_ns().size());
    samples.insert(samples.end(), receiver->latency_ns().begin(),
                   receiver->latency_ns().end());
  }
  results.latency.latency = Summarize(samples);
  return results;
}

}  // namespace bench
}  // namespace cachemesh
