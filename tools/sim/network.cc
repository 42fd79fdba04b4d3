#include "tools/sim/network.h"

#include <algorithm>

namespace cachemesh {
namespace sim {

SimNetwork::SimNetwork(const NetworkOptions& options, uint64_t seed)
    : options_(options), random_(seed) {}

int SimNetwork::AddNode() {
  const int slot = size();
  for (auto& row : cut_) row.push_back(0);
  for (auto& row : last_arrival_) row.push_back(absl::InfinitePast());
  cut_.emplace_back(slot + 1, 0);
  last_arrival_.emplace_back(slot + 1, absl::InfinitePast());
  cut_count_.push_back(0);
  last_healed_.push_back(absl::InfinitePast());
  return slot;
}

double SimNetwork::Uniform() {
  return static_cast<double>(random_() >> 11) * 0x1.0p-53;
}

std::optional<absl::Time> SimNetwork::Send(int from, int to, absl::Time now) {
  return Deliver(from, to, now, /*lossy=*/true);
}

std::optional<absl::Time> SimNetwork::SendReliably(int from, int to,
                                                   absl::Time now) {
  return Deliver(from, to, now, /*lossy=*/false);
}

std::optional<absl::Time> SimNetwork::Deliver(int from, int to, absl::Time now,
                                              bool lossy) {
  ++stats_.sent;
  if (cut_[from][to]) {
    ++stats_.cut;
    return std::nullopt;
  }
  if (lossy && options_.loss > 0 && Uniform() < options_.loss) {
    ++stats_.lost;
    return std::nullopt;
  }
  const absl::Time arrival =
      now + options_.latency + options_.jitter * (2 * Uniform() - 1);
  // FIFO: never overtake the previous message on this link.
  absl::Time& last = last_arrival_[from][to];
  last = std::max(last, arrival);
  return last;
}

void SimNetwork::Cut(int from, int to) {
  if (cut_[from][to]) return;
  cut_[from][to] = 1;
  ++cut_links_;
  ++cut_count_[from];
  ++cut_count_[to];
}

void SimNetwork::HealAll(absl::Time now) {
  for (int from = 0; from < size(); ++from) {
    for (int to = 0; to < size(); ++to) {
      if (!cut_[from][to]) continue;
      cut_[from][to] = 0;
      for (int node : {from, to}) {
        --cut_count_[node];
        last_healed_[node] = now;
      }
    }
  }
  cut_links_ = 0;
}

bool SimNetwork::CutRecently(int node, absl::Time now,
                             absl::Duration window) const {
  return cut_count_[node] > 0 || now - last_healed_[node] <= window;
}

}  // namespace sim
}  // namespace cachemesh
