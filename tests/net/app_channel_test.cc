// The local app channel end to end: net::Client (app side) against
// net::AppServer (daemon side) over ipc:// in a temporary directory.
#include "net/app_channel.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "net/app_endpoint.h"
#include "net/app_event_frame.h"
#include "net/client.h"
#include "net/context.h"
#include "net/poller.h"
#include "proto/cachemesh.pb.h"
#include "zmq.hpp"

namespace cachemesh {
namespace net {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

constexpr absl::Duration kPatience = absl::Seconds(5);

v1::InvalidationList MakeList(absl::string_view key) {
  v1::InvalidationList list;
  v1::Invalidation* update = list.add_invalidations();
  update->set_op(v1::Invalidation::UPDATE);
  update->set_region("org.hisp.dhis.dataelement.DataElement");
  update->set_key(std::string(key));
  return list;
}

v1::AppEvent MakeEvent(uint64_t event_id) {
  v1::AppEvent event;
  event.set_kind(v1::AppEvent::INVALIDATION);
  event.set_event_id(event_id);
  event.set_origin_id("app2:4001");
  event.set_seq(event_id);
  *event.mutable_invalidation() = MakeList("fbfJHSPpUQD").invalidations(0);
  return event;
}

// One app channel message holding `events`.
AppEventFrame Frame(const std::vector<v1::AppEvent>& events) {
  AppEventFrame frame;
  for (const v1::AppEvent& event : events) {
    frame.Add({event.kind(), event.origin_id(), event.seq(), event.reason(),
               event.event_id()},
              event.has_invalidation() ? &event.invalidation() : nullptr);
  }
  return frame;
}

class AppChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Unix socket paths are limited to 107 bytes; Bazel's TEST_TMPDIR is
    // too deep, so use a short directory of our own.
    char directory[] = "/tmp/cachemesh-net-XXXXXX";
    ASSERT_NE(mkdtemp(directory), nullptr);
    directory_ = directory;
    endpoint_ = absl::StrCat("ipc://", directory_, "/app.sock");
    absl::StatusOr<std::unique_ptr<Context>> context = Context::Create();
    ASSERT_TRUE(context.ok()) << context.status();
    context_ = *std::move(context);
  }

  void TearDown() override {
    server_.reset();
    context_.reset();
    std::filesystem::remove_all(directory_);
  }

  void StartServer() {
    absl::StatusOr<std::unique_ptr<AppServer>> server =
        AppServer::Create(*context_, endpoint_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<Client> ConnectClient(
      const ClientOptions& options = ClientOptions()) {
    absl::StatusOr<std::unique_ptr<Client>> client =
        Client::Connect(endpoint_, options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Drains the server until `count` lists arrived or patience runs out.
  std::vector<v1::InvalidationList> DrainServer(size_t count) {
    const absl::Time deadline = absl::Now() + kPatience;
    Poller poller;
    poller.Add(server_.get());
    std::vector<v1::InvalidationList> lists;
    while (lists.size() < count && absl::Now() < deadline) {
      EXPECT_TRUE(poller.Wait(deadline - absl::Now()).ok());
      absl::StatusOr<std::vector<v1::InvalidationList>> drained =
          server_->Drain();
      EXPECT_TRUE(drained.ok()) << drained.status();
      if (!drained.ok()) break;
      for (v1::InvalidationList& list : *drained) {
        lists.push_back(std::move(list));
      }
    }
    return lists;
  }

  // Publishes events numbered from `next_event_id_` until the client hears
  // one, i.e. its subscription has reached the server; then publishes one
  // more and receives up to it, so nothing from the handshake is left in
  // flight. Returns the events the client received.
  std::vector<v1::AppEvent> Subscribe(Client& client) {
    std::vector<v1::AppEvent> received;
    const absl::Time deadline = absl::Now() + kPatience;
    while (received.empty() && absl::Now() < deadline) {
      EXPECT_TRUE(server_->Publish(Frame({MakeEvent(next_event_id_++)})).ok());
      std::optional<v1::AppEvent> event =
          Receive(client, absl::Milliseconds(20));
      if (event.has_value()) received.push_back(*std::move(event));
    }
    const uint64_t last = next_event_id_++;
    EXPECT_TRUE(server_->Publish(Frame({MakeEvent(last)})).ok());
    while (!received.empty() && received.back().event_id() != last &&
           absl::Now() < deadline) {
      std::optional<v1::AppEvent> event = Receive(client, kPatience);
      if (event.has_value()) received.push_back(*std::move(event));
    }
    return received;
  }

  std::optional<v1::AppEvent> Receive(Client& client, absl::Duration timeout) {
    absl::StatusOr<std::optional<v1::AppEvent>> event = client.Receive(timeout);
    EXPECT_TRUE(event.ok()) << event.status();
    return event.ok() ? *std::move(event) : std::nullopt;
  }

  std::string directory_;
  std::string endpoint_;
  std::unique_ptr<Context> context_;
  std::unique_ptr<AppServer> server_;
  uint64_t next_event_id_ = 1;
};

TEST_F(AppChannelTest, EndpointsAreNamedAsDocumented) {
  EXPECT_EQ(DefaultAppEndpoint(4001), "ipc:///tmp/cachemesh-4001.sock");
  EXPECT_EQ(AppEventsEndpoint("ipc:///tmp/cachemesh-4001.sock"),
            "ipc:///tmp/cachemesh-4001.sock.events");
  StartServer();
  EXPECT_EQ(server_->endpoint(), endpoint_);
  EXPECT_EQ(server_->events_endpoint(), endpoint_ + ".events");
  EXPECT_TRUE(std::filesystem::exists(directory_ + "/app.sock"));
  EXPECT_TRUE(std::filesystem::exists(directory_ + "/app.sock.events"));
}

TEST_F(AppChannelTest, OnlyLocalEndpointsAreAccepted) {
  EXPECT_TRUE(ValidateAppEndpoint("inproc://cachemesh").ok());
  EXPECT_TRUE(ValidateAppEndpoint(endpoint_).ok());
  EXPECT_FALSE(ValidateAppEndpoint("ipc://").ok());

  absl::StatusOr<std::unique_ptr<AppServer>> server =
      AppServer::Create(*context_, "tcp://127.0.0.1:*");
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("\"tcp://127.0.0.1:*\""));
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect("tcp://127.0.0.1:4001");
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AppChannelTest, SecondServerOnTheSameNameFails) {
  absl::StatusOr<std::unique_ptr<AppServer>> first =
      AppServer::Create(*context_, "inproc://cachemesh-app");
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<AppServer>> second =
      AppServer::Create(*context_, "inproc://cachemesh-app");
  EXPECT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(),
              HasSubstr("\"inproc://cachemesh-app\""));
}

TEST_F(AppChannelTest, ClientInvalidationsReachTheServer) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);

  const v1::InvalidationList first = MakeList("first");
  const v1::InvalidationList second = MakeList("second");
  ASSERT_TRUE(client->Publish(first).ok());
  ASSERT_TRUE(client->Publish(second).ok());

  std::vector<v1::InvalidationList> lists = DrainServer(2);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_TRUE(MessageDifferencer::Equals(lists[0], first));
  EXPECT_TRUE(MessageDifferencer::Equals(lists[1], second));
  EXPECT_EQ(server_->stats().lists_received, 2u);
}

TEST_F(AppChannelTest, PollerReportsTheServerWhenAListWaits) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);
  Poller poller;
  poller.Add(server_.get());
  absl::StatusOr<Ready> ready = poller.Wait(absl::ZeroDuration());
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());

  ASSERT_TRUE(client->Publish(MakeList("wake")).ok());
  ready = poller.Wait(kPatience);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_THAT(ready->app_servers, ::testing::ElementsAre(server_.get()));
}

TEST_F(AppChannelTest, ServerEventsReachTheClientInOrder) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);
  std::vector<v1::AppEvent> received = Subscribe(*client);
  ASSERT_FALSE(received.empty());

  const uint64_t first = next_event_id_;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(server_->Publish(Frame({MakeEvent(next_event_id_++)})).ok());
  }
  while (received.back().event_id() != first + 2) {
    std::optional<v1::AppEvent> event = Receive(*client, kPatience);
    ASSERT_TRUE(event.has_value());
    received.push_back(*std::move(event));
  }
  // Consecutive ids from the first one heard, and no FLUSH among them.
  for (size_t i = 1; i < received.size(); ++i) {
    EXPECT_EQ(received[i].event_id(), received[i - 1].event_id() + 1);
  }
  EXPECT_TRUE(
      MessageDifferencer::Equals(received.back(), MakeEvent(first + 2)));
}

TEST_F(AppChannelTest, GapInEventIdsBecomesFlushBeforeTheEvent) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);
  ASSERT_FALSE(Subscribe(*client).empty());

  const uint64_t skipped = next_event_id_;
  ASSERT_TRUE(server_->Publish(Frame({MakeEvent(skipped + 1)})).ok());

  std::optional<v1::AppEvent> flush = Receive(*client, kPatience);
  ASSERT_TRUE(flush.has_value());
  EXPECT_EQ(flush->kind(), v1::AppEvent::FLUSH);
  EXPECT_THAT(flush->reason(), HasSubstr(absl::StrCat("lost events ", skipped,
                                                      " to ", skipped)));
  std::optional<v1::AppEvent> after = Receive(*client, absl::ZeroDuration());
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->kind(), v1::AppEvent::INVALIDATION);
  EXPECT_EQ(after->event_id(), skipped + 1);
}

TEST_F(AppChannelTest, EventsOfOneMessageComeOneByOneAndAreChecked) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);
  ASSERT_FALSE(Subscribe(*client).empty());

  const uint64_t first = next_event_id_;
  v1::AppEvent flush_event;
  flush_event.set_kind(v1::AppEvent::FLUSH);
  flush_event.set_event_id(first + 1);
  flush_event.set_reason("stream a/1 seq 3..4 is gone");
  // first, first + 1, then first + 3: first + 2 is missing.
  const AppServerStats before = server_->stats();
  ASSERT_TRUE(server_
                  ->Publish(Frame({MakeEvent(first), flush_event,
                                   MakeEvent(first + 3)}))
                  .ok());
  EXPECT_EQ(server_->stats().frames_published, before.frames_published + 1);
  EXPECT_EQ(server_->stats().events_published, before.events_published + 3);

  std::vector<v1::AppEvent> received;
  for (int i = 0; i < 4; ++i) {
    std::optional<v1::AppEvent> event = Receive(*client, kPatience);
    ASSERT_TRUE(event.has_value());
    received.push_back(*std::move(event));
  }
  EXPECT_TRUE(MessageDifferencer::Equals(received[0], MakeEvent(first)));
  EXPECT_TRUE(MessageDifferencer::Equals(received[1], flush_event));
  EXPECT_EQ(received[2].kind(), v1::AppEvent::FLUSH);
  EXPECT_THAT(received[2].reason(),
              HasSubstr(absl::StrCat("lost events ", first + 2)));
  EXPECT_TRUE(MessageDifferencer::Equals(received[3], MakeEvent(first + 3)));
  EXPECT_FALSE(Receive(*client, absl::ZeroDuration()).has_value());
}

TEST_F(AppChannelTest, ReceiveAllHandsOverAMessageInOrderAfterReceive) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);
  ASSERT_FALSE(Subscribe(*client).empty());

  const uint64_t first = next_event_id_;
  ASSERT_TRUE(server_
                  ->Publish(Frame({MakeEvent(first), MakeEvent(first + 1),
                                   MakeEvent(first + 3)}))
                  .ok());
  ASSERT_TRUE(server_->Publish(Frame({MakeEvent(first + 4)})).ok());
  // One event alone, then the rest of that message in bulk.
  std::optional<v1::AppEvent> one = Receive(*client, kPatience);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->event_id(), first);

  std::vector<v1::AppEvent> handled;
  auto collect = [&](const v1::AppEvent& event) { handled.push_back(event); };
  absl::StatusOr<size_t> count = client->ReceiveAll(kPatience, collect);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 3u);
  ASSERT_EQ(handled.size(), 3u);
  EXPECT_TRUE(MessageDifferencer::Equals(handled[0], MakeEvent(first + 1)));
  EXPECT_EQ(handled[1].kind(), v1::AppEvent::FLUSH);
  EXPECT_THAT(handled[1].reason(),
              HasSubstr(absl::StrCat("lost events ", first + 2)));
  EXPECT_TRUE(MessageDifferencer::Equals(handled[2], MakeEvent(first + 3)));

  // The next message, read into the same buffers.
  handled.clear();
  count = client->ReceiveAll(kPatience, collect);
  ASSERT_TRUE(count.ok()) << count.status();
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(handled[0], MakeEvent(first + 4)));
  count = client->ReceiveAll(absl::ZeroDuration(), collect);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0u);
}

TEST_F(AppChannelTest, EventIdsStartingOverBecomeFlush) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);
  ASSERT_FALSE(Subscribe(*client).empty());
  ASSERT_GT(next_event_id_, 2u);

  // As after a daemon restart: numbering starts again at 1.
  ASSERT_TRUE(server_->Publish(Frame({MakeEvent(1)})).ok());
  std::optional<v1::AppEvent> flush = Receive(*client, kPatience);
  ASSERT_TRUE(flush.has_value());
  EXPECT_EQ(flush->kind(), v1::AppEvent::FLUSH);
  EXPECT_THAT(flush->reason(), HasSubstr("restarted"));
  std::optional<v1::AppEvent> after = Receive(*client, absl::ZeroDuration());
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->event_id(), 1u);
}

TEST_F(AppChannelTest, UnreadableEventBecomesFlush) {
  // A fake daemon that sends garbage on the event endpoint.
  zmq::context_t zmq_context;
  zmq::socket_t fake(zmq_context, zmq::socket_type::pub);
  fake.set(zmq::sockopt::linger, 0);
  fake.bind(AppEventsEndpoint(endpoint_));
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);

  std::optional<v1::AppEvent> event;
  const absl::Time deadline = absl::Now() + kPatience;
  while (!event.has_value() && absl::Now() < deadline) {
    fake.send(zmq::str_buffer("\xff"), zmq::send_flags::dontwait);
    event = Receive(*client, absl::Milliseconds(20));
  }
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind(), v1::AppEvent::FLUSH);
  EXPECT_THAT(event->reason(), HasSubstr("unreadable"));
}

TEST_F(AppChannelTest, UnreadableListIsCountedAndSkipped) {
  StartServer();
  zmq::context_t zmq_context;
  zmq::socket_t app(zmq_context, zmq::socket_type::push);
  app.set(zmq::sockopt::linger, 0);
  app.connect(endpoint_);
  ASSERT_TRUE(app.send(zmq::str_buffer("\xff"), zmq::send_flags::none));
  const std::string valid = MakeList("valid").SerializeAsString();
  ASSERT_TRUE(app.send(zmq::buffer(valid), zmq::send_flags::none));

  std::vector<v1::InvalidationList> lists = DrainServer(1);
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(lists[0].invalidations(0).key(), "valid");
  EXPECT_EQ(server_->stats().lists_rejected, 1u);
}

TEST_F(AppChannelTest, PublishWithoutDaemonIsUnavailable) {
  ClientOptions options;
  options.send_timeout = absl::Milliseconds(50);
  std::unique_ptr<Client> client = ConnectClient(options);
  ASSERT_TRUE(client);

  absl::Status sent = client->Publish(MakeList("nobody"));
  EXPECT_EQ(sent.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(sent.message(), HasSubstr(endpoint_));
}

TEST_F(AppChannelTest, ReceiveTimesOutWithNothing) {
  StartServer();
  std::unique_ptr<Client> client = ConnectClient();
  ASSERT_TRUE(client);
  absl::StatusOr<std::optional<v1::AppEvent>> event =
      client->Receive(absl::Milliseconds(20));
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_FALSE(event->has_value());
}

}  // namespace
}  // namespace net
}  // namespace cachemesh
