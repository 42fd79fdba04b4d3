// The mesh transport on real loopback sockets: delivery, announcements,
// restarts, disconnects, errors and the never-blocking broadcast.
#include "net/mesh.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/context.h"
#include "net/poller.h"
#include "tests/net/mesh_test_util.h"
#include "zmq.hpp"

namespace cachemesh {
namespace net {
namespace {

using ::cachemesh::net::testing::ConnectBothWays;
using ::cachemesh::net::testing::Contains;
using ::cachemesh::net::testing::DrainUntil;
using ::cachemesh::net::testing::DrainUntilAnnounced;
using ::cachemesh::net::testing::DrainUntilReceived;
using ::cachemesh::net::testing::kPatience;
using ::cachemesh::net::testing::MakeMesh;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

class MeshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Context>> context = Context::Create();
    ASSERT_TRUE(context.ok()) << context.status();
    context_ = *std::move(context);
  }

  std::unique_ptr<Context> context_;
};

// Broadcasts `count` numbered payloads and then `end`.
std::vector<std::string> BroadcastNumbered(Mesh& mesh, absl::string_view tag,
                                           int count) {
  std::vector<std::string> sent;
  for (int i = 0; i < count; ++i) {
    sent.push_back(absl::StrCat(tag, "-", i));
    EXPECT_TRUE(mesh.Broadcast(sent.back()).ok());
  }
  return sent;
}

TEST_F(MeshTest, BroadcastsArriveBothWaysExactlyOnceInOrder) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(ConnectBothWays(*a, *b));

  std::vector<std::string> from_a = BroadcastNumbered(*a, "a", 100);
  std::vector<std::string> from_b = BroadcastNumbered(*b, "b", 100);
  // Matches both of b's subscriptions (all data, and b's hello topic): one
  // pipe, so it must still arrive once.
  from_a.push_back(absl::StrCat(kHelloTopicPrefix, b->advertised_endpoint()));
  ASSERT_TRUE(a->Broadcast(from_a.back()).ok());
  // Anything duplicated would arrive before these, on the same connection.
  from_a.push_back("a-end");
  from_b.push_back("b-end");
  ASSERT_TRUE(a->Broadcast("a-end").ok());
  ASSERT_TRUE(b->Broadcast("b-end").ok());

  EXPECT_THAT(DrainUntilReceived(*b, "a-end").payloads,
              ElementsAreArray(from_a));
  EXPECT_THAT(DrainUntilReceived(*a, "b-end").payloads,
              ElementsAreArray(from_b));
  EXPECT_EQ(a->stats().broadcasts_sent, from_a.size());
  EXPECT_EQ(b->stats().payloads_received, from_a.size());
}

TEST_F(MeshTest, ConnectingTwiceStillDeliversOnce) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(ConnectBothWays(*a, *b));
  ASSERT_TRUE(a->Connect(b->advertised_endpoint()).ok());

  ASSERT_TRUE(b->Broadcast("once").ok());
  ASSERT_TRUE(b->Broadcast("end").ok());
  EXPECT_THAT(DrainUntilReceived(*a, "end").payloads,
              ElementsAreArray({"once", "end"}));
}

TEST_F(MeshTest, PeerLearnsAnnouncedEndpointAndConnectsBack) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Connect(b->advertised_endpoint()).ok());

  // b never heard of a: it learns a's endpoint from a's subscription.
  MeshInput at_b = DrainUntilAnnounced(*b, a->advertised_endpoint());
  ASSERT_THAT(at_b.announced_endpoints,
              ElementsAreArray({a->advertised_endpoint()}));
  EXPECT_EQ(b->stats().announcements_seen, 1u);

  ASSERT_TRUE(b->Connect(at_b.announced_endpoints.front()).ok());
  ASSERT_TRUE(Contains(
      DrainUntilAnnounced(*a, b->advertised_endpoint()).announced_endpoints,
      b->advertised_endpoint()));
  ASSERT_TRUE(a->Broadcast("a to b").ok());
  ASSERT_TRUE(b->Broadcast("b to a").ok());
  EXPECT_THAT(DrainUntilReceived(*b, "a to b").payloads,
              ElementsAreArray({"a to b"}));
  EXPECT_THAT(DrainUntilReceived(*a, "b to a").payloads,
              ElementsAreArray({"b to a"}));
}

TEST_F(MeshTest, EveryRepeatedHelloIsReported) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  // Two connections from a to b, as when b still holds a's old connection
  // after a restarted: the second hello must not be swallowed as a repeat.
  const std::string b_by_name =
      absl::StrReplaceAll(b->bound_endpoint(), {{"127.0.0.1", "localhost"}});
  ASSERT_TRUE(a->Connect(b->bound_endpoint()).ok());
  ASSERT_TRUE(a->Connect(b_by_name).ok());

  MeshInput at_b = DrainUntil(*b, [&](const MeshInput& input) {
    return input.announced_endpoints.size() == 2;
  });
  EXPECT_THAT(
      at_b.announced_endpoints,
      ElementsAreArray({a->advertised_endpoint(), a->advertised_endpoint()}));
}

TEST_F(MeshTest, AnnouncesTheAdvertisedEndpointNotTheBoundOne) {
  std::unique_ptr<Mesh> a =
      MakeMesh(*context_, MeshOptions(), "tcp://app1.example:4001");
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->advertised_endpoint(), "tcp://app1.example:4001");
  EXPECT_NE(a->bound_endpoint(), a->advertised_endpoint());
  ASSERT_TRUE(a->Connect(b->advertised_endpoint()).ok());

  EXPECT_THAT(
      DrainUntilAnnounced(*b, "tcp://app1.example:4001").announced_endpoints,
      ElementsAreArray({"tcp://app1.example:4001"}));
}

TEST_F(MeshTest, BoundEndpointHasTheRealPort) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  ASSERT_TRUE(a);
  EXPECT_THAT(a->bound_endpoint(), ::testing::StartsWith("tcp://127.0.0.1:"));
  EXPECT_THAT(a->bound_endpoint(), ::testing::Not(HasSubstr("*")));
  EXPECT_EQ(a->advertised_endpoint(), a->bound_endpoint());
}

TEST_F(MeshTest, RestartedPublisherRelearnsListenersAndIsHeardAgain) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  ASSERT_TRUE(a);
  // b gets its own context, so that ending it closes b's port at once.
  absl::StatusOr<std::unique_ptr<Context>> b_context = Context::Create();
  ASSERT_TRUE(b_context.ok());
  std::unique_ptr<Mesh> b = MakeMesh(**b_context);
  ASSERT_TRUE(b);
  ASSERT_TRUE(ConnectBothWays(*a, *b));
  const std::string b_endpoint = b->bound_endpoint();

  b.reset();
  b_context->reset();
  ASSERT_TRUE(Contains(DrainUntil(*a,
                                  [&](const MeshInput& input) {
                                    return Contains(input.departed_endpoints,
                                                    b_endpoint);
                                  })
                           .departed_endpoints,
                       b_endpoint));

  // The restarted b knows nobody; it binds the same port.
  b_context = Context::Create();
  ASSERT_TRUE(b_context.ok());
  absl::StatusOr<std::unique_ptr<Mesh>> restarted =
      Mesh::Create(**b_context, b_endpoint, "", MeshOptions());
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  b = *std::move(restarted);

  // a's SUB reconnects by itself and resends its subscriptions (while a's
  // owner keeps servicing it, as the daemon's loop does).
  MeshInput at_b = DrainUntil(*b,
                              [&](const MeshInput& input) {
                                return Contains(input.announced_endpoints,
                                                a->advertised_endpoint());
                              },
                              kPatience, {a.get()});
  ASSERT_TRUE(Contains(at_b.announced_endpoints, a->advertised_endpoint()));
  ASSERT_TRUE(b->Connect(a->advertised_endpoint()).ok());
  ASSERT_TRUE(b->Broadcast("b is back").ok());
  EXPECT_THAT(DrainUntilReceived(*a, "b is back").payloads,
              ElementsAreArray({"b is back"}));
  b.reset();
}

TEST_F(MeshTest, DisconnectStopsDeliveryFromThatPeer) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(ConnectBothWays(*a, *b));

  ASSERT_TRUE(a->Disconnect(b->advertised_endpoint()).ok());
  ASSERT_TRUE(a->Disconnect(b->advertised_endpoint()).ok());  // Idempotent.
  ASSERT_TRUE(a->Disconnect("tcp://127.0.0.1:1").ok());       // Never known.
  // Once b saw a's SUB go, b has no connection left that could carry data
  // to a.
  MeshInput at_b = DrainUntil(*b,
                              [&](const MeshInput& input) {
                                return Contains(input.departed_endpoints,
                                                a->advertised_endpoint());
                              },
                              kPatience, {a.get()});
  ASSERT_THAT(at_b.departed_endpoints,
              ElementsAreArray({a->advertised_endpoint()}));
  EXPECT_EQ(b->stats().departures_seen, 1u);

  ASSERT_TRUE(b->Broadcast("after disconnect").ok());
  EXPECT_TRUE(
      DrainUntilReceived(*a, "after disconnect", absl::Milliseconds(200))
          .payloads.empty());
}

TEST_F(MeshTest, ReconnectAfterDisconnectDeliversAgain) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(ConnectBothWays(*a, *b));
  ASSERT_TRUE(a->Disconnect(b->advertised_endpoint()).ok());
  ASSERT_TRUE(a->Connect(b->advertised_endpoint()).ok());

  ASSERT_TRUE(Contains(
      DrainUntilAnnounced(*b, a->advertised_endpoint()).announced_endpoints,
      a->advertised_endpoint()));
  ASSERT_TRUE(b->Broadcast("again").ok());
  EXPECT_THAT(DrainUntilReceived(*a, "again").payloads,
              ElementsAreArray({"again"}));
}

TEST_F(MeshTest, ConnectsFromTheSourceAddressAndDisconnectsAgain) {
  MeshOptions from_second_loopback;
  from_second_loopback.source_address = "127.0.0.2";
  std::unique_ptr<Mesh> a = MakeMesh(*context_, from_second_loopback);
  std::unique_ptr<Mesh> b = MakeMesh(*context_);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Connect(b->advertised_endpoint()).ok());
  ASSERT_TRUE(Contains(
      DrainUntilAnnounced(*b, a->advertised_endpoint()).announced_endpoints,
      a->advertised_endpoint()));
  ASSERT_TRUE(b->Broadcast("from b").ok());
  EXPECT_THAT(DrainUntilReceived(*a, "from b").payloads,
              ElementsAreArray({"from b"}));

  ASSERT_TRUE(a->Disconnect(b->advertised_endpoint()).ok());
  EXPECT_TRUE(Contains(DrainUntil(*b,
                                  [&](const MeshInput& input) {
                                    return Contains(input.departed_endpoints,
                                                    a->advertised_endpoint());
                                  },
                                  kPatience, {a.get()})
                           .departed_endpoints,
                       a->advertised_endpoint()));
}

TEST_F(MeshTest, MultiFrameMessagesAreDiscarded) {
  // A foreign publisher; cachemesh peers only send single frames.
  zmq::context_t zmq_context;
  zmq::socket_t foreign(zmq_context, zmq::socket_type::xpub);
  foreign.set(zmq::sockopt::linger, 0);
  foreign.set(zmq::sockopt::rcvtimeo,
              static_cast<int>(absl::ToInt64Milliseconds(kPatience)));
  foreign.bind("tcp://127.0.0.1:*");
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Connect(foreign.get(zmq::sockopt::last_endpoint)).ok());
  zmq::message_t subscription;
  ASSERT_TRUE(foreign.recv(subscription));  // a's SUB is attached.

  ASSERT_TRUE(foreign.send(zmq::str_buffer("two"), zmq::send_flags::sndmore));
  ASSERT_TRUE(foreign.send(zmq::str_buffer("frames"), zmq::send_flags::none));
  ASSERT_TRUE(foreign.send(zmq::str_buffer("single"), zmq::send_flags::none));
  EXPECT_THAT(DrainUntilReceived(*a, "single").payloads,
              ElementsAreArray({"single"}));
  EXPECT_EQ(a->stats().multipart_discarded, 1u);
}

TEST_F(MeshTest, BadEndpointsAreErrorsNamingTheEndpoint) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  ASSERT_TRUE(a);

  absl::Status connect = a->Connect("not-an-endpoint");
  EXPECT_EQ(connect.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(connect.message(), HasSubstr("\"not-an-endpoint\""));

  absl::StatusOr<std::unique_ptr<Mesh>> unknown_transport =
      Mesh::Create(*context_, "bogus://somewhere", "", MeshOptions());
  EXPECT_EQ(unknown_transport.status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown_transport.status().message(),
              HasSubstr("\"bogus://somewhere\""));
}

TEST_F(MeshTest, BindConflictIsAnErrorNamingTheEndpoint) {
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  ASSERT_TRUE(a);

  absl::StatusOr<std::unique_ptr<Mesh>> second =
      Mesh::Create(*context_, a->bound_endpoint(), "", MeshOptions());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("\"", a->bound_endpoint(), "\"")));
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

TEST_F(MeshTest, WildcardBindNeedsAnAdvertisedEndpoint) {
  absl::StatusOr<std::unique_ptr<Mesh>> mesh =
      Mesh::Create(*context_, "tcp://*:*", "", MeshOptions());
  EXPECT_EQ(mesh.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mesh.status().message(), HasSubstr("tcp://*:*"));

  mesh = Mesh::Create(*context_, "tcp://*:*", "tcp://app1:4001", MeshOptions());
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  EXPECT_EQ((*mesh)->advertised_endpoint(), "tcp://app1:4001");
}

TEST_F(MeshTest, HeartbeatTtlOf65SecondsIsRejected) {
  MeshOptions options;
  options.zmtp_heartbeat_ttl = absl::Seconds(65);
  absl::StatusOr<std::unique_ptr<Mesh>> mesh =
      Mesh::Create(*context_, "tcp://127.0.0.1:*", "", options);
  EXPECT_EQ(mesh.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mesh.status().message(), HasSubstr("zmtp_heartbeat_ttl"));

  options.zmtp_heartbeat_ttl = absl::Seconds(64);
  EXPECT_TRUE(ValidateMeshOptions(options).ok());
}

TEST_F(MeshTest, InvalidOptionsNameTheField) {
  MeshOptions no_hwm;
  no_hwm.send_hwm = -1;
  EXPECT_THAT(ValidateMeshOptions(no_hwm).message(), HasSubstr("send_hwm"));

  MeshOptions backwards;
  backwards.reconnect_interval = absl::Seconds(2);
  backwards.reconnect_interval_max = absl::Seconds(1);
  EXPECT_THAT(ValidateMeshOptions(backwards).message(),
              HasSubstr("reconnect_interval_max"));

  MeshOptions no_drain;
  no_drain.max_messages_per_drain = 0;
  EXPECT_THAT(ValidateMeshOptions(no_drain).message(),
              HasSubstr("max_messages_per_drain"));

  EXPECT_TRUE(ValidateMeshOptions(MeshOptions()).ok());
}

TEST_F(MeshTest, DrainReadsAtMostItsBudgetPerCall) {
  MeshOptions small_drains;
  small_drains.max_messages_per_drain = 10;
  std::unique_ptr<Mesh> a = MakeMesh(*context_);
  std::unique_ptr<Mesh> b = MakeMesh(*context_, small_drains);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(ConnectBothWays(*a, *b));
  constexpr int kCount = 1000;
  BroadcastNumbered(*a, "a", kCount);

  Poller poller;
  poller.Add(b.get());
  size_t total = 0;
  int full_drains = 0;
  const absl::Time deadline = absl::Now() + kPatience;
  while (total < kCount && absl::Now() < deadline) {
    ASSERT_TRUE(poller.Wait(deadline - absl::Now()).ok());
    absl::StatusOr<MeshInput> input = b->Drain();
    ASSERT_TRUE(input.ok()) << input.status();
    ASSERT_LE(input->payloads.size(), 10u);
    if (input->payloads.size() == 10) ++full_drains;
    total += input->payloads.size();
  }
  EXPECT_EQ(total, static_cast<size_t>(kCount));
  EXPECT_GT(full_drains, 0);
}

TEST_F(MeshTest, BroadcastNeverBlocksOnAStalledSubscriber) {
  MeshOptions tiny;
  tiny.send_hwm = 1;
  tiny.receive_hwm = 1;
  std::unique_ptr<Mesh> a = MakeMesh(*context_, tiny);
  std::unique_ptr<Mesh> b = MakeMesh(*context_, tiny);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(b->Connect(a->advertised_endpoint()).ok());
  ASSERT_TRUE(Contains(
      DrainUntilAnnounced(*a, b->advertised_endpoint()).announced_endpoints,
      b->advertised_endpoint()));

  // b does not read while a floods more than the socket buffers hold.
  constexpr int kFlood = 1000;
  const std::string payload(16 * 1024, 'x');
  const absl::Time start = absl::Now();
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_TRUE(a->Broadcast(payload).ok());
  }
  EXPECT_LT(absl::Now() - start, kPatience);
  EXPECT_EQ(a->stats().broadcasts_sent, static_cast<uint64_t>(kFlood));

  // A marker sent after the flood follows whatever of it survived; a keeps
  // sending markers because b's queue may drop them too.
  MeshInput at_b = DrainUntil(*b, [&](const MeshInput& input) {
    EXPECT_TRUE(a->Broadcast("marker").ok());
    return Contains(input.payloads, "marker");
  });
  ASSERT_TRUE(Contains(at_b.payloads, "marker"));
  const auto flood_received =
      std::count(at_b.payloads.begin(), at_b.payloads.end(), payload);
  EXPECT_GT(flood_received, 0);
  EXPECT_LT(flood_received, kFlood);
}

}  // namespace
}  // namespace net
}  // namespace cachemesh
