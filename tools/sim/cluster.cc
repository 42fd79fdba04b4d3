#include "tools/sim/cluster.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {
namespace sim {
namespace {

constexpr absl::Duration kConvergenceCheckInterval = absl::Milliseconds(10);

constexpr const char* kRegions[] = {
    "org.hisp.dhis.dataelement.DataElement",
    "org.hisp.dhis.organisationunit.OrganisationUnit",
    "org.hisp.dhis.user.User",
    "org.hisp.dhis.period.Period",
    "org.hisp.dhis.category.CategoryOptionCombo",
    "org.hisp.dhis.program.Program",
};

// splitmix64 of a and b: independent seeds from one run seed.
uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double UniformOf(std::mt19937_64& random) {
  return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

void InsertSorted(std::vector<int>& values, int value) {
  auto it = std::lower_bound(values.begin(), values.end(), value);
  if (it == values.end() || *it != value) values.insert(it, value);
}

void EraseSorted(std::vector<int>& values, int value) {
  auto it = std::lower_bound(values.begin(), values.end(), value);
  if (it != values.end() && *it == value) values.erase(it);
}

// Orders the heap so that the earliest event (then the first made) is on top.
struct Later {
  template <typename Event>
  bool operator()(const Event& a, const Event& b) const {
    return a.at != b.at ? a.at > b.at : a.order > b.order;
  }
};

OracleOptions WithTimeZero(OracleOptions options, absl::Time time_zero) {
  options.time_zero = time_zero;
  return options;
}

}  // namespace

// One broadcast: shared by all its deliveries.
struct ClusterSim::Wire {
  std::shared_ptr<const v1::Envelope> envelope;
  int sender = 0;
  uint32_t sender_life = 0;
  // Deliveries scheduled.
  int fanout = 0;
  // If the sender crashed with this in flight: how many of the deliveries
  // (in fan-out order) still arrive; chosen when first needed.
  int keep = -1;
};

// Hands one slot's node outputs to the simulation.
class ClusterSim::Host final : public NodeHost {
 public:
  Host(ClusterSim& sim, int slot) : sim_(sim), slot_(slot) {}

  void Disconnect(const std::string& endpoint) override {
    sim_.Disconnect(slot_, endpoint);
  }
  void Connect(const std::string& endpoint) override {
    sim_.Connect(slot_, endpoint);
  }
  void Broadcast(std::shared_ptr<const v1::Envelope> envelope) override {
    sim_.BroadcastFrom(slot_, std::move(envelope));
  }
  void MembershipChanged(const MembershipChange& change) override {
    sim_.NoteChange(slot_, change);
  }
  void Deliver(std::vector<AppDelivery>& deliveries) override {
    sim_.NoteDeliveries(slot_, deliveries);
  }

 private:
  ClusterSim& sim_;
  const int slot_;
};

ClusterSim::ClusterSim(ClusterOptions options)
    : options_(std::move(options)),
      start_(absl::UnixEpoch() + absl::Seconds(1000)),
      clock_(start_),
      network_(options_.network, Mix(options_.seed, 1)),
      app_random_(Mix(options_.seed, 2)),
      script_random_(Mix(options_.seed, 3)),
      oracle_(WithTimeZero(options_.oracle, start_)),
      monitor_(start_) {
  const int count = options_.nodes;
  for (int slot = 0; slot < count; ++slot) {
    AddSlot();
    for (int back = 1; back <= options_.seeds_per_node; ++back) {
      const int seed = ((slot - back) % count + count) % count;
      if (seed != slot) slots_[slot].seeds.push_back(seed);
    }
    At(start_ + options_.start_spread * Uniform(), [this, slot] {
      StartNode(slot);
      ++initial_started_;
      CheckConvergence();
    });
  }
  NoteMembershipEvent();
}

double ClusterSim::Uniform() { return UniformOf(script_random_); }

// ---------------------------------------------------------------------------
// The event loop.
// ---------------------------------------------------------------------------

void ClusterSim::Schedule(Event event) {
  event.order = next_order_++;
  queue_.push_back(std::move(event));
  std::push_heap(queue_.begin(), queue_.end(), Later());
}

void ClusterSim::At(absl::Time at, std::function<void()> action) {
  Event event;
  event.at = std::max(at, now());
  event.kind = EventKind::kAction;
  event.aux = static_cast<int>(actions_.size());
  actions_.push_back(std::move(action));
  Schedule(std::move(event));
}

void ClusterSim::RunUntil(absl::Time until) {
  while (!queue_.empty() && queue_.front().at <= until) {
    std::pop_heap(queue_.begin(), queue_.end(), Later());
    Event event = std::move(queue_.back());
    queue_.pop_back();
    clock_.Set(event.at);
    ++events_;
    Dispatch(event);
  }
  clock_.Set(std::max(now(), until));
}

void ClusterSim::Dispatch(Event& event) {
  switch (event.kind) {
    case EventKind::kDeliver:
      OnDeliver(event);
      break;
    case EventKind::kAnnounce: {
      const Announce announce{event.slot, event.life, event.aux,
                              event.aux_life};
      if (!AnnounceValid(announce)) break;
      if (network_.IsCut(announce.subscriber, announce.publisher)) {
        blocked_announces_.push_back(announce);
      } else if (slots_[announce.publisher].paused) {
        slots_[announce.publisher].inbox.push_back({nullptr, announce});
      } else {
        AcceptSubscription(announce);
      }
      break;
    }
    case EventKind::kTick:
      OnTick(event);
      break;
    case EventKind::kPublish:
      OnPublish(event);
      break;
    case EventKind::kAction: {
      std::function<void()> action = std::move(actions_[event.aux]);
      action();
      break;
    }
    case EventKind::kConvergenceCheck:
      convergence_check_scheduled_ = false;
      CheckConvergence();
      if (monitor_.AwaitingConvergence()) EnsureConvergenceCheck();
      break;
  }
}

// ---------------------------------------------------------------------------
// Node lifecycle and faults.
// ---------------------------------------------------------------------------

int ClusterSim::AddSlot() {
  const int slot = static_cast<int>(slots_.size());
  Slot& added = slots_.emplace_back();
  added.host = std::make_unique<Host>(*this, slot);
  added.id = absl::StrFormat("n%02d", slot);
  added.endpoint = absl::StrCat("sim://", added.id);
  slot_of_endpoint_[added.endpoint] = slot;
  slot_of_id_[added.id] = slot;
  network_.AddNode();
  monitor_.AddSlot(added.id);
  return slot;
}

void ClusterSim::StartNode(int slot) {
  Slot& s = slots_[slot];
  s.instance = std::max<uint64_t>(absl::ToUnixMicros(now()), s.instance + 1);
  s.started_at = now();
  NodeOptions node_options = options_.node;
  node_options.id = s.id;
  node_options.endpoint = s.endpoint;
  node_options.instance_id = s.instance;
  node_options.seeds.clear();
  for (int seed : s.seeds) node_options.seeds.push_back(slots_[seed].endpoint);
  node_options.random_seed = Mix(Mix(options_.seed, slot), s.instance);
  s.driver =
      std::make_unique<NodeDriver>(std::move(node_options), clock_, *s.host);
  s.oracle = oracle_.NodeStarted(s.id, s.instance, now());
  monitor_.Started(slot, s.instance);
  Trace(absl::StrCat("start ", s.id, "#", s.instance));
  s.driver->Start();
  AfterInput(slot);
  // Subscribers reconnect and send their subscriptions again.
  for (int other = 0; other < size(); ++other) {
    if (slots_[other].driver != nullptr &&
        slots_[other].connected.count(slot) > 0) {
      ScheduleAnnounce(slot, other);
    }
  }
  SchedulePublish(slot);
  CheckConvergence();
}

void ClusterSim::AddNodeTraffic(const Slot& s, TrafficFigures& traffic) const {
  const NodeStats& stats = s.driver->node().stats();
  traffic.nacks_sent += stats.nacks_sent;
  traffic.retransmissions_sent += stats.retransmissions_sent;
  traffic.gones_sent += stats.gones_sent;
  traffic.late_ticks += stats.late_ticks;
  traffic.node_uptime += now() - s.started_at;
}

void ClusterSim::StopNode(int slot, StopKind kind) {
  Slot& s = slots_[slot];
  Trace(absl::StrCat(kind == StopKind::kCrash ? "crash " : "stop (left) ", s.id,
                     "#", s.instance));
  AddNodeTraffic(s, traffic_);
  oracle_.NodeStopped(s.oracle, kind);
  if (kind == StopKind::kCrash) {
    monitor_.Crashed(slot, now());
  } else {
    monitor_.Left(slot);
  }
  for (int publisher : s.connected) {
    EraseSorted(slots_[publisher].subscribers, slot);
  }
  s.connected.clear();
  s.subscribers.clear();
  s.inbox.clear();
  s.driver.reset();
  s.crashed.resize(s.life + 1);
  s.crashed[s.life] = kind == StopKind::kCrash;
  ++s.life;
  s.paused = false;
  s.tick_at = absl::InfiniteFuture();
  s.crash_after_batch.reset();
  CheckConvergence();
}

int ClusterSim::Join(const std::vector<int>& seeds) {
  const int slot = AddSlot();
  slots_[slot].seeds = seeds;
  StartNode(slot);
  NoteMembershipEvent();
  return slot;
}

void ClusterSim::Crash(int slot) {
  if (IsUp(slot)) StopNode(slot, StopKind::kCrash);
}

void ClusterSim::Restart(int slot) {
  Crash(slot);
  StartNode(slot);
  NoteMembershipEvent();
}

void ClusterSim::Pause(int slot, absl::Duration duration) {
  Slot& s = slots_[slot];
  if (s.driver == nullptr || s.paused) return;
  s.paused = true;
  Trace(absl::StrCat("pause ", s.id, " for ", absl::FormatDuration(duration)));
  const uint32_t life = s.life;
  At(now() + duration, [this, slot, life] { Resume(slot, life); });
}

void ClusterSim::Resume(int slot, uint32_t life) {
  Slot& s = slots_[slot];
  if (s.life != life || s.driver == nullptr) return;
  s.paused = false;
  Trace(absl::StrCat("resume ", s.id, " with ", s.inbox.size(), " queued"));
  std::vector<InboxItem> inbox = std::exchange(s.inbox, {});
  for (const InboxItem& item : inbox) {
    if (item.wire != nullptr) {
      HandEnvelope(slot, item.wire->envelope);
    } else if (AnnounceValid(item.announce)) {
      AcceptSubscription(item.announce);
    }
  }
  ScheduleTick(slot);
}

void ClusterSim::Leave(int slot) {
  Slot& s = slots_[slot];
  if (s.driver == nullptr || s.paused) return;
  s.driver->Leave();
  CarryOutOutputs(slot);
  StopNode(slot, StopKind::kLeave);
}

void ClusterSim::Partition(const std::vector<int>& from,
                           const std::vector<int>& to, bool one_way) {
  Trace(absl::StrCat("partition ", one_way ? "one-way " : "", from.size(),
                     " -> ", to.size(), " nodes"));
  for (int a : from) {
    for (int b : to) {
      if (a == b) continue;
      network_.Cut(a, b);
      if (!one_way) network_.Cut(b, a);
    }
  }
}

void ClusterSim::Heal() {
  if (!network_.AnyCut()) return;
  Trace("heal");
  network_.HealAll(now());
  // Subscriptions held up by the cut go through now (SUB reconnects).
  for (const Announce& announce : std::exchange(blocked_announces_, {})) {
    if (AnnounceValid(announce)) {
      ScheduleAnnounce(announce.publisher, announce.subscriber);
    }
  }
  NoteMembershipEvent();
}

void ClusterSim::PublishThenCrash(int slot, absl::Duration delay) {
  Slot& s = slots_[slot];
  if (s.driver == nullptr || s.paused) return;
  s.crash_after_batch = delay;
  PublishBurst(slot);
}

std::vector<int> ClusterSim::Running() const {
  std::vector<int> running;
  for (int slot = 0; slot < size(); ++slot) {
    if (IsUp(slot) && !IsPaused(slot)) running.push_back(slot);
  }
  return running;
}

// ---------------------------------------------------------------------------
// Transport.
// ---------------------------------------------------------------------------

void ClusterSim::OnDeliver(const Event& event) {
  Slot& to = slots_[event.slot];
  if (to.life != event.life || to.driver == nullptr) return;
  Wire& wire = *event.wire;
  const Slot& from = slots_[wire.sender];
  if (wire.sender_life < from.crashed.size() &&
      from.crashed[wire.sender_life]) {
    // The sender crashed with this broadcast in flight.
    if (wire.keep < 0) {
      wire.keep = 1 + static_cast<int>(network_.Uniform() * wire.fanout);
    }
    if (event.aux >= wire.keep) {
      ++traffic_.cut_by_crash;
      return;
    }
  }
  if (to.paused) {
    to.inbox.push_back({event.wire, {}});
    return;
  }
  HandEnvelope(event.slot, wire.envelope);
}

void ClusterSim::HandEnvelope(
    int slot, const std::shared_ptr<const v1::Envelope>& envelope) {
  ++traffic_.deliveries;
  slots_[slot].driver->OnEnvelope(envelope);
  AfterInput(slot);
}

bool ClusterSim::AnnounceValid(const Announce& announce) const {
  const Slot& publisher = slots_[announce.publisher];
  const Slot& subscriber = slots_[announce.subscriber];
  return publisher.driver != nullptr &&
         publisher.life == announce.publisher_life &&
         subscriber.driver != nullptr &&
         subscriber.life == announce.subscriber_life &&
         subscriber.connected.count(announce.publisher) > 0;
}

void ClusterSim::ScheduleAnnounce(int publisher, int subscriber) {
  const Announce announce{publisher, slots_[publisher].life, subscriber,
                          slots_[subscriber].life};
  const std::optional<absl::Time> at =
      network_.SendReliably(subscriber, publisher, now());
  if (!at.has_value()) {
    blocked_announces_.push_back(announce);
    return;
  }
  Event event;
  event.at = *at;
  event.kind = EventKind::kAnnounce;
  event.slot = publisher;
  event.life = announce.publisher_life;
  event.aux = subscriber;
  event.aux_life = announce.subscriber_life;
  Schedule(std::move(event));
}

void ClusterSim::AcceptSubscription(const Announce& announce) {
  Slot& publisher = slots_[announce.publisher];
  Trace(absl::StrCat(publisher.id, " sees subscriber ",
                     slots_[announce.subscriber].id));
  InsertSorted(publisher.subscribers, announce.subscriber);
  publisher.driver->OnAnnouncedEndpoint(slots_[announce.subscriber].endpoint);
  AfterInput(announce.publisher);
}

void ClusterSim::Connect(int slot, const std::string& endpoint) {
  auto it = slot_of_endpoint_.find(endpoint);
  if (it == slot_of_endpoint_.end() || it->second == slot) return;
  const int publisher = it->second;
  // Idempotent per endpoint, like the real mesh.
  if (!slots_[slot].connected.insert(publisher).second) return;
  Trace(absl::StrCat(slots_[slot].id, " connects to ", endpoint));
  if (slots_[publisher].driver != nullptr) ScheduleAnnounce(publisher, slot);
}

void ClusterSim::Disconnect(int slot, const std::string& endpoint) {
  auto it = slot_of_endpoint_.find(endpoint);
  if (it == slot_of_endpoint_.end()) return;
  const int publisher = it->second;
  Trace(absl::StrCat(slots_[slot].id, " disconnects from ", endpoint));
  slots_[slot].connected.erase(publisher);
  EraseSorted(slots_[publisher].subscribers, slot);
}

void ClusterSim::BroadcastFrom(int slot,
                               std::shared_ptr<const v1::Envelope> envelope) {
  const Slot& sender = slots_[slot];
  auto wire = std::make_shared<Wire>();
  wire->envelope = std::move(envelope);
  wire->sender = slot;
  wire->sender_life = sender.life;
  const uint64_t bytes = wire->envelope->ByteSizeLong();
  ++traffic_.envelopes;
  traffic_.bytes += bytes;
  if (wire->envelope->has_batch()) NoteBatch(slot, wire->envelope->batch());
  for (int subscriber : sender.subscribers) {
    const std::optional<absl::Time> at = network_.Send(slot, subscriber, now());
    if (!at.has_value()) continue;
    traffic_.fanout_bytes += bytes;
    Event event;
    event.at = *at;
    event.kind = EventKind::kDeliver;
    event.slot = subscriber;
    event.life = slots_[subscriber].life;
    event.aux = wire->fanout++;
    event.wire = wire;
    Schedule(std::move(event));
  }
}

void ClusterSim::NoteBatch(int slot, const v1::InvalidationBatch& batch) {
  if (!batch.origin_id().empty() || batch.retransmission()) return;
  Slot& s = slots_[slot];
  for (int i = 0; i < batch.invalidations_size(); ++i) {
    oracle_.Published(s.oracle, batch.first_seq() + i, batch.invalidations(i),
                      now());
  }
  if (s.crash_after_batch.has_value()) {
    const uint32_t life = s.life;
    At(now() + *s.crash_after_batch, [this, slot, life] {
      if (slots_[slot].life == life) Crash(slot);
    });
    s.crash_after_batch.reset();
  }
}

// ---------------------------------------------------------------------------
// Node inputs and outputs.
// ---------------------------------------------------------------------------

void ClusterSim::AfterInput(int slot) {
  CarryOutOutputs(slot);
  ScheduleTick(slot);
}

void ClusterSim::CarryOutOutputs(int slot) {
  slots_[slot].driver->CarryOutOutputs();
  if (std::exchange(membership_changed_, false)) CheckConvergence();
}

void ClusterSim::NoteChange(int slot, const MembershipChange& change) {
  bool excused = false;
  if (change.to == v1::DEAD) {
    auto it = slot_of_id_.find(change.id);
    excused =
        it != slot_of_id_.end() &&
        network_.CutRecently(it->second, now(), options_.partition_excuse);
  }
  Trace(absl::StrFormat("%s: %s#%d %s -> %s (%s)", slots_[slot].id, change.id,
                        change.instance_id, v1::MemberState_Name(change.from),
                        v1::MemberState_Name(change.to), change.reason));
  monitor_.OnChange(slot, change, now(), excused);
  membership_changed_ = true;
}

void ClusterSim::NoteDeliveries(int slot,
                                const std::vector<AppDelivery>& deliveries) {
  const Slot& s = slots_[slot];
  for (const AppDelivery& delivery : deliveries) {
    if (delivery.kind == v1::AppEvent::FLUSH) {
      Trace(absl::StrFormat("%s: FLUSH %s#%d seq %d..%d (%s)", s.id,
                            delivery.origin_id, delivery.origin_instance,
                            delivery.flushed_from, delivery.flushed_to,
                            delivery.reason));
    }
    oracle_.Delivered(s.oracle, delivery, now());
  }
}

void ClusterSim::ScheduleTick(int slot) {
  Slot& s = slots_[slot];
  if (s.driver == nullptr || s.paused) return;
  const absl::Time deadline = std::max(s.driver->node().NextDeadline(), now());
  if (deadline >= s.tick_at) return;
  s.tick_at = deadline;
  Event event;
  event.at = deadline;
  event.kind = EventKind::kTick;
  event.slot = slot;
  event.life = s.life;
  Schedule(std::move(event));
}

void ClusterSim::OnTick(const Event& event) {
  Slot& s = slots_[event.slot];
  // A stale tick: the node stopped, or an earlier tick was scheduled since.
  if (s.life != event.life || s.driver == nullptr || event.at != s.tick_at) {
    return;
  }
  s.tick_at = absl::InfiniteFuture();
  if (s.paused) return;  // Resume schedules the (late) tick.
  s.driver->TickIfDue();
  AfterInput(event.slot);
}

// ---------------------------------------------------------------------------
// Apps.
// ---------------------------------------------------------------------------

void ClusterSim::SchedulePublish(int slot) {
  if (apps_stopped_ || options_.publish_rate <= 0) return;
  const double mean_gap_s = options_.mean_burst / options_.publish_rate;
  Event event;
  event.at =
      now() + absl::Seconds(-std::log(1 - UniformOf(app_random_)) * mean_gap_s);
  event.kind = EventKind::kPublish;
  event.slot = slot;
  event.life = slots_[slot].life;
  Schedule(std::move(event));
}

void ClusterSim::OnPublish(const Event& event) {
  const Slot& s = slots_[event.slot];
  if (s.life != event.life || s.driver == nullptr || apps_stopped_) return;
  if (!s.paused) PublishBurst(event.slot);  // A paused app is frozen too.
  SchedulePublish(event.slot);
}

void ClusterSim::PublishBurst(int slot) {
  const uint64_t sizes = std::max(1, 2 * options_.mean_burst - 1);
  const int count = 1 + static_cast<int>(app_random_() % sizes);
  std::vector<v1::Invalidation> invalidations;
  for (int i = 0; i < count; ++i) {
    invalidations.push_back(RandomInvalidation());
  }
  // Always valid, and a node that left is stopped at once, so this succeeds.
  slots_[slot].driver->Publish(invalidations).IgnoreError();
  AfterInput(slot);
}

v1::Invalidation ClusterSim::RandomInvalidation() {
  v1::Invalidation invalidation;
  const auto op = static_cast<v1::Invalidation::Op>(v1::Invalidation::INSERT +
                                                    app_random_() % 5);
  invalidation.set_op(op);
  invalidation.set_region(
      kRegions[app_random_() % (sizeof(kRegions) / sizeof(kRegions[0]))]);
  if (op != v1::Invalidation::CLEAR_REGION) {
    invalidation.set_key(absl::StrCat(app_random_() % 100000));
  }
  if (op == v1::Invalidation::COLLECTION) {
    invalidation.set_collection_role(
        absl::StrCat(invalidation.region(), ".groups"));
  }
  return invalidation;
}

// ---------------------------------------------------------------------------
// Convergence and figures.
// ---------------------------------------------------------------------------

void ClusterSim::Trace(const std::string& line) const {
  if (options_.trace == nullptr) return;
  *options_.trace << absl::StrFormat(
      "t=%.6fs %s\n", absl::ToDoubleSeconds(now() - start_), line);
}

void ClusterSim::NoteMembershipEvent() {
  monitor_.NoteEvent(now());
  EnsureConvergenceCheck();
}

void ClusterSim::EnsureConvergenceCheck() {
  if (convergence_check_scheduled_) return;
  convergence_check_scheduled_ = true;
  Event event;
  event.at = now() + kConvergenceCheckInterval;
  event.kind = EventKind::kConvergenceCheck;
  Schedule(std::move(event));
}

void ClusterSim::CheckConvergence() {
  if (initial_started_ < options_.nodes || !monitor_.AwaitingConvergence() ||
      !monitor_.StatesAgree()) {
    return;
  }
  if (ViewsConverged()) monitor_.Converged(now());
}

bool ClusterSim::ViewsConverged() const {
  int up = 0;
  for (const Slot& s : slots_) up += s.driver != nullptr;
  for (const Slot& observer : slots_) {
    if (observer.driver == nullptr) continue;
    int agreeing = 0;
    for (const v1::MemberView& view : observer.driver->node().Members(now())) {
      if (view.self()) continue;
      auto it = slot_of_id_.find(view.id());
      if (it == slot_of_id_.end()) continue;
      const Slot& subject = slots_[it->second];
      agreeing += subject.driver != nullptr && view.state() == v1::ALIVE &&
                  view.instance_id() == subject.instance;
    }
    if (agreeing != up - 1) return false;
  }
  return true;
}

SimFigures ClusterSim::Finish() {
  CheckConvergence();
  SimFigures figures;
  figures.nodes = options_.nodes;
  figures.seed = options_.seed;
  figures.simulated = now() - start_;
  figures.events = events_;
  figures.invalidations = oracle_.Check();
  figures.membership = monitor_.Finish();
  figures.converged_at_end = ViewsConverged();
  TrafficFigures& traffic = figures.traffic;
  traffic = traffic_;
  for (const Slot& s : slots_) {
    if (s.driver != nullptr) AddNodeTraffic(s, traffic);
  }
  traffic.lost = network_.stats().lost;
  traffic.cut = network_.stats().cut;
  return figures;
}

}  // namespace sim
}  // namespace cachemesh
