// A perfect in-memory network for core tests: nodes exchange envelopes
// synchronously, links can be cut or filtered, and time moves in 1 ms steps.
// (The simulator in tools/sim models latency, loss and partitions.)
#ifndef CACHEMESH_TESTS_CORE_MINI_CLUSTER_H_
#define CACHEMESH_TESTS_CORE_MINI_CLUSTER_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/node.h"

namespace cachemesh {

class MiniCluster {
 public:
  // Returns false to drop an envelope on the link from -> to.
  using LinkFilter =
      std::function<bool(int from, int to, const v1::Envelope& envelope)>;

  MiniCluster(int size, NodeOptions base) : base_(std::move(base)) {
    for (int i = 0; i < size; ++i) slots_.emplace_back();
    for (int i = 0; i < size; ++i) Start(i);
  }

  Node& node(int i) { return *slots_[i].node; }
  absl::Time now() const { return now_; }
  static std::string Id(int i) { return absl::StrCat("n", i); }
  static std::string Endpoint(int i) { return absl::StrCat("mem://n", i); }

  void Start(int i) {
    NodeOptions options = base_;
    options.id = Id(i);
    options.endpoint = Endpoint(i);
    options.instance_id = ++instances_;
    options.random_seed = instances_;
    if (i != 0) options.seeds = {Endpoint(0)};
    slots_[i].node = std::make_unique<Node>(options, now_);
    slots_[i].up = true;
    slots_[i].subscriptions.clear();
    slots_[i].node->Start(now_);
    // Subscribers reconnect and resend their subscriptions.
    for (size_t j = 0; j < slots_.size(); ++j) {
      if (slots_[j].up && slots_[j].subscriptions.count(Endpoint(i)) > 0) {
        slots_[i].node->OnAnnouncedEndpoint(Endpoint(j), now_);
      }
    }
    Pump();
  }
  void Crash(int i) { slots_[i].up = false; }
  void SetFilter(LinkFilter filter) { filter_ = std::move(filter); }

  // Advances time, ticking nodes at their deadlines. `paused` nodes neither
  // tick nor receive until the call ends; then they get what queued up.
  void Run(absl::Duration duration, std::set<int> paused = {}) {
    const absl::Time end = now_ + duration;
    while (now_ < end) {
      now_ += absl::Milliseconds(1);
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (!slots_[i].up || paused.count(i) > 0) continue;
        if (now_ >= slots_[i].node->NextDeadline()) {
          slots_[i].node->OnTick(now_);
        }
      }
      Pump(paused);
    }
    for (int i : paused) {
      for (const std::shared_ptr<const v1::Envelope>& envelope :
           slots_[i].queued) {
        slots_[i].node->OnEnvelope(envelope, now_);
      }
      slots_[i].queued.clear();
    }
    Pump();
  }

  // Delivers every output until the cluster is quiet.
  void Pump(const std::set<int>& paused = {}) {
    for (bool busy = true; busy;) {
      busy = false;
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (!slots_[i].up) continue;
        Outputs out = slots_[i].node->TakeOutputs();
        busy |= !out.broadcasts.empty() || !out.connect.empty();
        for (const std::string& endpoint : out.connect) Connect(i, endpoint);
        for (const std::string& endpoint : out.disconnect) {
          slots_[i].subscriptions.erase(endpoint);
        }
        for (AppDelivery& delivery : out.deliveries) {
          slots_[i].deliveries.push_back(std::move(delivery));
        }
        for (MembershipChange& change : out.membership_changes) {
          slots_[i].changes.push_back(std::move(change));
        }
        for (const std::shared_ptr<const v1::Envelope>& envelope :
             out.broadcasts) {
          Broadcast(i, envelope, paused);
        }
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
    for (const v1::MemberView& view : node(observer).Members(now_)) {
      if (view.id() == Id(member)) return view.state();
    }
    return v1::MEMBER_STATE_UNSPECIFIED;
  }

 private:
  struct Slot {
    std::unique_ptr<Node> node;
    bool up = false;
    std::set<std::string> subscriptions;
    std::vector<std::shared_ptr<const v1::Envelope>> queued;
    std::vector<AppDelivery> deliveries;
    std::vector<MembershipChange> changes;
  };

  void Connect(int i, const std::string& endpoint) {
    if (!slots_[i].subscriptions.insert(endpoint).second) return;
    for (size_t j = 0; j < slots_.size(); ++j) {
      if (Endpoint(j) == endpoint && slots_[j].up) {
        slots_[j].node->OnAnnouncedEndpoint(Endpoint(i), now_);
      }
    }
  }

  void Broadcast(int from, const std::shared_ptr<const v1::Envelope>& envelope,
                 const std::set<int>& paused) {
    for (size_t to = 0; to < slots_.size(); ++to) {
      Slot& slot = slots_[to];
      if (static_cast<int>(to) == from || !slot.up ||
          slot.subscriptions.count(Endpoint(from)) == 0) {
        continue;
      }
      if (filter_ && !filter_(from, to, *envelope)) continue;
      if (paused.count(to) > 0) {
        slot.queued.push_back(envelope);
      } else {
        slot.node->OnEnvelope(envelope, now_);
      }
    }
  }

  NodeOptions base_;
  std::vector<Slot> slots_;
  absl::Time now_ = absl::UnixEpoch() + absl::Seconds(1000);
  uint64_t instances_ = 0;
  LinkFilter filter_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_TESTS_CORE_MINI_CLUSTER_H_
