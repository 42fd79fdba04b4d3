// The cluster simulator: N cachemesh::Node state machines over a simulated
// network, in virtual time, driven by a discrete-event queue (by time, ties
// in insertion order). Each node runs under a NodeDriver, as in the daemon,
// whose outputs are carried out after every input. Nothing reads the real
// clock; a run is a pure function of its options.
//
// Transport model (as ZeroMQ PUB/SUB): node A hears B's broadcasts once A
// has connected to B's endpoint and the subscription reached B, which B sees
// as OnAnnouncedEndpoint(A's endpoint). A's subscriptions outlive B's
// restarts (SUB reconnects and resends them); they die with A. Every link is
// FIFO with latency, jitter and random loss (see network.h). When a node
// crashes, of each broadcast still in flight only a random non-empty prefix
// of its fan-out arrives (the rest was still in ZeroMQ's queues).
//
// Faults: crash, pause (deliveries queue up and are handed over on resume,
// before the first, late, tick), restart (a new instance of the same id and
// endpoint), join, graceful leave, partitions (symmetric or one-way) and
// heal. Every node's app publishes random invalidations in small bursts.
//
// Everything published and delivered goes to an Oracle; every membership
// change to a MembershipMonitor. Finish() returns the figures.
#ifndef CACHEMESH_TOOLS_SIM_CLUSTER_H_
#define CACHEMESH_TOOLS_SIM_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/node.h"
#include "core/node_driver.h"
#include "proto/cachemesh.pb.h"
#include "tools/sim/figures.h"
#include "tools/sim/membership_monitor.h"
#include "tools/sim/network.h"
#include "tools/sim/oracle.h"

namespace cachemesh {
namespace sim {

struct ClusterOptions {
  // Nodes started at the beginning, as slots 0..nodes-1 ("n00", "n01", ...).
  int nodes = 5;
  uint64_t seed = 1;
  NetworkOptions network;
  // Every node's options; id, endpoint, instance_id, seeds and random_seed
  // are filled in per node.
  NodeOptions node;
  // Each initial node is seeded with this many of the nodes before it (in
  // ring order), so the rest of the cluster must be learned by gossip.
  int seeds_per_node = 1;
  // Initial nodes start at random times within this window.
  absl::Duration start_spread = absl::Milliseconds(200);
  // Per node, invalidations per second, in bursts of 1..2*mean_burst-1.
  double publish_rate = 20;
  int mean_burst = 4;
  OracleOptions oracle;
  // A DEAD verdict about a live member whose links were cut within this
  // window is excused (the partition deserved it).
  absl::Duration partition_excuse = absl::Seconds(5);
  // When set, node lifecycle, faults, subscriptions and membership changes
  // are logged here, one line each (for debugging a failing seed).
  std::ostream* trace = nullptr;
};

class ClusterSim {
 public:
  explicit ClusterSim(ClusterOptions options);
  ClusterSim(const ClusterSim&) = delete;
  ClusterSim& operator=(const ClusterSim&) = delete;

  // Virtual time: the run begins at start().
  absl::Time start() const { return start_; }
  absl::Time now() const { return clock_.Now(); }

  // Runs `action` at virtual time `at` (not before now()).
  void At(absl::Time at, std::function<void()> action);
  // Processes every event due up to `until`; now() becomes `until`.
  void RunUntil(absl::Time until);

  // Faults, effective at now(). Each ignores a slot in the wrong state
  // (crashing a node that is down, pausing a paused one...).
  // Adds a node seeded with `seeds`; returns its slot.
  int Join(const std::vector<int>& seeds);
  void Crash(int slot);
  // Crashes the node if it is up, then starts a new instance of it.
  void Restart(int slot);
  void Pause(int slot, absl::Duration duration);
  // Leave(), then the process stops once its broadcasts are sent.
  void Leave(int slot);
  // `to` stops hearing `from`, and the reverse too unless `one_way`.
  void Partition(const std::vector<int>& from, const std::vector<int>& to,
                 bool one_way);
  void Heal();
  void SetLoss(double loss) { network_.set_loss(loss); }
  // The app publishes a burst; the node crashes `delay` after that batch
  // goes on the wire.
  void PublishThenCrash(int slot, absl::Duration delay);
  // Apps publish nothing more.
  void StopApps() { apps_stopped_ = true; }
  // The seeds the slot's node is configured with from its next start on.
  void ConfigureSeeds(int slot, std::vector<int> seeds) {
    slots_[slot].seeds = std::move(seeds);
  }
  const std::vector<int>& seeds(int slot) const { return slots_[slot].seeds; }

  int size() const { return static_cast<int>(slots_.size()); }
  bool IsUp(int slot) const { return slots_[slot].driver != nullptr; }
  bool IsPaused(int slot) const { return slots_[slot].paused; }
  // Slots whose node is up and not paused.
  std::vector<int> Running() const;
  const std::string& id(int slot) const { return slots_[slot].id; }
  // The slot's current node; nullptr while it is down.
  const Node* node(int slot) const {
    return IsUp(slot) ? &slots_[slot].driver->node() : nullptr;
  }
  // A uniform double in [0, 1) for scenario scripts (own generator).
  double Uniform();

  // The figures at now(). Call once, at the end.
  SimFigures Finish();

 private:
  struct Wire;
  class Host;
  enum class EventKind : uint8_t {
    kDeliver,
    kAnnounce,
    kTick,
    kPublish,
    kAction,
    kConvergenceCheck,
  };
  struct Event {
    absl::Time at;
    uint64_t order = 0;
    EventKind kind = EventKind::kAction;
    // The node acted on, and its life when the event was made.
    int slot = -1;
    uint32_t life = 0;
    // kDeliver: position in the fan-out. kAnnounce: the subscriber slot.
    // kAction: index in actions_.
    int aux = 0;
    // kAnnounce: the subscriber's life.
    uint32_t aux_life = 0;
    std::shared_ptr<Wire> wire;
  };
  // A subscription that reached a publisher: (publisher, subscriber).
  struct Announce {
    int publisher = 0;
    uint32_t publisher_life = 0;
    int subscriber = 0;
    uint32_t subscriber_life = 0;
  };
  // What reaches a paused node: an envelope, or a subscription.
  struct InboxItem {
    std::shared_ptr<Wire> wire;
    Announce announce;
  };
  struct Slot {
    std::string id;
    std::string endpoint;
    std::vector<int> seeds;
    // Carries out the node's outputs; owned apart, so that the driver's
    // reference to it survives slots_ growing.
    std::unique_ptr<NodeHost> host;
    // The running node; null while it is down.
    std::unique_ptr<NodeDriver> driver;
    // Bumped whenever the node stops; events of older lives are void.
    uint32_t life = 0;
    // [life]: that life ended in a crash.
    std::vector<char> crashed;
    bool paused = false;
    absl::Time started_at;
    uint64_t instance = 0;
    Oracle::Handle oracle = -1;
    // SUB side: publishers this node connected to.
    std::set<int> connected;
    // PUB side: subscribers whose subscription arrived, sorted.
    std::vector<int> subscribers;
    std::vector<InboxItem> inbox;
    absl::Time tick_at = absl::InfiniteFuture();
    std::optional<absl::Duration> crash_after_batch;
  };

  void Schedule(Event event);
  void Dispatch(Event& event);
  int AddSlot();
  void StartNode(int slot);
  void StopNode(int slot, StopKind kind);
  // Adds what the node in `s` did (its stats, its uptime) to `traffic`.
  void AddNodeTraffic(const Slot& s, TrafficFigures& traffic) const;

  void OnDeliver(const Event& event);
  void OnTick(const Event& event);
  void OnPublish(const Event& event);
  void HandEnvelope(int slot,
                    const std::shared_ptr<const v1::Envelope>& envelope);
  void AcceptSubscription(const Announce& announce);
  bool AnnounceValid(const Announce& announce) const;
  void ScheduleAnnounce(int publisher, int subscriber);
  void Resume(int slot, uint32_t life);

  // After any input: act on the node's outputs, then schedule its tick.
  void AfterInput(int slot);
  // The node's outputs go to the network (Connect, Disconnect, BroadcastFrom),
  // the monitor (NoteChange) and the oracle (NoteDeliveries), through its
  // Host; then convergence is checked if membership changed.
  void CarryOutOutputs(int slot);
  void Connect(int slot, const std::string& endpoint);
  void Disconnect(int slot, const std::string& endpoint);
  void BroadcastFrom(int slot, std::shared_ptr<const v1::Envelope> envelope);
  void NoteChange(int slot, const MembershipChange& change);
  void NoteDeliveries(int slot, const std::vector<AppDelivery>& deliveries);
  void NoteBatch(int slot, const v1::InvalidationBatch& batch);
  void ScheduleTick(int slot);

  void SchedulePublish(int slot);
  void PublishBurst(int slot);
  v1::Invalidation RandomInvalidation();

  void Trace(const std::string& line) const;
  void NoteMembershipEvent();
  void EnsureConvergenceCheck();
  void CheckConvergence();
  bool ViewsConverged() const;

  ClusterOptions options_;
  absl::Time start_;
  // Virtual time, read by every node's driver.
  ManualClock clock_;
  std::vector<Event> queue_;  // A binary heap.
  uint64_t next_order_ = 0;
  uint64_t events_ = 0;
  std::vector<std::function<void()>> actions_;
  std::vector<Slot> slots_;
  absl::flat_hash_map<std::string, int> slot_of_endpoint_;
  absl::flat_hash_map<std::string, int> slot_of_id_;
  SimNetwork network_;
  std::mt19937_64 app_random_;
  std::mt19937_64 script_random_;
  std::vector<Announce> blocked_announces_;
  bool apps_stopped_ = false;
  int initial_started_ = 0;
  bool convergence_check_scheduled_ = false;
  // NoteChange ran since CarryOutOutputs last checked convergence.
  bool membership_changed_ = false;
  Oracle oracle_;
  MembershipMonitor monitor_;
  TrafficFigures traffic_;
};

}  // namespace sim
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_SIM_CLUSTER_H_
