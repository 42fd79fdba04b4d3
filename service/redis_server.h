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
  // whose family or address the host lacks (EAFNOSUPPORT, EADDRNOTAVAIL:
  // ::1 without IPv6) is skipped with a reason kept for logs (bind_notes()),
  // but at least one must bind. Any other failure (e.g. EADDRINUSE: an old
  // redis-server still on the port) fails Create().
  std::vector<std::string> addresses = {"127.0.0.1"};
  // 0: any free port (tests), see port(). All addresses share the port.
  int port = 6379;
  // Empty: any password, including "", is accepted for user "default"
  // (DHIS 2 always sends AUTH, even with an empty password). Otherwise
  // clients must authenticate as "default" with this password first.
  std::string password;
  // Per connection; a connection whose unsent output exceeds it is
  // disconnected, and on_loss is called when message frames were among
  // the unsent output. A drained output buffer over 1 MiB is freed.
  size_t max_output_bytes = 64 << 20;
  // A command left half-sent with no new bytes for this long closes the
  // connection. Idle connections are NEVER timed out (Lettuce sends no
  // keep-alive).
  absl::Duration partial_command_timeout = absl::Seconds(10);
  // Connections beyond this get "-ERR max number of clients reached".
  size_t max_connections = 1024;
  // Replay windows, for subscribers that reconnect (Lettuce does so by
  // itself, with backoff up to ~30 s, and resubscribes). When a connection
  // subscribed to channel X goes away without unsubscribing (closed, I/O
  // error, overflow; not UNSUBSCRIBE, RESET or QUIT), a window for X opens
  // (or is extended) for park_for. Every message to X during the window is
  // recorded, whether or not X has other subscribers, and replayed to each
  // new SUBSCRIBE of X (duplicates are harmless to DHIS 2). The window
  // closes early once as many SUBSCRIBEs as departures came; on_loss is
  // called when it expires with fewer.
  absl::Duration park_for = absl::Seconds(10);
  // For this long after Create(), a message for a channel with no
  // subscriber here opens a window for it (the app's subscribers of the
  // previous run may be reconnecting): it is replayed to the channel's
  // first subscriber, which closes the window; it ends without on_loss.
  absl::Duration startup_park_for = absl::Seconds(40);
  // Bounds of what all windows hold together; beyond either, the oldest
  // recorded messages of the channel being recorded to are dropped and
  // on_loss is called.
  size_t park_max_messages = 65536;
  size_t park_max_bytes = 64 << 20;
  // A PUBLISH whose channel plus payload is longer gets "-ERR message too
  // large" and is not delivered.
  size_t max_message_bytes = 1 << 20;
  // Limits of the request parser.
  RespParserOptions parser;
  // Limits of the request parser before AUTH when a password is set
  // (Redis: 10 arguments, 16 KiB bulks).
  RespParserOptions unauthenticated_parser = {10, 16 << 10, 16 << 10, 64 << 10};
};

struct RedisServerStats {
  uint64_t clients = 0;         // open connections
  uint64_t subscriptions = 0;   // channels + patterns over all connections
  uint64_t messages_in = 0;     // PUBLISHes received
  uint64_t messages_out = 0;    // message frames queued to subscribers
  uint64_t overflows = 0;       // disconnects for max_output_bytes
  uint64_t parked_dropped = 0;  // recorded messages dropped for the bounds
  uint64_t connections_total = 0;
  uint64_t protocol_errors = 0;
  uint64_t accept_pauses = 0;        // listeners paused for EMFILE and the like
  uint64_t loss_events = 0;          // on_loss calls
  uint64_t messages_too_large = 0;   // PUBLISHes refused, max_message_bytes
  uint64_t messages_replayed = 0;    // frames queued from replay windows
  uint64_t replay_windows = 0;       // windows open
  uint64_t parked_messages = 0;      // messages held by the windows
  uint64_t parked_bytes = 0;         // their channel and payload bytes
  uint64_t output_buffer_bytes = 0;  // output buffer capacity, all clients
};

class RedisServer {
 public:
  // on_publish: a client PUBLISHed; the callee sends it to the cluster and
  // (re-entrantly) calls Deliver() for local subscribers; returns the reply
  // count for PUBLISH.
  // on_loss: a local subscriber may have missed messages (message frames
  // never sent to a closed connection, a replay window that expired or
  // overflowed); reason for logs/health. May re-enter Deliver().
  // now: the clock for timeouts and replay windows.
  // Fails when an address is not an IP literal or cannot be bound or
  // listened on (see RedisServerOptions::addresses), naming it.
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
  // number of frames queued. Records the message when the channel has a
  // replay window (see RedisServerOptions::park_for). Safe to call from
  // on_publish and on_loss. The frames are sent by FlushWrites()
  // (HandleReady() ends with it), so that a batch of messages costs one
  // write per connection.
  int64_t Deliver(const std::string& channel, const std::string& payload);
  // Sends what Deliver() queued. Call after a batch of Deliver() calls.
  void FlushWrites();
  // When Tick() must run (partial-command timeouts, replay windows, a
  // paused listener); InfiniteFuture() when nothing is pending.
  absl::Time NextDeadline() const;
  // Closes timed-out half-sent connections, ends expired replay windows
  // and resumes paused listeners.
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
    // output[0, message_end) holds every message frame queued; frames were
    // lost if the connection closes with sent < message_end.
    size_t message_end = 0;
    uint32_t events = 0;  // the epoll events registered
    int protocol = 2;
    bool authenticated = false;
    bool close_after_flush = false;  // QUIT, protocol error, EOF
    bool quit = false;               // the client asked to close (QUIT)
    bool eof = false;                // the client sent EOF; no more reads
    bool closed = false;             // fd closed, awaiting Reap()
    std::string name;
    std::set<std::string> channels;
    std::set<std::string> patterns;
    // When the half-sent command times out; InfiniteFuture() if none.
    absl::Time partial_deadline = absl::InfiniteFuture();
  };
  // Messages kept for the subscribers of one channel that may come back.
  struct ReplayWindow {
    absl::Time expires;
    uint64_t departures = 0;           // subscribers gone without unsubscribing
    uint64_t resubscribes = 0;         // SUBSCRIBEs since the window opened
    std::deque<std::string> payloads;  // oldest first
    size_t bytes = 0;                  // channel + payload bytes of `payloads`
  };
  using Args = std::vector<std::string>;
  using Handler = void (RedisServer::*)(Connection&, const Args&);
  struct CommandSpec {
    const char* name;
    int arity;           // N: exactly N words; -N: at least N
    bool no_auth;        // allowed before AUTH
    bool in_subscribed;  // allowed in RESP2 subscribed mode
    Handler handler;
  };

  RedisServer(
      RedisServerOptions options,
      std::function<int64_t(const std::string&, const std::string&)> on_publish,
      std::function<void(const std::string&)> on_loss,
      std::function<absl::Time()> now);

  // Sockets and the connection life cycle (redis_server.cc).
  absl::Status Listen();
  void AcceptAll(int listener);
  // Takes the listeners out of epoll for a while (out of fds or memory).
  void PauseAccepting();
  void ResumeAccepting();
  // Reads what the socket has and executes the complete commands.
  void ReadFrom(Connection& c);
  void ExecuteInput(Connection& c);
  // Sends what the kernel takes, then enforces max_output_bytes.
  void Flush(Connection& c);
  void UpdateInterest(Connection& c);
  void CheckOutputLimit(Connection& c);
  // Closes the socket; `why` is for on_loss, called when message frames
  // were never sent (unless the client sent QUIT). Opens replay windows
  // for the channels it was subscribed to.
  void Close(Connection& c, absl::string_view why);
  void Reap();
  Connection* Find(uint64_t id);
  void ReportLoss(const std::string& reason);

  // Commands (redis_commands.cc).
  static const CommandSpec* FindCommand(const std::string& name);
  void Execute(Connection& c, const Args& args);
  void Hello(Connection& c, const Args& args);
  void Auth(Connection& c, const Args& args);
  bool CheckPassword(const std::string& user, const std::string& password);
  void SetAuthenticated(Connection& c, bool authenticated);
  void Ping(Connection& c, const Args& args);
  void Publish(Connection& c, const Args& args);
  void Subscribe(Connection& c, const Args& args);
  void Psubscribe(Connection& c, const Args& args);
  void SubscribeAll(Connection& c, const Args& args, bool pattern);
  void Unsubscribe(Connection& c, const Args& args);
  void Punsubscribe(Connection& c, const Args& args);
  void UnsubscribeAll(Connection& c, const Args& args, bool pattern);
  void UnsubscribeOne(Connection& c, const std::string& target, bool pattern);
  void DropSubscriptions(Connection& c);
  void Client(Connection& c, const Args& args);
  void Select(Connection& c, const Args& args);
  void Info(Connection& c, const Args& args);
  void Echo(Connection& c, const Args& args);
  void Quit(Connection& c, const Args& args);
  void Reset(Connection& c, const Args& args);
  void Pubsub(Connection& c, const Args& args);
  void Command(Connection& c, const Args& args);
  void AppendSubscriptionFrame(Connection& c, absl::string_view kind,
                               const std::string* target);

  // Delivery and replay windows (redis_delivery.cc).
  void AppendMessage(Connection& c, const std::string* pattern,
                     const std::string& channel, const std::string& payload);
  // Opens or extends the window of `channel` for a departed subscriber.
  void OpenWindow(const std::string& channel);
  void Record(const std::string& channel, ReplayWindow& window,
              const std::string& payload);
  // Queues the window's messages to `c`, a new subscriber of `channel`.
  void Replay(Connection& c, const std::string& channel);
  void EraseWindow(absl::flat_hash_map<std::string, ReplayWindow>::iterator it);
  void ExpireWindows(absl::Time now);

  RedisServerOptions options_;
  std::function<int64_t(const std::string&, const std::string&)> on_publish_;
  std::function<void(const std::string&)> on_loss_;
  std::function<absl::Time()> now_;
  int epoll_fd_ = -1;
  int port_ = 0;
  std::vector<int> listeners_;
  std::vector<std::string> bind_notes_;
  // When paused listeners are re-armed; InfiniteFuture() when not paused.
  absl::Time accept_resume_at_ = absl::InfiniteFuture();
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
  // Until then every channel gets a window at its first message.
  absl::Time startup_until_;
  absl::flat_hash_map<std::string, ReplayWindow> windows_;
  size_t parked_messages_ = 0;  // over all windows
  size_t parked_bytes_ = 0;
  RedisServerStats stats_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_REDIS_SERVER_H_
