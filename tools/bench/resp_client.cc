#include "tools/bench/resp_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cachemesh {
namespace bench {
namespace {

constexpr size_t kReadChunk = 64 << 10;

absl::Status ErrnoError(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// The line at `*pos` up to CRLF (excluded); advances past the CRLF.
ParseResult ReadLine(absl::string_view input, size_t* pos,
                     absl::string_view* line) {
  const size_t end = input.find("\r\n", *pos);
  if (end == absl::string_view::npos) return ParseResult::kIncomplete;
  *line = input.substr(*pos, end - *pos);
  *pos = end + 2;
  return ParseResult::kComplete;
}

// One non-array value at `*pos`.
ParseResult ParseItem(absl::string_view input, size_t* pos, RespItem* item) {
  if (*pos >= input.size()) return ParseResult::kIncomplete;
  size_t at = *pos;
  item->type = input[at++];
  item->null = false;
  item->integer = 0;
  absl::string_view line;
  if (ReadLine(input, &at, &line) == ParseResult::kIncomplete) {
    return ParseResult::kIncomplete;
  }
  switch (item->type) {
    case '+':
    case '-':
      item->text = line;
      break;
    case ':':
      if (!absl::SimpleAtoi(line, &item->integer)) return ParseResult::kError;
      item->text = line;
      break;
    case '$': {
      int64_t length = 0;
      if (!absl::SimpleAtoi(line, &length)) return ParseResult::kError;
      if (length < 0) {
        item->null = true;
        item->text = absl::string_view();
        break;
      }
      if (input.size() - at < static_cast<size_t>(length) + 2) {
        return ParseResult::kIncomplete;
      }
      item->text = input.substr(at, static_cast<size_t>(length));
      at += static_cast<size_t>(length) + 2;
      break;
    }
    default:
      return ParseResult::kError;
  }
  *pos = at;
  return ParseResult::kComplete;
}

}  // namespace

ParseResult ParseReply(absl::string_view input, size_t* pos, RespReply* reply) {
  if (*pos >= input.size()) return ParseResult::kIncomplete;
  if (input[*pos] != '*') {
    reply->array = false;
    reply->items.resize(1);
    return ParseItem(input, pos, &reply->items[0]);
  }
  size_t at = *pos + 1;
  absl::string_view line;
  if (ReadLine(input, &at, &line) == ParseResult::kIncomplete) {
    return ParseResult::kIncomplete;
  }
  int64_t count = 0;
  if (!absl::SimpleAtoi(line, &count) || count > 1024) {
    return ParseResult::kError;
  }
  reply->array = true;
  reply->items.resize(count < 0 ? 0 : static_cast<size_t>(count));
  for (RespItem& item : reply->items) {
    if (at < input.size() && input[at] == '*') return ParseResult::kError;
    const ParseResult result = ParseItem(input, &at, &item);
    if (result != ParseResult::kComplete) return result;
  }
  *pos = at;
  return ParseResult::kComplete;
}

void AppendCommand(std::string* out,
                   const std::vector<absl::string_view>& args) {
  absl::StrAppend(out, "*", args.size(), "\r\n");
  for (absl::string_view arg : args) {
    absl::StrAppend(out, "$", arg.size(), "\r\n", arg, "\r\n");
  }
}

absl::StatusOr<std::unique_ptr<RespConnection>> RespConnection::Connect(
    int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ErrnoError("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
        0) {
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return std::unique_ptr<RespConnection>(new RespConnection(fd));
    }
    const absl::Status error =
        ErrnoError(absl::StrCat("connect 127.0.0.1:", port));
    close(fd);
    if (absl::Now() >= deadline) return error;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

RespConnection::~RespConnection() { close(fd_); }

absl::Status RespConnection::Write(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("send");
    }
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> RespConnection::Fill(absl::Duration wait) {
  pollfd entry{fd_, POLLIN, 0};
  const int timeout_ms =
      wait <= absl::ZeroDuration()
          ? 0
          : static_cast<int>(absl::ToInt64Milliseconds(
                wait + absl::Microseconds(999)));  // round up
  const int ready = poll(&entry, 1, timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return false;
    return ErrnoError("poll");
  }
  if (ready == 0) return false;
  if (chunk_.empty()) chunk_.resize(kReadChunk);
  const ssize_t got = recv(fd_, chunk_.data(), chunk_.size(), 0);
  if (got <= 0) {
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return false;
    return got == 0 ? absl::UnavailableError("connection closed by the server")
                    : ErrnoError("recv");
  }
  input_.append(chunk_.data(), static_cast<size_t>(got));
  return true;
}

void RespConnection::Compact() {
  if (pos_ == 0) return;
  input_.erase(0, pos_);
  pos_ = 0;
}

absl::Status RespConnection::ReadReply(absl::Duration timeout,
                                       RespReply* reply) {
  const absl::Time deadline = absl::Now() + timeout;
  Compact();
  while (true) {
    const ParseResult result = ParseReply(input_, &pos_, reply);
    if (result == ParseResult::kComplete) return absl::OkStatus();
    if (result == ParseResult::kError) {
      return absl::DataLossError("malformed RESP reply");
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("no reply in time");
    }
    absl::StatusOr<bool> filled = Fill(left);
    if (!filled.ok()) return filled.status();
  }
}

absl::Status RespConnection::Call(const std::vector<absl::string_view>& args,
                                  absl::Duration timeout, RespReply* reply) {
  std::string command;
  AppendCommand(&command, args);
  if (absl::Status written = Write(command); !written.ok()) return written;
  return ReadReply(timeout, reply);
}

int64_t ThreadCpuNanos() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

int CurrentTid() { return static_cast<int>(syscall(SYS_gettid)); }

}  // namespace bench
}  // namespace cachemesh
