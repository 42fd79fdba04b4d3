// NodeDriver: outputs reach the host only when carried out, in the one order
// (disconnect, connect, broadcasts, membership changes, deliveries); ticks
// happen only when due; time comes from the injected clock.
#include "core/node_driver.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures.h"

namespace cachemesh {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kStart = absl::UnixEpoch() + absl::Seconds(1000);

// Records every call, one line each.
class RecordingHost : public NodeHost {
 public:
  void Disconnect(const std::string& endpoint) override {
    calls.push_back(absl::StrCat("disconnect ", endpoint));
  }
  void Connect(const std::string& endpoint) override {
    calls.push_back(absl::StrCat("connect ", endpoint));
  }
  void Broadcast(std::shared_ptr<const v1::Envelope> envelope) override {
    calls.push_back(envelope->has_batch() ? "broadcast batch"
                                          : "broadcast other");
    broadcasts.push_back(std::move(envelope));
  }
  void MembershipChanged(const MembershipChange& change) override {
    calls.push_back(absl::StrCat("change ", change.id, " ",
                                 v1::MemberState_Name(change.from), " -> ",
                                 v1::MemberState_Name(change.to)));
  }
  void Deliver(std::vector<AppDelivery>& deliveries) override {
    calls.push_back(absl::StrCat("deliver ", deliveries.size()));
  }

  std::vector<std::string> calls;
  std::vector<std::shared_ptr<const v1::Envelope>> broadcasts;
};

NodeOptions SelfOptions() {
  NodeOptions options;
  options.id = "self";
  options.endpoint = "mem://self";
  options.streams.batch_max_size = 1;  // Every publish is broadcast at once.
  return options;
}

// An envelope from instance `instance` of member "q" at `endpoint`.
std::shared_ptr<const v1::Envelope> FromQ(uint64_t instance,
                                          const std::string& endpoint,
                                          v1::Envelope envelope) {
  envelope.set_cluster(NodeOptions().cluster);
  envelope.mutable_sender()->set_id("q");
  envelope.mutable_sender()->set_endpoint(endpoint);
  envelope.mutable_sender()->set_instance_id(instance);
  envelope.mutable_sender()->set_incarnation(1);
  return std::make_shared<const v1::Envelope>(std::move(envelope));
}

std::shared_ptr<const v1::Envelope> Heartbeat(uint64_t instance,
                                              const std::string& endpoint) {
  v1::Envelope envelope;
  envelope.mutable_heartbeat();
  return FromQ(instance, endpoint, std::move(envelope));
}

std::shared_ptr<const v1::Envelope> Batch(uint64_t instance,
                                          const std::string& endpoint) {
  v1::Envelope envelope;
  envelope.mutable_batch()->set_first_seq(1);
  *envelope.mutable_batch()->add_invalidations() = test::Update("k");
  return FromQ(instance, endpoint, std::move(envelope));
}

TEST(NodeDriverTest, OutputsReachTheHostOnlyWhenCarriedOutInOneOrder) {
  ManualClock clock(kStart);
  RecordingHost host;
  NodeDriver driver(SelfOptions(), clock, host);
  driver.Start();
  driver.OnEnvelope(Heartbeat(1, "mem://q-old"));
  driver.CarryOutOutputs();
  host.calls.clear();

  // One turn asks for all five kinds, produced in another order: q restarts
  // at a new endpoint (a delivery, a membership change, a disconnect and a
  // connect), then the local app publishes (a broadcast).
  driver.OnEnvelope(Batch(2, "mem://q-new"));
  ASSERT_TRUE(driver.Publish({test::Update("mine")}).ok());
  EXPECT_THAT(host.calls, IsEmpty());
  driver.CarryOutOutputs();
  EXPECT_THAT(host.calls, ElementsAre("disconnect mem://q-old",
                                      "connect mem://q-new", "broadcast batch",
                                      "change q ALIVE -> ALIVE", "deliver 1"));

  host.calls.clear();
  driver.CarryOutOutputs();  // Nothing is carried out twice.
  EXPECT_THAT(host.calls, IsEmpty());
}

TEST(NodeDriverTest, TickIfDueTicksOnlyFromTheDeadlineAndReportsLateness) {
  ManualClock clock(kStart);
  RecordingHost host;
  NodeDriver driver(SelfOptions(), clock, host);
  driver.Start();
  driver.CarryOutOutputs();
  host.calls.clear();
  const absl::Time deadline = driver.node().NextDeadline();

  clock.Set(deadline - absl::Milliseconds(1));
  EXPECT_EQ(driver.TickIfDue(), std::nullopt);
  EXPECT_EQ(driver.node().NextDeadline(), deadline);

  clock.Set(deadline + absl::Milliseconds(7));
  EXPECT_EQ(driver.TickIfDue(), absl::Milliseconds(7));
  EXPECT_GT(driver.node().NextDeadline(), deadline);
  // The node saw the clock's time: the lateness it measured is the same.
  EXPECT_EQ(driver.node().stats().max_tick_lateness, absl::Milliseconds(7));
}

TEST(NodeDriverTest, InputsTakeTheClocksTime) {
  ManualClock clock(kStart);
  RecordingHost host;
  NodeDriver driver(SelfOptions(), clock, host);
  driver.Start();
  clock.Advance(absl::Milliseconds(1234));
  ASSERT_TRUE(driver.Publish({test::Update("mine")}).ok());
  driver.CarryOutOutputs();
  ASSERT_EQ(host.broadcasts.size(), 2u);  // The first heartbeat, the batch.
  ASSERT_TRUE(host.broadcasts[1]->has_batch());
  EXPECT_EQ(host.broadcasts[1]->batch().published_unix_micros(),
            absl::ToUnixMicros(kStart + absl::Milliseconds(1234)));
}

}  // namespace
}  // namespace cachemesh
