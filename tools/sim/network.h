// The simulated network of the cluster simulator: per-link latency with
// uniform jitter, random loss, and cut links (symmetric or one-way
// partitions). Links are FIFO, like the TCP connections ZeroMQ rides on.
// All randomness comes from one seeded generator, so a run is reproducible.
#ifndef CACHEMESH_TOOLS_SIM_NETWORK_H_
#define CACHEMESH_TOOLS_SIM_NETWORK_H_

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "absl/time/time.h"

namespace cachemesh {
namespace sim {

struct NetworkOptions {
  // One-way delay of a link, plus or minus up to `jitter` (uniform).
  absl::Duration latency = absl::Microseconds(200);
  absl::Duration jitter = absl::Microseconds(100);
  // Probability that one delivery is lost.
  double loss = 0.0;
};

struct NetworkStats {
  uint64_t sent = 0;
  uint64_t lost = 0;
  uint64_t cut = 0;
};

// Nodes are dense indexes 0..size()-1 ("slots").
class SimNetwork {
 public:
  SimNetwork(const NetworkOptions& options, uint64_t seed);

  // Adds a slot; returns its index.
  int AddNode();
  int size() const { return static_cast<int>(cut_.size()); }

  // When a message sent at `now` on from->to arrives, or nullopt when it is
  // lost at random or the link is cut.
  std::optional<absl::Time> Send(int from, int to, absl::Time now);
  // Like Send, but never lost at random (connection setup: TCP retries).
  std::optional<absl::Time> SendReliably(int from, int to, absl::Time now);

  // Cuts from->to: `to` no longer hears `from`.
  void Cut(int from, int to);
  // Restores every cut link.
  void HealAll(absl::Time now);
  bool IsCut(int from, int to) const { return cut_[from][to]; }
  bool AnyCut() const { return cut_links_ > 0; }
  // True when a link of `node` is cut, or was within `window` before `now`.
  bool CutRecently(int node, absl::Time now, absl::Duration window) const;

  void set_loss(double loss) { options_.loss = loss; }
  const NetworkStats& stats() const { return stats_; }
  // A uniform double in [0, 1) from the network's generator.
  double Uniform();

 private:
  std::optional<absl::Time> Deliver(int from, int to, absl::Time now,
                                    bool lossy);

  NetworkOptions options_;
  std::mt19937_64 random_;
  // [from][to]
  std::vector<std::vector<char>> cut_;
  std::vector<std::vector<absl::Time>> last_arrival_;
  // Per node: cut links touching it, and when the last such cut healed.
  std::vector<int> cut_count_;
  std::vector<absl::Time> last_healed_;
  int cut_links_ = 0;
  NetworkStats stats_;
};

}  // namespace sim
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_SIM_NETWORK_H_
