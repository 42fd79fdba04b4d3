#include "tools/bench/raw_mesh_bench.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/context.h"
#include "net/mesh.h"
#include "net/poller.h"

namespace cachemesh {
namespace bench {
namespace {

constexpr absl::Duration kPoll = absl::Milliseconds(20);
constexpr absl::Duration kSubscribeLimit = absl::Seconds(5);
constexpr absl::Duration kQuietLimit = absl::Seconds(3);
constexpr absl::Duration kWindowBackoff = absl::Microseconds(100);
constexpr char kLatencyTag = 'l';
constexpr char kThroughputTag = 't';
// Tag byte, then the send time.
constexpr size_t kHeaderBytes = 1 + sizeof(int64_t);

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

std::string Payload(char tag, size_t bytes) {
  std::string payload(std::max(bytes, kHeaderBytes), 'x');
  payload[0] = tag;
  return payload;
}

void Stamp(std::string& payload) {
  const int64_t now = NowNanos();
  std::memcpy(&payload[1], &now, sizeof(now));
}

// Drains one Mesh on a thread of its own.
class RawReceiver {
 public:
  RawReceiver(std::unique_ptr<net::Context> context,
              std::unique_ptr<net::Mesh> mesh, size_t expected_samples)
      : context_(std::move(context)), mesh_(std::move(mesh)) {
    latency_ns_.reserve(expected_samples);
    thread_ = std::thread([this] { Loop(); });
  }
  ~RawReceiver() { Stop(); }

  // Joins the thread; afterwards latency_ns() and status() may be read.
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  uint64_t latency_received() const { return latency_received_.load(); }
  // Starts a new throughput count; call when no throughput message is in
  // flight.
  void ResetThroughput() { throughput_received_.store(0); }
  uint64_t throughput_received() const {
    return throughput_received_.load();
  }
  int64_t first_throughput_ns() const { return first_throughput_ns_.load(); }
  int64_t last_throughput_ns() const { return last_throughput_ns_.load(); }
  std::vector<int64_t>& latency_ns() { return latency_ns_; }
  const absl::Status& status() const { return status_; }

 private:
  void Loop() {
    net::Poller poller;
    poller.Add(mesh_.get());
    while (!stop_.load(std::memory_order_relaxed)) {
      absl::StatusOr<net::Ready> ready = poller.Wait(kPoll);
      if (!ready.ok()) {
        status_ = ready.status();
        return;
      }
      absl::StatusOr<net::MeshInput> input = mesh_->Drain();
      if (!input.ok()) {
        status_ = input.status();
        return;
      }
      for (const std::string& payload : input->payloads) Record(payload);
    }
  }

  void Record(const std::string& payload) {
    const int64_t now = NowNanos();
    if (payload.size() < kHeaderBytes) return;
    int64_t sent = 0;
    std::memcpy(&sent, &payload[1], sizeof(sent));
    if (payload[0] == kLatencyTag) {
      latency_ns_.push_back(now - sent);
      latency_received_.fetch_add(1, std::memory_order_release);
    } else if (payload[0] == kThroughputTag) {
      if (throughput_received_.load(std::memory_order_relaxed) == 0) {
        first_throughput_ns_.store(now, std::memory_order_relaxed);
      }
      last_throughput_ns_.store(now, std::memory_order_relaxed);
      throughput_received_.fetch_add(1, std::memory_order_release);
    }
  }

  // The mesh closes before its context ends.
  std::unique_ptr<net::Context> context_;
  std::unique_ptr<net::Mesh> mesh_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> latency_received_{0};
  std::atomic<uint64_t> throughput_received_{0};
  std::atomic<int64_t> first_throughput_ns_{0};
  std::atomic<int64_t> last_throughput_ns_{0};
  std::vector<int64_t> latency_ns_;
  absl::Status status_;
};

// A Mesh with a context of its own, as a daemon has; declared so that the
// mesh closes before its context ends.
struct Endpoint {
  std::unique_ptr<net::Context> context;
  std::unique_ptr<net::Mesh> mesh;
};

absl::StatusOr<Endpoint> NewEndpoint() {
  Endpoint endpoint;
  absl::StatusOr<std::unique_ptr<net::Context>> context =
      net::Context::Create();
  if (!context.ok()) return context.status();
  endpoint.context = *std::move(context);
  absl::StatusOr<std::unique_ptr<net::Mesh>> mesh = net::Mesh::Create(
      *endpoint.context, "tcp://127.0.0.1:*", "", net::MeshOptions());
  if (!mesh.ok()) return mesh.status();
  endpoint.mesh = *std::move(mesh);
  return endpoint;
}

// Waits until `sender` has seen `subscriber_endpoint`'s subscription, so no
// broadcast is lost to the slow-joiner race.
absl::Status AwaitSubscriber(net::Mesh& sender,
                             const std::string& subscriber_endpoint) {
  net::Poller poller;
  poller.Add(&sender);
  const absl::Time deadline = absl::Now() + kSubscribeLimit;
  while (absl::Now() < deadline) {
    absl::StatusOr<net::Ready> ready = poller.Wait(kPoll);
    if (!ready.ok()) return ready.status();
    absl::StatusOr<net::MeshInput> input = sender.Drain();
    if (!input.ok()) return input.status();
    for (const std::string& endpoint : input->announced_endpoints) {
      if (endpoint == subscriber_endpoint) return absl::OkStatus();
    }
  }
  return absl::DeadlineExceededError(
      absl::StrCat("raw mesh: ", subscriber_endpoint, " did not subscribe to ",
                   sender.bound_endpoint(), " within ",
                   absl::FormatDuration(kSubscribeLimit)));
}

template <typename Count>
void AwaitReceived(const RawReceiver& receiver, Count count, uint64_t target) {
  uint64_t seen = 0;
  absl::Time last_progress = absl::Now();
  while (count(receiver) < target) {
    if (count(receiver) != seen) {
      seen = count(receiver);
      last_progress = absl::Now();
    } else if (absl::Now() - last_progress > kQuietLimit) {
      return;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

RawLatencyRun RunLatency(net::Mesh& sender, const RawReceiver& receiver,
                         const RawMeshBenchOptions& options) {
  RawLatencyRun run;
  const uint64_t total = static_cast<uint64_t>(
      options.rate * absl::ToDoubleSeconds(options.latency_duration));
  std::string payload = Payload(kLatencyTag, options.single_bytes);
  const CpuMeter cpu;
  Pacer pacer(options.rate);
  for (uint64_t i = 0; i < total; ++i) {
    pacer.WaitForNext();
    Stamp(payload);
    if (sender.Broadcast(payload).ok()) ++run.sent;
  }
  AwaitReceived(
      receiver, [](const RawReceiver& r) { return r.latency_received(); },
      run.sent);
  run.cpu_busy = cpu.Busy();
  return run;
}

// Messages of `bytes`, each standing for `per_message` invalidations, for
// `duration`, at most `window` invalidations ahead of the receiver.
RawThroughputRun RunThroughput(net::Mesh& sender, RawReceiver& receiver,
                               size_t bytes, int per_message, uint64_t window,
                               absl::Duration duration) {
  RawThroughputRun run;
  run.message_bytes = bytes;
  run.invalidations_per_message = std::max(1, per_message);
  auto received = [](const RawReceiver& r) { return r.throughput_received(); };
  receiver.ResetThroughput();
  const uint64_t window_messages =
      window == 0 ? 0
                  : std::max<uint64_t>(
                        1, window / static_cast<uint64_t>(
                                        run.invalidations_per_message));
  std::string payload = Payload(kThroughputTag, bytes);
  const CpuMeter cpu;
  const absl::Time deadline = absl::Now() + duration;
  while (absl::Now() < deadline) {
    while (window_messages > 0 &&
           run.messages_sent - received(receiver) > window_messages &&
           absl::Now() < deadline) {
      absl::SleepFor(kWindowBackoff);
    }
    Stamp(payload);
    if (sender.Broadcast(payload).ok()) ++run.messages_sent;
  }
  AwaitReceived(receiver, received, run.messages_sent);
  run.cpu_busy = cpu.Busy();
  run.messages_received = received(receiver);
  run.messages_per_second =
      PerSecond(run.messages_received,
                absl::Nanoseconds(receiver.last_throughput_ns() -
                                  receiver.first_throughput_ns()));
  run.invalidations_per_second =
      run.messages_per_second * run.invalidations_per_message;
  return run;
}

}  // namespace

absl::StatusOr<RawMeshResults> RunRawMeshBench(
    const RawMeshBenchOptions& options) {
  absl::StatusOr<Endpoint> sender = NewEndpoint();
  if (!sender.ok()) return sender.status();
  absl::StatusOr<Endpoint> subscriber = NewEndpoint();
  if (!subscriber.ok()) return subscriber.status();
  const std::string subscriber_endpoint =
      subscriber->mesh->advertised_endpoint();
  if (absl::Status connected =
          subscriber->mesh->Connect(sender->mesh->bound_endpoint());
      !connected.ok()) {
    return connected;
  }
  const size_t expected_samples = static_cast<size_t>(
      options.rate * absl::ToDoubleSeconds(options.latency_duration) * 1.1);
  RawReceiver receiver(std::move(subscriber->context),
                       std::move(subscriber->mesh), expected_samples);
  if (absl::Status subscribed =
          AwaitSubscriber(*sender->mesh, subscriber_endpoint);
      !subscribed.ok()) {
    return subscribed;
  }

  RawMeshResults results;
  results.latency = RunLatency(*sender->mesh, receiver, options);
  if (options.throughput) {
    results.batched = RunThroughput(*sender->mesh, receiver,
                                    options.batch_bytes, options.batch,
                                    options.window, options.throughput_duration);
    results.single =
        RunThroughput(*sender->mesh, receiver, options.single_bytes, 1,
                      options.window, options.throughput_duration);
  }
  receiver.Stop();
  if (!receiver.status().ok()) return receiver.status();
  results.latency.received = receiver.latency_ns().size();
  results.latency.latency = Summarize(receiver.latency_ns());
  return results;
}

}  // namespace bench
}  // namespace cachemesh
