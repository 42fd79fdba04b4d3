// A Redis-protocol (RESP2/RESP3) pub/sub server for loopback clients, so
// that DHIS 2 (Lettuce), redis-cli, redis-py, ioredis and node-redis can
// PUBLISH and SUBSCRIBE through cachemeshd unchanged. It speaks the subset
// of Redis 7 they use (HELLO, AUTH, PING, PUBLISH, (P)SUBSCRIBE,
// (P)UNSUBSCRIBE, CLIENT, SELECT, INFO, ECHO, QUIT, RESET, PUBSUB, COMMAND)
// with Redis 7's exact replies.
//
// Threads: none of its own. Everything runs on the caller's thread, from
// HandleReady(), Tick() and Deliver(), and never blocks. The caller polls
// fd() and calls HandleReady() when it is readable, and calls Tick() at
// NextDeadline().
#ifndef CACHEMESH_SERVICE_REDIS_SERVER_H_
#define CACHEMESH_SERVICE_REDIS_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/resp.h"

namespace cachemesh {

struct RedisServerOptions {
  // Loopback addresses to listen on, e.g. {"127.0.0.1", "::1"}. An address
  // that cannot be bound (e.g. ::1 without IPv6) is skipped with a reason
  // kept for logs (bind_notes()), but at least one must bind.
  std::vector<std::string> addresses = {"127.0.0.1"};
  // 0: any free port (tests), see port(). All addresses share the port.
  int port = 6379;
  // Empty: any password, including "", is accepted for user "default"
  // (DHIS 2 always sends AUTH, even with an empty password). Otherwise
  // clients must authenticate as "default" with this password first.
  std::string password;
  // Per connection; a connection whose unsent output exceeds it is
  // disconnected, and on_loss is called when it was a subscriber.
  size_t max_output_bytes = 64 << 20;
  // A command left half-sent with no new bytes for this long closes the
  // connection. Idle connections are NEVER timed out (Lettuce sends no
  // keep-alive).
  absl::Duration partial_command_timeout = absl::Seconds(10);
  // Connections beyond this get "-ERR max number of clients reached".
  size_t max_connections = 1024;
  // Messages published while a channel has no local subscriber are parked
  // and given to the next subscriber of that channel (Lettuce reconnects
  // and resubscribes by itself); only for channels that had a (non-pattern)
  // subscriber on this server before. Parked messages older than park_for,
  // or beyond park_max_messages, are dropped and on_loss is called.
  absl::Duration park_for = absl::Seconds(10);
  size_t park_max_messages = 65536;
  // Limits of the request parser.
  RespParserOptions parser;
};

struct RedisServerStats {
  uint64_t clients = 0;        // open connections
  uint64_t subscriptions = 0;  // channels + patterns over all connections
  uint64_t messages_in = 0;    // PUBLISHes received
  uint64_t messages_out = 0;   // message frames queued to subscribers
  uint64_t overflows = 0;      // disconnects for max_output_bytes
  uint64_t parked_dropped = 0;
  uint64_t connections_total = 0;
  uint64_t protocol_errors = 0;
};

class RedisServer {
 public:
  // on_publish: a client PUBLISHed; the callee sends it to the cluster and
  // (re-entrantly) calls Deliver() for local subscribers; returns the reply
  // count for PUBLISH.
  // on_loss: a local subscriber may have missed messages (overflow
  // disconnect, parked messages dropped); reason for logs/health.
  // now: the clock for timeouts and parking.
  // Fails when no address can be bound or an address is not an IP literal.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Create(
      RedisServerOptions options,
      std::function<int64_t(const std::string& channel,
                            const std::string& payload)>
          on_publish,
      std::function<void(const std::string& reason)> on_loss,
      std::function<absl::Time()> now);
  // Closes every connection and listener.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // One fd for the caller's poll(): readable when any listener or
  // connection needs attention (an epoll instance, level-triggered).
  int fd() const { return epoll_fd_; }
  // The bound port.
  int port() const { return port_; }
  // Accepts, reads, parses, executes and writes as far as possible without
  // blocking.
  void HandleReady();
  // Queues a "message" frame to every subscriber of `channel` and a
  // "pmessage" frame per matching pattern of every pattern subscriber (a
  // connection subscribed to both gets both, as in Redis). Returns the
  // number of frames queued. With no frame to queue, parks the message
  // (see RedisServerOptions::park_for). Safe to call from on_publish. The
  // frames are sent by FlushWrites() (HandleReady() ends with it), so that
  // a batch of messages costs one write per connection.
  int64_t Deliver(const std::string& channel, const std::string& payload);
  // Sends what Deliver() queued. Call after a batch of Deliver() calls.
  void FlushWrites();
  // When Tick() must run (partial-command timeouts, park expiry);
  // InfiniteFuture() when nothing is pending.
  absl::Time NextDeadline() const;
  // Closes timed-out half-sent connections and drops expired parked
  // messages.
  void Tick();
  RedisServerStats stats() const;
  // The addresses skipped at Create(), with reasons, for the log.
  std::vector<std::string> bind_notes() const { return bind_notes_; }

 private:
  struct Connection {
    uint64_t id = 0;
    int fd = -1;
    RespParser parser;
    std::string output;  // whole frames; output[0, sent) already sent
    size_t sent = 0;
    bool want_write = false;  // EPOLLOUT registered
    int protocol = 2;
    bool authenticated = false;
    bool close_after_flush = false;  // QUIT, protocol error
    bool closed = false;             // fd closed, awaiting Reap()
    std::string name;
    std::set<std::string> channels;
    std::set<std::string> patterns;
    // When the half-sent command times out; InfiniteFuture() if none.
    absl::Time partial_deadline = absl::InfiniteFuture();
  };
  struct ParkedMessage {
    std::string channel;
    std::string payload;
    absl::Time parked_at;
  };
  using Args = std::vector<std::string>;

  RedisServer(
      RedisServerOptions options,
      std::function<int64_t(const std::string&, const std::string&)> on_publish,
      std::function<void(const std::string&)> on_loss,
      std::function<absl::Time()> now);

  // Sockets and the connection life cycle (redis_server.cc).
  absl::Status Listen();
  void AcceptAll(int listener);
  // Reads what the socket has and executes the complete commands.
  void ReadFrom(Connection& c);
  void ExecuteInput(Connection& c);
  // Sends what the kernel takes, then enforces max_output_bytes.
  void Flush(Connection& c);
  void UpdateInterest(Connection& c);
  void CheckOutputLimit(Connection& c);
  void Close(Connection& c);
  void Reap();
  Connection* Find(uint64_t id);

  // Commands (redis_commands.cc).
  void Execute(Connection& c, const Args& args);
  void Dispatch(Connection& c, const std::string& name, const Args& args);
  void Hello(Connection& c, const Args& args);
  void Auth(Connection& c, const Args& args);
  bool CheckPassword(const std::string& user, const std::string& password);
  void Ping(Connection& c, const Args& args);
  void Publish(Connection& c, const Args& args);
  void Subscribe(Connection& c, const Args& args, bool pattern);
  void Unsubscribe(Connection& c, const Args& args, bool pattern);
  void UnsubscribeOne(Connection& c, const std::string& target, bool pattern);
  void DropSubscriptions(Connection& c);
  void Client(Connection& c, const Args& args);
  void Info(Connection& c);
  void Reset(Connection& c);
  void Pubsub(Connection& c, const Args& args);
  void AppendSubscriptionFrame(Connection& c, absl::string_view kind,
                               const std::string* target);

  // Delivery and parking (redis_delivery.cc).
  void AppendMessage(Connection& c, const std::string* pattern,
                     const std::string& channel, const std::string& payload);
  void Park(const std::string& channel, const std::string& payload);
  void Unpark(Connection& c, const std::string& channel);
  void DropParked(size_t count, const std::string& why);

  RedisServerOptions options_;
  std::function<int64_t(const std::string&, const std::string&)> on_publish_;
  std::function<void(const std::string&)> on_loss_;
  std::function<absl::Time()> now_;
  int epoll_fd_ = -1;
  int port_ = 0;
  std::vector<int> listeners_;
  std::vector<std::string> bind_notes_;
  uint64_t next_id_ = 1;
  // Connections by id (epoll data); closed ones stay until Reap(), so a
  // re-entrant Deliver() or a close mid-command never frees one in use.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<uint64_t> to_reap_;
  // Connections with frames from Deliver() not yet handed to the kernel.
  absl::flat_hash_set<uint64_t> unflushed_;
  int busy_ = 0;  // nesting of HandleReady/Tick/Deliver; Reap() at 0
  // Subscribers by channel and by pattern, as connection ids.
  absl::flat_hash_map<std::string, std::set<uint64_t>> channel_subscribers_;
  std::map<std::string, std::set<uint64_t>> pattern_subscribers_;
  absl::flat_hash_set<std::string> ever_subscribed_;  // channels that park
  std::deque<ParkedMessage> parked_;                  // oldest first
  RedisServerStats stats_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_REDIS_SERVER_H_
