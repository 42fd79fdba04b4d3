#include "tools/bench/redis_load.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "tools/bench/measure.h"
#include "tools/bench/redis_cluster.h"
#include "tools/bench/resp_client.h"

namespace cachemesh {
namespace bench {
namespace {

constexpr absl::Duration kConnectTimeout = absl::Seconds(5);
constexpr absl::Duration kReplyTimeout = absl::Seconds(5);
constexpr absl::Duration kReceivePoll = absl::Milliseconds(50);
constexpr absl::Duration kWarmUpInterval = absl::Milliseconds(10);
constexpr absl::Duration kWarmUpLimit = absl::Seconds(10);
constexpr absl::Duration kSettle = absl::Milliseconds(200);
// How long the server's idle CPU is measured.
constexpr absl::Duration kIdle = absl::Seconds(1);
// A run's tail is given up on after this long without any delivery.
constexpr absl::Duration kQuietLimit = absl::Seconds(3);
// Most PUBLISH commands written at once in the throughput run.
constexpr uint64_t kMaxBurst = 64;

constexpr char kWarmUpTag = 'w';
constexpr char kLatencyTag = 'l';
constexpr char kThroughputTag = 't';
// The payload's first field: tag, 12-digit sequence number, '-', 19-digit
// send time (CLOCK_MONOTONIC ns), "-bn": 36 characters, as long as the
// instance id DHIS 2 puts there.
constexpr size_t kSeqAt = 1;
constexpr size_t kSeqDigits = 12;
constexpr size_t kNanosAt = kSeqAt + kSeqDigits + 1;
constexpr size_t kNanosDigits = 19;
constexpr char kPayloadTail[] =
    "-bn:update:org.hisp.dhis.dataelement.DataElement:fbfJHSPpUQD";

int64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

std::string Payload(char tag, uint64_t seq) {
  return absl::StrFormat("%c%012d-%019d%s", tag, seq, MonotonicNanos(),
                         kPayloadTail);
}

// The command publishing `payload` on `channel`.
void AppendPublish(std::string* out, absl::string_view channel,
                   absl::string_view payload) {
  AppendCommand(out, {"PUBLISH", channel, payload});
}

Percentiles Percentify(std::vector<int64_t>& samples_ns) {
  Percentiles result;
  if (samples_ns.empty()) return result;
  std::sort(samples_ns.begin(), samples_ns.end());
  const auto nearest = [&samples_ns](double fraction) {
    const size_t rank = static_cast<size_t>(
        std::ceil(fraction * static_cast<double>(samples_ns.size())));
    const size_t index =
        std::min(samples_ns.size() - 1, rank == 0 ? 0 : rank - 1);
    return absl::Nanoseconds(samples_ns[index]);
  };
  result.count = samples_ns.size();
  result.p50 = nearest(0.50);
  result.p90 = nearest(0.90);
  result.p99 = nearest(0.99);
  result.max = absl::Nanoseconds(samples_ns.back());
  return result;
}

// One subscriber connection and its reading thread.
class Subscriber {
 public:
  static absl::StatusOr<std::unique_ptr<Subscriber>> Start(
      int port, const std::string& channel, int index,
      size_t expected_samples) {
    absl::StatusOr<std::unique_ptr<RespConnection>> connection =
        RespConnection::Connect(port, kConnectTimeout);
    if (!connection.ok()) return connection.status();
    RespReply reply;
    if (absl::Status called =
            (*connection)->Call({"SUBSCRIBE", channel}, kReplyTimeout, &reply);
        !called.ok()) {
      return called;
    }
    if (!reply.array || reply.items.size() != 3 ||
        reply.items[0].text != "subscribe" || reply.items[1].text != channel) {
      return absl::DataLossError(
          absl::StrCat("port ", port, ": unexpected SUBSCRIBE reply"));
    }
    std::unique_ptr<Subscriber> subscriber(
        new Subscriber(*std::move(connection), channel));
    subscriber->latency_ns_.reserve(expected_samples);
    subscriber->thread_ = std::thread([s = subscriber.get(), index] {
      pthread_setname_np(pthread_self(),
                         absl::StrCat("rb-sub-", index).c_str());
      s->tid_.store(CurrentTid());
      s->Loop();
    });
    while (subscriber->tid_.load() == 0) absl::SleepFor(absl::Microseconds(50));
    return subscriber;
  }

  ~Subscriber() { Stop(); }

  // Joins the thread; afterwards every figure may be read.
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  int tid() const { return tid_.load(); }
  bool warmed_up() const { return warmed_up_.load(); }
  uint64_t latency_received() const { return latency_received_.load(); }
  uint64_t throughput_received() const {
    return throughput_received_.load(std::memory_order_acquire);
  }
  int64_t last_throughput_ns() const { return last_throughput_ns_.load(); }
  uint64_t out_of_order() const { return out_of_order_.load(); }
  uint64_t unexpected() const { return unexpected_.load(); }
  std::vector<int64_t>& latency_ns() { return latency_ns_; }
  const std::string& error() const { return error_; }

 private:
  Subscriber(std::unique_ptr<RespConnection> connection, std::string channel)
      : connection_(std::move(connection)), channel_(std::move(channel)) {}

  void Loop() {
    while (!stop_.load(std::memory_order_relaxed)) {
      absl::StatusOr<size_t> read = connection_->ReadAvailable(
          kReceivePoll, [this](const RespReply& reply) { Record(reply); });
      if (!read.ok()) {
        error_ = read.status().ToString();
        return;
      }
    }
  }

  void Record(const RespReply& reply) {
    const int64_t now_ns = MonotonicNanos();
    if (!reply.array || reply.items.size() != 3 ||
        reply.items[0].text != "message" || reply.items[1].text != channel_) {
      unexpected_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const absl::string_view payload = reply.items[2].text;
    uint64_t seq = 0;
    int64_t sent_ns = 0;
    if (payload.size() < kNanosAt + kNanosDigits ||
        !absl::SimpleAtoi(payload.substr(kSeqAt, kSeqDigits), &seq) ||
        !absl::SimpleAtoi(payload.substr(kNanosAt, kNanosDigits), &sent_ns)) {
      unexpected_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    switch (payload[0]) {
      case kWarmUpTag:
        warmed_up_.store(true);
        return;
      case kLatencyTag:
        CheckOrder(seq, &next_latency_seq_);
        latency_ns_.push_back(now_ns - sent_ns);
        latency_received_.fetch_add(1, std::memory_order_release);
        return;
      case kThroughputTag:
        CheckOrder(seq, &next_throughput_seq_);
        last_throughput_ns_.store(now_ns, std::memory_order_relaxed);
        throughput_received_.fetch_add(1, std::memory_order_release);
        return;
      default:
        unexpected_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void CheckOrder(uint64_t seq, uint64_t* next) {
    if (seq != *next) out_of_order_.fetch_add(1, std::memory_order_relaxed);
    *next = seq + 1;
  }

  std::unique_ptr<RespConnection> connection_;
  const std::string channel_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> tid_{0};
  std::atomic<bool> warmed_up_{false};
  std::atomic<uint64_t> latency_received_{0};
  std::atomic<uint64_t> throughput_received_{0};
  std::atomic<int64_t> last_throughput_ns_{0};
  std::atomic<uint64_t> out_of_order_{0};
  std::atomic<uint64_t> unexpected_{0};
  uint64_t next_latency_seq_ = 0;
  uint64_t next_throughput_seq_ = 0;
  std::vector<int64_t> latency_ns_;  // owned by the thread until Stop()
  std::string error_;                // likewise
};

using Subscribers = std::vector<std::unique_ptr<Subscriber>>;
using CpuSample = std::vector<std::pair<int, int64_t>>;

// CPU of the server and of the clients over a stretch of time.
class CpuWatch {
 public:
  CpuWatch(pid_t server_pid, std::set<int> client_tids)
      : server_pid_(server_pid),
        client_tids_(std::move(client_tids)),
        wall_start_(absl::Now()),
        self_start_(TaskCpuNanos(0)),
        server_start_(server_pid == 0 ? CpuSample()
                                      : TaskCpuNanos(server_pid)) {}

  PhaseCpu Take() const {
    PhaseCpu cpu;
    cpu.wall = absl::Now() - wall_start_;
    const CpuSample self_now = TaskCpuNanos(0);
    const auto is_client = [this](int tid) {
      return client_tids_.count(tid) > 0;
    };
    cpu.clients = absl::Nanoseconds(CpuDelta(self_start_, self_now, is_client));
    if (server_pid_ == 0) {
      cpu.server = absl::Nanoseconds(
          CpuDelta(self_start_, self_now,
                   [&is_client](int tid) { return !is_client(tid); }));
    } else {
      cpu.server = absl::Nanoseconds(CpuDelta(
          server_start_, TaskCpuNanos(server_pid_), [](int) { return true; }));
    }
    return cpu;
  }

 private:
  pid_t server_pid_;
  std::set<int> client_tids_;
  absl::Time wall_start_;
  CpuSample self_start_;
  CpuSample server_start_;
};

uint64_t Slowest(const Subscribers& subscribers, bool throughput) {
  uint64_t slowest = UINT64_MAX;
  for (const std::unique_ptr<Subscriber>& s : subscribers) {
    slowest = std::min(
        slowest, throughput ? s->throughput_received() : s->latency_received());
  }
  return slowest;
}

// Waits until every subscriber has `count` messages of the run, or nothing
// arrived for kQuietLimit.
void Drain(const Subscribers& subscribers, bool throughput, uint64_t count) {
  uint64_t total = 0;
  absl::Time last_progress = absl::Now();
  while (Slowest(subscribers, throughput) < count) {
    uint64_t now_total = 0;
    for (const std::unique_ptr<Subscriber>& s : subscribers) {
      now_total +=
          throughput ? s->throughput_received() : s->latency_received();
    }
    if (now_total != total) {
      total = now_total;
      last_progress = absl::Now();
    } else if (absl::Now() - last_progress > kQuietLimit) {
      return;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

absl::Status WarmUp(RespConnection& publisher, const std::string& channel,
                    const Subscribers& subscribers) {
  const absl::Time deadline = absl::Now() + kWarmUpLimit;
  RespReply reply;
  for (uint64_t seq = 0;; ++seq) {
    std::string command;
    AppendPublish(&command, channel, Payload(kWarmUpTag, seq));
    if (absl::Status written = publisher.Write(command); !written.ok()) {
      return written;
    }
    if (absl::Status read = publisher.ReadReply(kReplyTimeout, &reply);
        !read.ok()) {
      return read;
    }
    if (std::all_of(subscribers.begin(), subscribers.end(),
                    [](const std::unique_ptr<Subscriber>& s) {
                      return s->warmed_up();
                    })) {
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("not every subscriber received a warm-up message in ",
                       absl::FormatDuration(kWarmUpLimit)));
    }
    absl::SleepFor(kWarmUpInterval);
  }
}

void RunLatency(const RedisLoadOptions& options, RespConnection& publisher,
                const Subscribers& subscribers, RedisLoadResults* results) {
  const uint64_t count = static_cast<uint64_t>(
      options.rate * absl::ToDoubleSeconds(options.latency_duration));
  std::vector<int64_t> rtt_ns;
  std::vector<int64_t> lateness_ns;
  rtt_ns.reserve(count);
  lateness_ns.reserve(count);
  results->reply_min = INT64_MAX;
  results->reply_max = INT64_MIN;
  Pacer pacer(options.rate);
  RespReply reply;
  std::string command;
  for (uint64_t seq = 0; seq < count; ++seq) {
    lateness_ns.push_back(absl::ToInt64Nanoseconds(pacer.WaitForNext()));
    command.clear();
    const int64_t sent_ns = MonotonicNanos();
    AppendPublish(&command, options.channel, Payload(kLatencyTag, seq));
    if (!publisher.Write(command).ok()) break;
    ++results->published;
    if (!publisher.ReadReply(kReplyTimeout, &reply).ok()) {
      ++results->publish_errors;
      break;
    }
    rtt_ns.push_back(MonotonicNanos() - sent_ns);
    if (reply.array || reply.items[0].type != ':') {
      ++results->publish_errors;
      continue;
    }
    results->reply_min = std::min(results->reply_min, reply.items[0].integer);
    results->reply_max = std::max(results->reply_max, reply.items[0].integer);
  }
  if (results->reply_min > results->reply_max) {
    results->reply_min = results->reply_max = 0;
  }
  Drain(subscribers, /*throughput=*/false, results->published);
  results->publish_rtt = Percentify(rtt_ns);
  results->lateness = Percentify(lateness_ns);
}

void RunThroughput(const RedisLoadOptions& options, RespConnection& publisher,
                   const Subscribers& subscribers, RedisLoadResults* results) {
  const uint64_t window = std::max<uint64_t>(1, options.window);
  uint64_t sent = 0;
  uint64_t replies = 0;
  bool failed = false;
  const auto on_reply = [&](const RespReply& reply) {
    ++replies;
    if (reply.array || reply.items[0].type != ':') {
      ++results->throughput_publish_errors;
    }
  };
  std::string commands;
  const int64_t start_ns = MonotonicNanos();
  const absl::Time end = absl::Now() + options.throughput_duration;
  while (!failed && absl::Now() < end) {
    const uint64_t ahead = sent - Slowest(subscribers, /*throughput=*/true);
    const uint64_t unanswered = sent - replies;
    const uint64_t allowed = std::min(window - std::min(window, ahead),
                                      window - std::min(window, unanswered));
    if (allowed > 0) {
      commands.clear();
      const uint64_t burst = std::min(allowed, kMaxBurst);
      for (uint64_t i = 0; i < burst; ++i) {
        AppendPublish(&commands, options.channel,
                      Payload(kThroughputTag, sent + i));
      }
      if (!publisher.Write(commands).ok()) {
        failed = true;
        break;
      }
      sent += burst;
    }
    if (allowed == 0 && unanswered == 0) {
      // Waiting on the subscribers only: nothing to poll for.
      absl::SleepFor(absl::Microseconds(20));
      continue;
    }
    absl::StatusOr<size_t> read = publisher.ReadAvailable(
        allowed > 0 ? absl::ZeroDuration() : absl::Milliseconds(1), on_reply);
    if (!read.ok()) failed = true;
  }
  const int64_t publish_end_ns = MonotonicNanos();
  results->throughput_published = sent;
  results->publish_per_second =
      PerSecond(sent, absl::Nanoseconds(publish_end_ns - start_ns));
  const absl::Time reply_deadline = absl::Now() + kReplyTimeout;
  while (!failed && replies < sent && absl::Now() < reply_deadline) {
    if (!publisher.ReadAvailable(absl::Milliseconds(10), on_reply).ok()) break;
  }
  results->throughput_publish_errors += sent - replies;
  Drain(subscribers, /*throughput=*/true, sent);
}

}  // namespace

absl::StatusOr<RedisLoadResults> RunRedisLoad(const RedisLoadOptions& options) {
  const size_t expected = static_cast<size_t>(
      options.rate * absl::ToDoubleSeconds(options.latency_duration));
  Subscribers subscribers;
  std::set<int> client_tids = {static_cast<int>(getpid())};
  for (size_t i = 0; i < options.subscriber_ports.size(); ++i) {
    absl::StatusOr<std::unique_ptr<Subscriber>> subscriber =
        Subscriber::Start(options.subscriber_ports[i], options.channel,
                          static_cast<int>(i), expected);
    if (!subscriber.ok()) return subscriber.status();
    client_tids.insert((*subscriber)->tid());
    subscribers.push_back(*std::move(subscriber));
  }
  absl::StatusOr<std::unique_ptr<RespConnection>> publisher =
      RespConnection::Connect(options.publisher_port, kConnectTimeout);
  if (!publisher.ok()) return publisher.status();

  RedisLoadResults results;
  const absl::Time warm_up_start = absl::Now();
  if (absl::Status warm = WarmUp(**publisher, options.channel, subscribers);
      !warm.ok()) {
    return warm;
  }
  results.warm_up = absl::Now() - warm_up_start;
  absl::SleepFor(kSettle);  // warm-up stragglers arrive before we measure
  {
    const CpuWatch watch(options.server_pid, client_tids);
    absl::SleepFor(kIdle);
    results.idle_cpu = watch.Take();
  }

  {
    const CpuWatch watch(options.server_pid, client_tids);
    RunLatency(options, **publisher, subscribers, &results);
    results.latency_cpu = watch.Take();
  }
  int64_t throughput_start_ns = MonotonicNanos();
  if (options.throughput) {
    absl::SleepFor(kSettle);
    throughput_start_ns = MonotonicNanos();
    const CpuWatch watch(options.server_pid, client_tids);
    RunThroughput(options, **publisher, subscribers, &results);
    results.throughput_cpu = watch.Take();
  }

  std::vector<int64_t> all_latency_ns;
  double sum = 0;
  results.slowest_per_second = -1;
  for (std::unique_ptr<Subscriber>& s : subscribers) {
    s->Stop();
    SubscriberFigures figures;
    figures.latency_received = s->latency_received();
    figures.throughput_received = s->throughput_received();
    figures.out_of_order = s->out_of_order();
    figures.unexpected = s->unexpected();
    figures.error = s->error();
    if (options.throughput) {
      figures.throughput_per_second = PerSecond(
          figures.throughput_received,
          absl::Nanoseconds(s->last_throughput_ns() - throughput_start_ns));
    }
    all_latency_ns.insert(all_latency_ns.end(), s->latency_ns().begin(),
                          s->latency_ns().end());
    figures.latency = Percentify(s->latency_ns());
    sum += figures.throughput_per_second;
    if (results.slowest_per_second < 0 ||
        figures.throughput_per_second < results.slowest_per_second) {
      results.slowest_per_second = figures.throughput_per_second;
    }
    results.subscribers.push_back(std::move(figures));
  }
  results.mean_per_second =
      subscribers.empty() ? 0 : sum / static_cast<double>(subscribers.size());
  results.latency = Percentify(all_latency_ns);
  return results;
}

bool Complete(const RedisLoadResults& results) {
  for (const SubscriberFigures& s : results.subscribers) {
    if (s.latency_received != results.published ||
        s.throughput_received != results.throughput_published ||
        s.out_of_order != 0 || s.unexpected != 0 || !s.error.empty()) {
      return false;
    }
  }
  return results.publish_errors == 0 && results.throughput_publish_errors == 0;
}

}  // namespace bench
}  // namespace cachemesh
