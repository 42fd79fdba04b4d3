// Tests of the Redis-protocol server (service/redis_server.h) over real
// loopback sockets. The test thread drives the server by calling
// HandleReady()/Tick() until a condition holds; timeouts use a fake clock.
#include "service/redis_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace {

// A command as a client library encodes it.
std::string Cmd(const std::vector<std::string>& args) {
  std::string out = absl::StrCat("*", args.size(), "\r\n");
  for (const std::string& arg : args) {
    absl::StrAppend(&out, "$", arg.size(), "\r\n", arg, "\r\n");
  }
  return out;
}

std::string Bulk(const std::string& bytes) {
  return absl::StrCat("$", bytes.size(), "\r\n", bytes, "\r\n");
}

std::string HelloReply(int id, int protocol) {
  return absl::StrCat(protocol == 3 ? "%7\r\n" : "*14\r\n", Bulk("server"),
                      Bulk("redis"), Bulk("version"), Bulk("7.2.4"),
                      Bulk("proto"), ":", protocol, "\r\n", Bulk("id"), ":", id,
                      "\r\n", Bulk("mode"), Bulk("standalone"), Bulk("role"),
                      Bulk("master"), Bulk("modules"), "*0\r\n");
}

// A pub/sub frame: RESP3 push (`>`) or RESP2 array.
std::string Frame(int protocol, const std::vector<std::string>& bulks,
                  const std::string& tail = "") {
  std::string out = absl::StrCat(protocol == 3 ? ">" : "*",
                                 bulks.size() + (tail.empty() ? 0 : 1), "\r\n");
  for (const std::string& bulk : bulks) out += Bulk(bulk);
  return out + tail;
}

const char kLettuceHello[] =
    "*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$0\r\n\r\n";
const char kChannel[] = "dhis2_cache_invalidation";
const char kMessage[] = "Xk3v9aPq0Lm:update:org.hisp.dhis.user.User:42";

class RedisServerTest : public ::testing::Test {
 protected:
  ~RedisServerTest() override {
    for (int fd : clients_) close(fd);
  }

  void Start(RedisServerOptions options = {}) {
    options.addresses = {"127.0.0.1"};
    options.port = 0;
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Create(
        options,
        [this](const std::string& channel, const std::string& payload) {
          return server_->Deliver(channel, payload);
        },
        [this](const std::string& reason) { losses_.push_back(reason); },
        [this] { return now_; });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A connected, non-blocking client socket; `receive_buffer` > 0 shrinks
  // its receive buffer.
  int Connect(int receive_buffer = 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer,
                 sizeof(receive_buffer));
    }
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(server_->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    clients_.push_back(fd);
    return fd;
  }

  // Drives the server until `done` holds; false after a 10 s deadline.
  bool DriveUntil(const std::function<bool()>& done) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done()) {
      if (absl::Now() > deadline) return false;
      server_->HandleReady();
    }
    return true;
  }

  void Send(int fd, const std::string& bytes) {
    size_t sent = 0;
    EXPECT_TRUE(DriveUntil([&] {
      ssize_t put =
          send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (put > 0) sent += static_cast<size_t>(put);
      return sent == bytes.size();
    }));
  }

  // Reads exactly `size` bytes (fewer if the server closes or time runs
  // out).
  std::string Read(int fd, size_t size) {
    std::string got;
    DriveUntil([&] {
      char buffer[1 << 16];
      ssize_t n =
          recv(fd, buffer, std::min(sizeof(buffer), size - got.size()), 0);
      if (n > 0) got.append(buffer, static_cast<size_t>(n));
      return got.size() == size || n == 0;
    });
    return got;
  }

  std::string Call(int fd, const std::string& request, size_t reply_size) {
    Send(fd, request);
    return Read(fd, reply_size);
  }

  void ExpectReply(int fd, const std::string& request,
                   const std::string& reply) {
    EXPECT_EQ(Call(fd, request, reply.size()), reply);
  }

  // True once the server has closed `fd` (input before that is dropped).
  bool Closed(int fd) {
    return DriveUntil([&] {
      char buffer[1 << 16];
      ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      return n == 0 || (n < 0 && errno == ECONNRESET);
    });
  }

  // A client after Lettuce 6.8's handshake, subscribed when `subscribe`.
  int Lettuce(int id, bool subscribe) {
    int fd = Connect();
    ExpectReply(fd, kLettuceHello, HelloReply(id, 3));
    ExpectReply(fd, Cmd({"CLIENT", "SETINFO", "lib-name", "Lettuce"}),
                "+OK\r\n");
    ExpectReply(fd, Cmd({"CLIENT", "SETINFO", "lib-ver", "6.8.2.RELEASE"}),
                "+OK\r\n");
    if (subscribe) {
      ExpectReply(fd, Cmd({"SUBSCRIBE", kChannel}),
                  Frame(3, {"subscribe", kChannel}, ":1\r\n"));
    }
    return fd;
  }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::unique_ptr<RedisServer> server_;
  std::vector<std::string> losses_;
  std::vector<int> clients_;
};

TEST_F(RedisServerTest, Lettuce68HandshakeSubscribeAndPublish) {
  Start();
  int subscriber = Lettuce(1, true);
  int publisher = Lettuce(2, false);
  ExpectReply(publisher, Cmd({"PUBLISH", kChannel, kMessage}), ":1\r\n");
  std::string message = Frame(3, {"message", kChannel, kMessage});
  EXPECT_EQ(message, absl::StrCat(">3\r\n$7\r\nmessage\r\n$24\r\n", kChannel,
                                  "\r\n$45\r\n", kMessage, "\r\n"));
  EXPECT_EQ(Read(subscriber, message.size()), message);
  RedisServerStats stats = server_->stats();
  EXPECT_EQ(stats.clients, 2u);
  EXPECT_EQ(stats.subscriptions, 1u);
  EXPECT_EQ(stats.messages_in, 1u);
  EXPECT_EQ(stats.messages_out, 1u);
}

TEST_F(RedisServerTest, Lettuce616BareHelloAndResp2Fallback) {
  Start();
  int fd = Connect();
  ExpectReply(fd, Cmd({"HELLO", "3"}), HelloReply(1, 3));
  int resp2 = Connect();
  ExpectReply(resp2, Cmd({"AUTH", ""}), "+OK\r\n");
  ExpectReply(resp2, Cmd({"HELLO"}), HelloReply(2, 2));
  ExpectReply(resp2, Cmd({"HELLO", "4"}),
              "-NOPROTO unsupported protocol version\r\n");
}

TEST_F(RedisServerTest, PasswordIsChecked) {
  RedisServerOptions options;
  options.password = "secret";
  Start(options);
  int fd = Connect();
  ExpectReply(fd, Cmd({"PING"}), "-NOAUTH Authentication required.\r\n");
  ExpectReply(
      fd, kLettuceHello,
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  ExpectReply(fd, Cmd({"AUTH", "other", "secret"}),
              "-WRONGPASS invalid username-password pair or user is "
              "disabled.\r\n");
  ExpectReply(fd, Cmd({"AUTH", "secret"}), "+OK\r\n");
  ExpectReply(fd, Cmd({"PING"}), "+PONG\r\n");
  ExpectReply(fd, Cmd({"HELLO", "3", "AUTH", "default", "secret"}),
              HelloReply(1, 3));
}

TEST_F(RedisServerTest, PipelinedHandshakeInOneWrite) {
  Start();
  int fd = Connect();
  std::string request = absl::StrCat(
      kLettuceHello, Cmd({"CLIENT", "SETINFO", "lib-name", "x"}),
      Cmd({"CLIENT", "SETINFO", "lib-ver", "1"}), Cmd({"SELECT", "0"}),
      Cmd({"SUBSCRIBE", kChannel}), "PING\r\n");
  std::string reply =
      absl::StrCat(HelloReply(1, 3), "+OK\r\n+OK\r\n+OK\r\n",
                   Frame(3, {"subscribe", kChannel}, ":1\r\n"), "+PONG\r\n");
  ExpectReply(fd, request, reply);
}

TEST_F(RedisServerTest, MessageIsNeverSplicedIntoALargeReply) {
  RedisServerOptions options;
  options.parser.max_command_bytes = 16 << 20;
  Start(options);
  int subscriber = Connect();
  int publisher = Connect();
  std::string huge(8 << 20, 'h');
  // The reply to this SUBSCRIBE is larger than the socket buffers, so it is
  // still being written when the message comes.
  Send(subscriber, Cmd({"SUBSCRIBE", "small", huge}));
  ASSERT_TRUE(DriveUntil([&] { return server_->stats().subscriptions == 2; }));
  ExpectReply(publisher, Cmd({"PUBLISH", "small", "m"}), ":1\r\n");
  std::string expected =
      absl::StrCat(Frame(2, {"subscribe", "small"}, ":1\r\n"),
                   Frame(2, {"subscribe", huge}, ":2\r\n"),
                   Frame(2, {"message", "small", "m"}));
  EXPECT_TRUE(Read(subscriber, expected.size()) == expected);
}

TEST_F(RedisServerTest, UnsubscribeWithoutArguments) {
  Start();
  int fd = Connect();
  ExpectReply(fd, Cmd({"UNSUBSCRIBE"}),
              "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a", "b"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n") +
                  Frame(2, {"subscribe", "b"}, ":2\r\n"));
  ExpectReply(fd, Cmd({"UNSUBSCRIBE"}),
              Frame(2, {"unsubscribe", "a"}, ":1\r\n") +
                  Frame(2, {"unsubscribe", "b"}, ":0\r\n"));
  ExpectReply(fd, Cmd({"PUNSUBSCRIBE", "x*"}),
              Frame(2, {"punsubscribe", "x*"}, ":0\r\n"));
  ExpectReply(fd, Cmd({"HELLO", "3"}), HelloReply(1, 3));
  ExpectReply(fd, Cmd({"UNSUBSCRIBE"}),
              ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
}

TEST_F(RedisServerTest, PatternSubscriptions) {
  Start();
  int subscriber = Connect();
  int publisher = Connect();
  ExpectReply(subscriber, Cmd({"PSUBSCRIBE", "dhis2_*", "x?"}),
              Frame(2, {"psubscribe", "dhis2_*"}, ":1\r\n") +
                  Frame(2, {"psubscribe", "x?"}, ":2\r\n"));
  ExpectReply(subscriber, Cmd({"SUBSCRIBE", kChannel}),
              Frame(2, {"subscribe", kChannel}, ":3\r\n"));
  ExpectReply(publisher, Cmd({"PUBLISH", kChannel, "m"}), ":2\r\n");
  std::string frames = Frame(2, {"message", kChannel, "m"}) +
                       Frame(2, {"pmessage", "dhis2_*", kChannel, "m"});
  EXPECT_EQ(Read(subscriber, frames.size()), frames);
  ExpectReply(publisher, Cmd({"PUBLISH", "other", "m"}), ":0\r\n");
  ExpectReply(publisher, Cmd({"PUBSUB", "NUMPAT"}), ":2\r\n");
  ExpectReply(publisher, Cmd({"PUBSUB", "CHANNELS", "dhis2*"}),
              "*1\r\n" + Bulk(kChannel));
  ExpectReply(publisher, Cmd({"PUBSUB", "NUMSUB", kChannel, "other"}),
              "*4\r\n" + Bulk(kChannel) + ":1\r\n" + Bulk("other") + ":0\r\n");
  ExpectReply(subscriber, Cmd({"PUNSUBSCRIBE"}),
              Frame(2, {"punsubscribe", "dhis2_*"}, ":2\r\n") +
                  Frame(2, {"punsubscribe", "x?"}, ":1\r\n"));
}

TEST_F(RedisServerTest, Resp2SubscribedModeRefusesOtherCommands) {
  Start();
  int fd = Connect();
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n"));
  ExpectReply(fd, Cmd({"PUBLISH", "a", "m"}),
              "-ERR Can't execute 'publish': only (P|S)SUBSCRIBE / "
              "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
              "context\r\n");
  ExpectReply(fd, Cmd({"CLIENT", "GETNAME"}),
              "-ERR Can't execute 'client|getname': only (P|S)SUBSCRIBE / "
              "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
              "context\r\n");
  ExpectReply(fd, Cmd({"PING"}), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  ExpectReply(fd, Cmd({"PING", "redis-py-health-check"}),
              "*2\r\n$4\r\npong\r\n" + Bulk("redis-py-health-check"));
}

TEST_F(RedisServerTest, Resp3SubscriberMayPublishToItself) {
  Start();
  int fd = Lettuce(1, true);
  ExpectReply(fd, Cmd({"PING"}), "+PONG\r\n");
  ExpectReply(fd, Cmd({"PUBLISH", kChannel, "m"}),
              Frame(3, {"message", kChannel, "m"}) + ":1\r\n");
}

TEST_F(RedisServerTest, PingForms) {
  Start();
  int fd = Connect();
  ExpectReply(fd, Cmd({"PING"}), "+PONG\r\n");
  ExpectReply(fd, Cmd({"PING", "hi"}), "$2\r\nhi\r\n");
  ExpectReply(fd, Cmd({"PING", "a", "b"}),
              "-ERR wrong number of arguments for 'ping' command\r\n");
}

TEST_F(RedisServerTest, QuitClosesAlsoWhenSubscribed) {
  Start();
  int plain = Connect();
  ExpectReply(plain, Cmd({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(Closed(plain));
  int subscribed = Connect();
  ExpectReply(subscribed, Cmd({"SUBSCRIBE", "a"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n"));
  ExpectReply(subscribed, Cmd({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(Closed(subscribed));
  EXPECT_EQ(server_->stats().clients, 0u);
  // Asked to go: no replay window.
  EXPECT_EQ(server_->stats().replay_windows, 0u);
}

TEST_F(RedisServerTest, ResetDropsSubscriptionsAndProtocol) {
  RedisServerOptions options;
  options.password = "pw";
  Start(options);
  int fd = Connect();
  ExpectReply(fd, Cmd({"HELLO", "3", "AUTH", "default", "pw", "SETNAME", "n"}),
              HelloReply(1, 3));
  ExpectReply(fd, Cmd({"CLIENT", "GETNAME"}), "$1\r\nn\r\n");
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a"}),
              Frame(3, {"subscribe", "a"}, ":1\r\n"));
  ExpectReply(fd, Cmd({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(server_->stats().subscriptions, 0u);
  ExpectReply(fd, Cmd({"PING"}), "-NOAUTH Authentication required.\r\n");
  ExpectReply(fd, Cmd({"AUTH", "pw"}), "+OK\r\n");
  ExpectReply(fd, Cmd({"CLIENT", "GETNAME"}), "$-1\r\n");
}

TEST_F(RedisServerTest, HttpRequestsAreClosed) {
  Start();
  int post = Connect();
  Send(post, "POST / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(Closed(post));
  int host = Connect();
  Send(host, "Host: localhost\r\n");
  EXPECT_TRUE(Closed(host));
}

TEST_F(RedisServerTest, ErrorRepliesNeverEchoArguments) {
  Start();
  int fd = Connect();
  ExpectReply(fd, Cmd({"FOO", "secret", "x"}),
              "-ERR unknown command 'FOO', with args beginning with: \r\n");
  ExpectReply(fd, Cmd({"CLIENT", "FOO"}),
              "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
  ExpectReply(fd, Cmd({"PUBLISH", "a"}),
              "-ERR wrong number of arguments for 'publish' command\r\n");
  ExpectReply(fd, Cmd({"SELECT", "1"}), "-ERR DB index is out of range\r\n");
  ExpectReply(fd, Cmd({"ECHO", "e"}), "$1\r\ne\r\n");
  ExpectReply(fd, Cmd({"CLIENT", "ID"}), ":1\r\n");
  ExpectReply(fd, Cmd({"COMMAND", "DOCS"}), "*0\r\n");
  std::string info = Call(fd, Cmd({"INFO"}), 200);
  EXPECT_THAT(info, ::testing::HasSubstr(
                        "# Server\r\nredis_version:7.2.4\r\nredis_mode:"
                        "standalone\r\n"));
}

TEST_F(RedisServerTest, ProtocolErrorRepliesAndCloses) {
  Start();
  int fd = Connect();
  ExpectReply(fd, "*1\r\n$x\r\n",
              "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(Closed(fd));
  EXPECT_EQ(server_->stats().protocol_errors, 1u);
}

TEST_F(RedisServerTest, SubscriberThatDoesNotReadIsDisconnected) {
  RedisServerOptions options;
  options.max_output_bytes = 64 << 10;
  Start(options);
  int fd = Connect(4096);
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n"));
  std::string payload(16 << 10, 'p');
  for (int i = 0; i < 100000 && server_->stats().overflows == 0; ++i) {
    server_->Deliver("a", payload);
  }
  EXPECT_EQ(server_->stats().overflows, 1u);
  EXPECT_EQ(server_->stats().clients, 0u);
  ASSERT_EQ(losses_.size(), 1u);
  EXPECT_THAT(losses_[0], ::testing::HasSubstr("max_output_bytes"));
  EXPECT_TRUE(Closed(fd));
}

TEST_F(RedisServerTest, HalfSentCommandTimesOutIdleConnectionDoesNot) {
  Start();
  int idle = Connect();
  int half = Connect();
  ExpectReply(idle, Cmd({"PING"}), "+PONG\r\n");
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
  Send(half, "*2\r\n$4\r\nECHO\r\n$3\r\nab");
  ASSERT_TRUE(DriveUntil(
      [&] { return server_->NextDeadline() != absl::InfiniteFuture(); }));
  EXPECT_EQ(server_->NextDeadline(), now_ + absl::Seconds(10));
  now_ += absl::Seconds(9);
  server_->Tick();
  now_ += absl::Hours(24);
  server_->Tick();
  EXPECT_TRUE(Closed(half));
  ExpectReply(idle, Cmd({"PING"}), "+PONG\r\n");
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
}

TEST_F(RedisServerTest, ParkedMessagesGoToTheNextSubscriber) {
  RedisServerOptions options;
  options.startup_park_for = absl::ZeroDuration();
  Start(options);
  EXPECT_EQ(server_->Deliver(kChannel, "never subscribed"), 0);
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
  int first = Lettuce(1, true);
  close(first);
  ASSERT_TRUE(DriveUntil([&] { return server_->stats().clients == 0; }));
  EXPECT_EQ(server_->Deliver(kChannel, "m1"), 0);
  EXPECT_EQ(server_->NextDeadline(), now_ + absl::Seconds(10));
  int second = Connect();
  ExpectReply(second, Cmd({"SUBSCRIBE", kChannel}),
              Frame(2, {"subscribe", kChannel}, ":1\r\n") +
                  Frame(2, {"message", kChannel, "m1"}));
  EXPECT_TRUE(losses_.empty());
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
}

TEST_F(RedisServerTest, UnsubscribedChannelGetsNoWindow) {
  RedisServerOptions options;
  options.startup_park_for = absl::ZeroDuration();
  Start(options);
  int fd = Connect();
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n"));
  ExpectReply(fd, Cmd({"UNSUBSCRIBE", "a"}),
              Frame(2, {"unsubscribe", "a"}, ":0\r\n"));
  server_->Deliver("a", "nobody wants it");
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
  EXPECT_EQ(server_->stats().parked_messages, 0u);
  now_ += absl::Hours(1);
  server_->Tick();
  EXPECT_TRUE(losses_.empty());
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a"}) + Cmd({"PING"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n") +
                  "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

TEST_F(RedisServerTest, WindowExpiresWithLossWhenASubscriberStaysAway) {
  RedisServerOptions options;
  options.startup_park_for = absl::ZeroDuration();
  Start(options);
  close(Lettuce(1, true));
  ASSERT_TRUE(DriveUntil([&] { return server_->stats().clients == 0; }));
  server_->Deliver(kChannel, "lost");
  now_ += absl::Seconds(9);
  server_->Tick();
  EXPECT_TRUE(losses_.empty());
  now_ += absl::Seconds(1);
  server_->Tick();
  ASSERT_EQ(losses_.size(), 1u);
  EXPECT_THAT(losses_[0], ::testing::HasSubstr(kChannel));
  EXPECT_EQ(server_->stats().loss_events, 1u);
  EXPECT_EQ(server_->stats().replay_windows, 0u);
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
}

TEST_F(RedisServerTest, WindowKeepsMessagesWhileOthersAreSubscribed) {
  RedisServerOptions options;
  options.startup_park_for = absl::ZeroDuration();
  Start(options);
  int a = Connect();
  int b = Connect();
  int p = Connect();
  for (int fd : {a, b}) {
    ExpectReply(fd, Cmd({"SUBSCRIBE", "ch"}),
                Frame(2, {"subscribe", "ch"}, ":1\r\n"));
  }
  ExpectReply(p, Cmd({"PSUBSCRIBE", "c*"}),
              Frame(2, {"psubscribe", "c*"}, ":1\r\n"));
  // a reconnects while b and p stay subscribed.
  close(a);
  ASSERT_TRUE(DriveUntil([&] { return server_->stats().clients == 2; }));
  EXPECT_EQ(server_->Deliver("ch", "m1"), 2);
  server_->FlushWrites();
  int a2 = Connect();
  ExpectReply(a2, Cmd({"SUBSCRIBE", "ch"}),
              Frame(2, {"subscribe", "ch"}, ":1\r\n") +
                  Frame(2, {"message", "ch", "m1"}));
  // Both reconnect; each gets what was published meanwhile.
  close(a2);
  close(b);
  ASSERT_TRUE(DriveUntil([&] { return server_->stats().clients == 1; }));
  EXPECT_EQ(server_->Deliver("ch", "m2"), 1);
  for (int fd : {Connect(), Connect()}) {
    ExpectReply(fd, Cmd({"SUBSCRIBE", "ch"}),
                Frame(2, {"subscribe", "ch"}, ":1\r\n") +
                    Frame(2, {"message", "ch", "m2"}));
  }
  EXPECT_EQ(server_->stats().messages_replayed, 3u);
  EXPECT_EQ(server_->stats().replay_windows, 0u);
  now_ += absl::Minutes(1);
  server_->Tick();
  EXPECT_TRUE(losses_.empty());
}

// After a daemon restart, messages for a channel nobody here subscribes to
// yet are kept for the first subscriber (the app reconnecting); once it is
// back, messages go out live and are kept no more.
TEST_F(RedisServerTest, StartupWindowKeepsMessagesForTheFirstSubscriber) {
  Start();
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
  EXPECT_EQ(server_->Deliver(kChannel, "m0"), 0);
  EXPECT_EQ(server_->NextDeadline(), now_ + absl::Seconds(40));
  now_ += absl::Seconds(30);
  int first = Connect();
  ExpectReply(first, Cmd({"SUBSCRIBE", kChannel}),
              Frame(2, {"subscribe", kChannel}, ":1\r\n") +
                  Frame(2, {"message", kChannel, "m0"}));
  EXPECT_EQ(server_->stats().parked_messages, 0u);
  EXPECT_EQ(server_->Deliver(kChannel, "m1"), 1);
  EXPECT_EQ(server_->stats().parked_messages, 0u);  // Live, not kept.
  int second = Connect();
  ExpectReply(second, Cmd({"SUBSCRIBE", kChannel}),
              Frame(2, {"subscribe", kChannel}, ":1\r\n"));
  now_ += absl::Seconds(10);
  server_->Tick();
  EXPECT_TRUE(losses_.empty());
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
  EXPECT_EQ(server_->Deliver("other", "late"), 0);
  EXPECT_EQ(server_->stats().parked_messages, 0u);
}

TEST_F(RedisServerTest, ParkingIsBounded) {
  RedisServerOptions options;
  options.startup_park_for = absl::ZeroDuration();
  options.park_max_messages = 2;
  Start(options);
  close(Lettuce(1, true));
  ASSERT_TRUE(DriveUntil([&] { return server_->stats().clients == 0; }));
  for (const char* payload : {"1", "2", "3"}) {
    server_->Deliver(kChannel, payload);
  }
  EXPECT_EQ(server_->stats().parked_dropped, 1u);
  ASSERT_EQ(losses_.size(), 1u);
  EXPECT_THAT(losses_[0], ::testing::HasSubstr(kChannel));
  int fd = Connect();
  ExpectReply(fd, Cmd({"SUBSCRIBE", kChannel}),
              Frame(2, {"subscribe", kChannel}, ":1\r\n") +
                  Frame(2, {"message", kChannel, "2"}) +
                  Frame(2, {"message", kChannel, "3"}));
}

TEST_F(RedisServerTest, ParkedBytesAreBounded) {
  RedisServerOptions options;
  options.park_max_bytes = 10;  // startup window: "ch" + 4-byte payloads
  Start(options);
  server_->Deliver("ch", "1111");
  EXPECT_TRUE(losses_.empty());
  server_->Deliver("ch", "2222");
  EXPECT_EQ(server_->stats().parked_dropped, 1u);
  EXPECT_EQ(server_->stats().parked_bytes, 6u);
  EXPECT_EQ(losses_.size(), 1u);
}

TEST_F(RedisServerTest, UnsentMessagesOfAClosedConnectionAreALoss) {
  Start();
  int fd = Connect();
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n"));
  Send(fd, "*2\r\n$4\r\nECHO\r\n$3\r\nab");
  ASSERT_TRUE(DriveUntil(
      [&] { return server_->NextDeadline() < now_ + absl::Seconds(11); }));
  server_->Deliver("a", "queued, never sent");  // no FlushWrites()
  now_ += absl::Seconds(10);
  server_->Tick();
  EXPECT_TRUE(Closed(fd));
  ASSERT_EQ(losses_.size(), 1u);
  EXPECT_THAT(losses_[0], ::testing::HasSubstr("never sent"));
}

TEST_F(RedisServerTest, BindFailuresOtherThanAMissingAddressFailCreate) {
  int taken = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  ASSERT_EQ(listen(taken, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);
  clients_.push_back(taken);
  auto create = [&](std::vector<std::string> addresses, int port) {
    RedisServerOptions options;
    options.addresses = std::move(addresses);
    options.port = port;
    return RedisServer::Create(
        options, [](const std::string&, const std::string&) { return 0; },
        [](const std::string&) {}, [this] { return now_; });
  };
  absl::StatusOr<std::unique_ptr<RedisServer>> in_use =
      create({"127.0.0.1"}, port);
  ASSERT_FALSE(in_use.ok());
  EXPECT_THAT(std::string(in_use.status().message()),
              ::testing::HasSubstr(absl::StrCat("127.0.0.1:", port)));
  // 192.0.2.1 (TEST-NET-1) is no address of this host: skipped.
  absl::StatusOr<std::unique_ptr<RedisServer>> skipped =
      create({"192.0.2.1", "127.0.0.1"}, 0);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  ASSERT_EQ((*skipped)->bind_notes().size(), 1u);
  EXPECT_THAT((*skipped)->bind_notes()[0], ::testing::HasSubstr("192.0.2.1"));
}

TEST_F(RedisServerTest, AcceptOutOfFdsPausesTheListener) {
  Start();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  clients_.push_back(fd);
  rlimit saved = {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int lowest_free = dup(0);
  close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server_->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int connected =
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  bool paused = DriveUntil([&] { return server_->stats().accept_pauses > 0; });
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_EQ(connected, 0);
  ASSERT_TRUE(paused);
  EXPECT_EQ(server_->NextDeadline(), now_ + absl::Milliseconds(100));
  server_->HandleReady();  // the listener is out of epoll: nothing to do
  EXPECT_EQ(server_->stats().accept_pauses, 1u);
  EXPECT_EQ(server_->stats().clients, 0u);
  now_ += absl::Milliseconds(100);
  server_->Tick();
  EXPECT_EQ(server_->NextDeadline(), absl::InfiniteFuture());
  fcntl(fd, F_SETFL, O_NONBLOCK);
  ExpectReply(fd, Cmd({"PING"}), "+PONG\r\n");
}

TEST_F(RedisServerTest, UnauthenticatedCommandsAreSmall) {
  RedisServerOptions options;
  options.password = "pw";
  Start(options);
  int fd = Connect();
  ExpectReply(fd, Cmd({"AUTH", std::string(20 << 10, 'x')}),
              "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(Closed(fd));
  int authed = Connect();
  ExpectReply(authed, Cmd({"AUTH", "pw"}), "+OK\r\n");
  std::string big(20 << 10, 'x');
  ExpectReply(authed, Cmd({"ECHO", big}), Bulk(big));
}

TEST_F(RedisServerTest, TooLargeMessageIsRefused) {
  RedisServerOptions options;
  options.max_message_bytes = 10;
  Start(options);
  int subscriber = Connect();
  int publisher = Connect();
  ExpectReply(subscriber, Cmd({"SUBSCRIBE", "ch"}),
              Frame(2, {"subscribe", "ch"}, ":1\r\n"));
  ExpectReply(publisher, Cmd({"PUBLISH", "ch", "123456789"}),
              "-ERR message too large\r\n");
  ExpectReply(publisher, Cmd({"PUBLISH", "ch", "12345678"}), ":1\r\n");
  EXPECT_EQ(Read(subscriber, Frame(2, {"message", "ch", "12345678"}).size()),
            Frame(2, {"message", "ch", "12345678"}));
  EXPECT_EQ(server_->stats().messages_too_large, 1u);
}

TEST_F(RedisServerTest, DrainedOutputBufferIsShrunk) {
  Start();
  int fd = Connect();
  ExpectReply(fd, Cmd({"SUBSCRIBE", "a"}),
              Frame(2, {"subscribe", "a"}, ":1\r\n"));
  std::string payload(4 << 20, 'p');
  server_->Deliver("a", payload);
  server_->FlushWrites();
  std::string frame = Frame(2, {"message", "a", payload});
  EXPECT_TRUE(Read(fd, frame.size()) == frame);
  ASSERT_TRUE(DriveUntil(
      [&] { return server_->stats().output_buffer_bytes < (1 << 20); }));
}

TEST_F(RedisServerTest, HalfCloseIsAnsweredBeforeClosing) {
  Start();
  int fd = Connect();
  Send(fd, "PING\r\nECHO x\r\n");
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(Read(fd, 14), "+PONG\r\n$1\r\nx\r\n");
  EXPECT_TRUE(Closed(fd));
  EXPECT_EQ(server_->stats().clients, 0u);
}

TEST_F(RedisServerTest, BinaryChannelAndPayloadKeptExactly) {
  Start();
  const std::string channel("c\0\r\n\xff\xfe", 6);
  const std::string payload("p\0\r\n\xc3\x28 end", 10);
  int subscriber = Connect();
  int publisher = Lettuce(2, false);
  ExpectReply(subscriber, Cmd({"SUBSCRIBE", channel}),
              Frame(2, {"subscribe", channel}, ":1\r\n"));
  ExpectReply(publisher, Cmd({"PUBLISH", channel, payload}), ":1\r\n");
  std::string frame = Frame(2, {"message", channel, payload});
  EXPECT_EQ(Read(subscriber, frame.size()), frame);
}

}  // namespace
}  // namespace cachemesh
