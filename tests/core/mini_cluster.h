// A perfect in-memory network for core tests: nodes exchange envelopes
// synchronously, links can be cut or filtered, and time moves in 1 ms steps.
// Each node runs under a NodeDriver, as in the daemon.
// (The simulator in tools/sim models latency, loss and partitions.)
#ifndef CACHEMESH_TESTS_CORE_MINI_CLUSTER_H_
#define CACHEMESH_TESTS_CORE_MINI_CLUSTER_H_

#include <algorithm>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/node.h"
#include "core/node_driver.h"

namespace cachemesh {

class MiniCluster {
 public:
  // Returns false to drop an envelope on the link from -> to.
  using LinkFilter =
      std::function<bool(int from, int to, const v1::Envelope& envelope)>;

  MiniCluster(int size, NodeOptions base) : base_(std::move(base)) {
    for (int i = 0; i < size; ++i) {
      slots_.emplace_back().host = std::make_unique<Host>(*this, i);
    }
    for (int i = 0; i < size; ++i) Start(i);
  }

  Node& node(int i) { return slots_[i].driver->node(); }
  absl::Time now() const { return clock_.Now(); }
  static std::string Id(int i) { return absl::StrCat("n", i); }
  static std::string Endpoint(int i) { return absl::StrCat("mem://n", i); }

  void Start(int i) {
    NodeOptions options = base_;
    options.id = Id(i);
    options.endpoint = Endpoint(i);
    options.instance_id = ++instances_;
    options.random_seed = instances_;
    if (i != 0) options.seeds = {Endpoint(0)};
    Slot& slot = slots_[i];
    slot.driver = std::make_unique<NodeDriver>(options, clock_, *slot.host);
    slot.up = true;
    slot.subscriptions.clear();
    slot.driver->Start();
    // Subscribers reconnect and resend their subscriptions.
    for (size_t j = 0; j < slots_.size(); ++j) {
      if (slots_[j].up && slots_[j].subscriptions.count(Endpoint(i)) > 0) {
        slot.driver->OnAnnouncedEndpoint(Endpoint(j));
      }
    }
    Pump();
  }
  void Crash(int i) { slots_[i].up = false; }
  void SetFilter(LinkFilter filter) { filter_ = std::move(filter); }

  // Advances time, ticking nodes at their deadlines. `paused` nodes neither
  // tick nor receive until the call ends; then they get what queued up.
  void Run(absl::Duration duration, std::set<int> paused = {}) {
    paused_ = paused;
    const absl::Time end = now() + duration;
    while (now() < end) {
      clock_.Advance(absl::Milliseconds(1));
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].up && paused.count(i) == 0) slots_[i].driver->TickIfDue();
      }
      Pump();
    }
    paused_.clear();
    for (int i : paused) {
      for (const std::shared_ptr<const v1::Envelope>& envelope :
           slots_[i].queued) {
        slots_[i].driver->OnEnvelope(envelope);
      }
      slots_[i].queued.clear();
    }
    Pump();
  }

  // Carries out every node's outputs until the cluster is quiet.
  void Pump() {
    for (bool busy = true; busy;) {
      busy = false;
      for (Slot& slot : slots_) {
        if (!slot.up) continue;
        slot.reached_others = false;
        slot.driver->CarryOutOutputs();
        busy |= slot.reached_others;
      }
    }
  }

  const std::vector<AppDelivery>& deliveries(int i) const {
    return slots_[i].deliveries;
  }
  const std::vector<MembershipChange>& changes(int i) const {
    return slots_[i].changes;
  }

  v1::MemberState StateOf(int observer, int member) {
    for (const v1::MemberView& view : node(observer).Members(now())) {
      if (view.id() == Id(member)) return view.state();
    }
    return v1::MEMBER_STATE_UNSPECIFIED;
  }

 private:
  // Carries out slot `i`'s outputs on this cluster.
  class Host final : public NodeHost {
   public:
    Host(MiniCluster& cluster, int i) : cluster_(cluster), i_(i) {}
    void Disconnect(const std::string& endpoint) override {
      cluster_.slots_[i_].subscriptions.erase(endpoint);
    }
    void Connect(const std::string& endpoint) override {
      cluster_.Connect(i_, endpoint);
    }
    void Broadcast(std::shared_ptr<const v1::Envelope> envelope) override {
      cluster_.Broadcast(i_, envelope);
    }
    void MembershipChanged(const MembershipChange& change) override {
      cluster_.slots_[i_].changes.push_back(change);
    }
    void Deliver(std::vector<AppDelivery>& deliveries) override {
      std::vector<AppDelivery>& all = cluster_.slots_[i_].deliveries;
      std::move(deliveries.begin(), deliveries.end(), std::back_inserter(all));
    }

   private:
    MiniCluster& cluster_;
    const int i_;
  };

  struct Slot {
    // Owned apart, so that the driver's reference to it stays valid.
    std::unique_ptr<Host> host;
    std::unique_ptr<NodeDriver> driver;
    bool up = false;
    // This Pump() turn fed other nodes (subscriptions or envelopes).
    bool reached_others = false;
    std::set<std::string> subscriptions;
    std::vector<std::shared_ptr<const v1::Envelope>> queued;
    std::vector<AppDelivery> deliveries;
    std::vector<MembershipChange> changes;
  };

  void Connect(int i, const std::string& endpoint) {
    slots_[i].reached_others = true;
    if (!slots_[i].subscriptions.insert(endpoint).second) return;
    for (size_t j = 0; j < slots_.size(); ++j) {
      if (Endpoint(j) == endpoint && slots_[j].up) {
        slots_[j].driver->OnAnnouncedEndpoint(Endpoint(i));
      }
    }
  }

  void Broadcast(int from,
                 const std::shared_ptr<const v1::Envelope>& envelope) {
    slots_[from].reached_others = true;
    for (size_t to = 0; to < slots_.size(); ++to) {
      Slot& slot = slots_[to];
      if (static_cast<int>(to) == from || !slot.up ||
          slot.subscriptions.count(Endpoint(from)) == 0) {
        continue;
      }
      if (filter_ && !filter_(from, to, *envelope)) continue;
      if (paused_.count(to) > 0) {
        slot.queued.push_back(envelope);
      } else {
        slot.driver->OnEnvelope(envelope);
      }
    }
  }

  NodeOptions base_;
  std::vector<Slot> slots_;
  ManualClock clock_{absl::UnixEpoch() + absl::Seconds(1000)};
  // Nodes paused for the current Run().
  std::set<int> paused_;
  uint64_t instances_ = 0;
  LinkFilter filter_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_TESTS_CORE_MINI_CLUSTER_H_
