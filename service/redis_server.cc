// RedisServer: listeners, connections, reads and writes, timeouts; see
// redis_server.h. Commands are in redis_commands.cc, delivery and parking in
// redis_delivery.cc.
#include "service/redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cachemesh {
namespace {

constexpr uint64_t kListenerTag = uint64_t{1} << 63;
constexpr int kMaxEvents = 64;
constexpr int kMaxAcceptsPerEvent = 64;
constexpr size_t kReadChunk = 64 << 10;
constexpr size_t kMaxReadPerEvent = 1 << 20;
constexpr size_t kCompactOutputAfter = 1 << 20;
// An output buffer that drains empty gives back its memory above this.
constexpr size_t kShrinkOutputAbove = 1 << 20;
// How long listeners stay paused after accept() ran out of fds or memory.
constexpr absl::Duration kAcceptPause = absl::Milliseconds(100);
constexpr char kTooManyClients[] = "-ERR max number of clients reached\r\n";

// A socket address for an IPv4 or IPv6 literal.
struct SocketAddress {
  sockaddr_storage storage = {};
  socklen_t length = 0;
  int family = AF_UNSPEC;
};

absl::StatusOr<SocketAddress> ParseAddress(const std::string& address,
                                           int port) {
  SocketAddress result;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = result.family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    result.length = sizeof(*v4);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = result.family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    result.length = sizeof(*v6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("redis listen address is not an IP address: ", address));
  }
  return result;
}

// A listening, non-blocking socket on `address`, or -1 with *step ("bind",
// "listen", ...) and *error (errno) saying why.
int OpenListener(const SocketAddress& address, const char** step, int* error) {
  int fd =
      socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  *step = "socket";
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (address.family == AF_INET6) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    *step = "bind";
    if (bind(fd, reinterpret_cast<const sockaddr*>(&address.storage),
             address.length) == 0) {
      *step = "listen";
      if (listen(fd, 511) == 0) return fd;
    }
  }
  *error = errno;
  if (fd >= 0) close(fd);
  return -1;
}

int BoundPort(int fd) {
  sockaddr_storage storage = {};
  socklen_t length = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Create(
    RedisServerOptions options,
    std::function<int64_t(const std::string&, const std::string&)> on_publish,
    std::function<void(const std::string&)> on_loss,
    std::function<absl::Time()> now) {
  std::unique_ptr<RedisServer> server(
      new RedisServer(std::move(options), std::move(on_publish),
                      std::move(on_loss), std::move(now)));
  if (server->epoll_fd_ < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  absl::Status status = server->Listen();
  if (!status.ok()) return status;
  return server;
}

RedisServer::RedisServer(
    RedisServerOptions options,
    std::function<int64_t(const std::string&, const std::string&)> on_publish,
    std::function<void(const std::string&)> on_loss,
    std::function<absl::Time()> now)
    : options_(std::move(options)),
      on_publish_(std::move(on_publish)),
      on_loss_(std::move(on_loss)),
      now_(std::move(now)),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      startup_until_(now_() + options_.startup_park_for) {}

RedisServer::~RedisServer() {
  for (auto& [id, connection] : connections_) {
    if (!connection->closed) close(connection->fd);
  }
  for (int fd : listeners_) close(fd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

absl::Status RedisServer::Listen() {
  for (const std::string& address : options_.addresses) {
    int port = port_ != 0 ? port_ : options_.port;
    absl::StatusOr<SocketAddress> parsed = ParseAddress(address, port);
    if (!parsed.ok()) return parsed.status();
    const char* step = "";
    int error = 0;
    int fd = OpenListener(*parsed, &step, &error);
    std::string where = parsed->family == AF_INET6
                            ? absl::StrCat("[", address, "]:", port)
                            : absl::StrCat(address, ":", port);
    if (fd < 0 && (error == EAFNOSUPPORT || error == EADDRNOTAVAIL)) {
      bind_notes_.push_back(absl::StrCat("redis: skipped ", where, ": ", step,
                                         ": ", strerror(error)));
      continue;
    }
    if (fd < 0) {
      return absl::ErrnoToStatus(
          error, absl::StrCat("redis: cannot listen on ", where, ": ", step));
    }
    if (port_ == 0) port_ = BoundPort(fd);
    epoll_event event = {};
    event.events = EPOLLIN;
    event.data.u64 = kListenerTag | listeners_.size();
    listeners_.push_back(fd);  // closed by the destructor from here on
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      return absl::ErrnoToStatus(errno,
                                 absl::StrCat("redis: epoll_ctl for ", where));
    }
  }
  if (listeners_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("redis: no listen address could be bound: ",
                     absl::StrJoin(bind_notes_, "; ")));
  }
  return absl::OkStatus();
}

void RedisServer::HandleReady() {
  ++busy_;
  epoll_event events[kMaxEvents];
  int count = epoll_wait(epoll_fd_, events, kMaxEvents, 0);
  for (int i = 0; i < count; ++i) {
    uint64_t key = events[i].data.u64;
    if (key & kListenerTag) {
      AcceptAll(listeners_[key & ~kListenerTag]);
      continue;
    }
    Connection* c = Find(key);
    if (c == nullptr) continue;
    if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadFrom(*c);
    if (!c->closed) Flush(*c);
  }
  --busy_;
  FlushWrites();  // What PUBLISHes here queued for other connections.
}

void RedisServer::AcceptAll(int listener) {
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      // The pending connection stays queued, so the level-triggered
      // listener would stay readable: pause it instead of spinning.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        PauseAccepting();
      }
      return;
    }
    if (stats_.clients >= options_.max_connections) {
      send(fd, kTooManyClients, sizeof(kTooManyClients) - 1,
           MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto connection = std::make_unique<Connection>();
    connection->id = next_id_++;
    connection->fd = fd;
    connection->authenticated = options_.password.empty();
    connection->parser =
        RespParser(connection->authenticated ? options_.parser
                                             : options_.unauthenticated_parser);
    connection->events = EPOLLIN;
    epoll_event event = {};
    event.events = connection->events;
    event.data.u64 = connection->id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      close(fd);
      continue;
    }
    ++stats_.clients;
    ++stats_.connections_total;
    connections_[connection->id] = std::move(connection);
  }
}

void RedisServer::PauseAccepting() {
  if (accept_resume_at_ != absl::InfiniteFuture()) return;
  for (int fd : listeners_) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  accept_resume_at_ = now_() + kAcceptPause;
  ++stats_.accept_pauses;
}

void RedisServer::ResumeAccepting() {
  accept_resume_at_ = absl::InfiniteFuture();
  for (size_t i = 0; i < listeners_.size(); ++i) {
    epoll_event event = {};
    event.events = EPOLLIN;
    event.data.u64 = kListenerTag | i;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listeners_[i], &event) != 0) {
      accept_resume_at_ = now_() + kAcceptPause;  // e.g. ENOMEM: retry
    }
  }
}

void RedisServer::ReadFrom(Connection& c) {
  char buffer[kReadChunk];
  for (size_t total = 0; total < kMaxReadPerEvent && !c.closed && !c.eof;) {
    ssize_t got = recv(c.fd, buffer, sizeof(buffer), 0);
    if (got == 0) {
      // Half-close (e.g. `nc -N`): answer what came, then close, as Redis.
      c.eof = true;
      c.close_after_flush = true;
      break;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        Close(c, absl::StrCat("recv: ", strerror(errno)));
        return;
      }
      break;
    }
    total += static_cast<size_t>(got);
    if (c.close_after_flush) continue;  // input after QUIT is ignored
    c.parser.Feed(absl::string_view(buffer, static_cast<size_t>(got)));
    ExecuteInput(c);
  }
  if (c.closed) return;
  c.partial_deadline = c.parser.HasPartialCommand() && !c.close_after_flush
                           ? now_() + options_.partial_command_timeout
                           : absl::InfiniteFuture();
}

void RedisServer::ExecuteInput(Connection& c) {
  Args args;
  while (!c.closed && !c.close_after_flush) {
    absl::StatusOr<bool> next = c.parser.Next(&args);
    if (!next.ok()) {
      ++stats_.protocol_errors;
      AppendError(&c.output, absl::StrCat("ERR ", next.status().message()));
      c.close_after_flush = true;
      return;
    }
    if (!*next) return;
    Execute(c, args);
  }
}

void RedisServer::Flush(Connection& c) {
  while (!c.closed && c.sent < c.output.size()) {
    ssize_t put = send(c.fd, c.output.data() + c.sent, c.output.size() - c.sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put > 0) {
      c.sent += static_cast<size_t>(put);
    } else if (put < 0 && errno == EINTR) {
      continue;
    } else if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      Close(c, absl::StrCat("send: ", strerror(errno)));
    }
  }
  if (c.closed) return;
  if (c.sent == c.output.size()) {
    if (c.output.capacity() > kShrinkOutputAbove) {
      std::string().swap(c.output);
    } else {
      c.output.clear();
    }
    c.sent = 0;
    c.message_end = 0;
    if (c.close_after_flush) {
      Close(c, "closed after its last reply");
      return;
    }
  } else if (c.sent > kCompactOutputAfter && c.sent > c.output.size() / 2) {
    c.output.erase(0, c.sent);
    c.message_end -= std::min(c.message_end, c.sent);
    c.sent = 0;
  }
  UpdateInterest(c);
  CheckOutputLimit(c);
}

void RedisServer::UpdateInterest(Connection& c) {
  uint32_t events = 0;
  if (!c.eof) events |= EPOLLIN;
  if (c.sent < c.output.size()) events |= EPOLLOUT;
  if (events == c.events) return;
  epoll_event event = {};
  event.events = events;
  event.data.u64 = c.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event);
  c.events = events;
}

void RedisServer::CheckOutputLimit(Connection& c) {
  size_t unsent = c.output.size() - c.sent;
  if (c.closed || unsent <= options_.max_output_bytes) return;
  ++stats_.overflows;
  Close(c, absl::StrCat("disconnected with ", unsent,
                        " unsent bytes (max_output_bytes ",
                        options_.max_output_bytes, ")"));
}

void RedisServer::Close(Connection& c, absl::string_view why) {
  if (c.closed) return;
  bool lost_messages = !c.quit && c.message_end > c.sent;
  // A subscriber gone without unsubscribing may come back: keep what is
  // published to its channels meanwhile.
  if (!c.quit) {
    for (const std::string& channel : c.channels) OpenWindow(channel);
  }
  DropSubscriptions(c);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  c.closed = true;
  --stats_.clients;
  to_reap_.push_back(c.id);
  if (lost_messages) {
    ReportLoss(absl::StrCat("redis: connection ", c.id, " ", why,
                            "; message frames queued to it were never sent"));
  }
}

void RedisServer::Reap() {
  if (busy_ > 0) return;
  for (uint64_t id : to_reap_) connections_.erase(id);
  to_reap_.clear();
}

RedisServer::Connection* RedisServer::Find(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second->closed) return nullptr;
  return it->second.get();
}

void RedisServer::ReportLoss(const std::string& reason) {
  ++stats_.loss_events;
  on_loss_(reason);
}

absl::Time RedisServer::NextDeadline() const {
  absl::Time deadline = accept_resume_at_;
  for (const auto& [id, c] : connections_) {
    if (!c->closed) deadline = std::min(deadline, c->partial_deadline);
  }
  for (const auto& [channel, window] : windows_) {
    deadline = std::min(deadline, window.expires);
  }
  return deadline;
}

void RedisServer::Tick() {
  ++busy_;
  absl::Time now = now_();
  if (accept_resume_at_ <= now) ResumeAccepting();
  for (auto& [id, c] : connections_) {
    if (!c->closed && c->partial_deadline <= now) {
      Close(*c, "timed out in a half-sent command");
    }
  }
  ExpireWindows(now);
  --busy_;
  Reap();
}

RedisServerStats RedisServer::stats() const {
  RedisServerStats stats = stats_;
  stats.subscriptions = 0;
  stats.output_buffer_bytes = 0;
  for (const auto& [id, c] : connections_) {
    stats.subscriptions += c->channels.size() + c->patterns.size();
    stats.output_buffer_bytes += c->output.capacity();
  }
  stats.replay_windows = windows_.size();
  stats.parked_messages = parked_messages_;
  stats.parked_bytes = parked_bytes_;
  return stats;
}

}  // namespace cachemesh
