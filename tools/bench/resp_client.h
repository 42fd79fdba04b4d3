// A small RESP2 client on plain blocking sockets, for the Redis pub/sub
// benchmark (tools/bench/redis_bench_main.cc): the same code talks to
// cachemeshd's Redis-protocol endpoint and to a real redis-server. It knows
// only what the benchmark needs: PUBLISH (one at a time or pipelined),
// SUBSCRIBE, PING, and the flat RESP2 replies those produce.
#ifndef CACHEMESH_TOOLS_BENCH_RESP_CLIENT_H_
#define CACHEMESH_TOOLS_BENCH_RESP_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cachemesh {
namespace bench {

// One RESP2 value of a flat reply: a simple string ('+'), error ('-'),
// integer (':') or bulk string ('$', null when `null`). Text points into the
// connection's input buffer and is valid until the next read.
struct RespItem {
  char type = 0;
  bool null = false;
  absl::string_view text;
  int64_t integer = 0;
};

// A reply: one item, or the items of an array ('*') whose elements are not
// arrays themselves (every reply PUBLISH and SUBSCRIBE produce in RESP2).
struct RespReply {
  bool array = false;
  std::vector<RespItem> items;
};

enum class ParseResult { kComplete, kIncomplete, kError };

// Parses the reply starting at `*pos` in `input`; on kComplete advances
// `*pos` past it. Nested arrays are a kError.
ParseResult ParseReply(absl::string_view input, size_t* pos, RespReply* reply);

// Appends the RESP2 encoding of a command (an array of bulk strings).
void AppendCommand(std::string* out,
                   const std::vector<absl::string_view>& args);

// A TCP connection to 127.0.0.1:port speaking RESP2.
class RespConnection {
 public:
  static absl::StatusOr<std::unique_ptr<RespConnection>> Connect(
      int port, absl::Duration timeout);
  ~RespConnection();
  RespConnection(const RespConnection&) = delete;
  RespConnection& operator=(const RespConnection&) = delete;

  int fd() const { return fd_; }
  // Writes all of `bytes` (blocking).
  absl::Status Write(absl::string_view bytes);
  // Blocks until a whole reply arrived or `timeout` passed.
  absl::Status ReadReply(absl::Duration timeout, RespReply* reply);
  // Reads what the socket has without blocking (when `wait` is zero) or
  // after waiting at most `wait` for it, and calls `on_reply` for each whole
  // reply. Returns the number of replies.
  template <typename OnReply>
  absl::StatusOr<size_t> ReadAvailable(absl::Duration wait, OnReply on_reply);
  // Sends a command and waits for its reply.
  absl::Status Call(const std::vector<absl::string_view>& args,
                    absl::Duration timeout, RespReply* reply);

 private:
  explicit RespConnection(int fd) : fd_(fd) {}
  // Appends what the socket has to input_ after waiting at most `wait`.
  // Returns false on timeout.
  absl::StatusOr<bool> Fill(absl::Duration wait);
  void Compact();

  int fd_;
  std::vector<char> chunk_;  // what one recv() fills
  std::string input_;
  size_t pos_ = 0;
};

template <typename OnReply>
absl::StatusOr<size_t> RespConnection::ReadAvailable(absl::Duration wait,
                                                     OnReply on_reply) {
  absl::StatusOr<bool> filled = Fill(wait);
  if (!filled.ok()) return filled.status();
  size_t count = 0;
  RespReply reply;
  while (true) {
    const ParseResult result = ParseReply(input_, &pos_, &reply);
    if (result == ParseResult::kError) {
      return absl::DataLossError("malformed RESP reply");
    }
    if (result == ParseResult::kIncomplete) break;
    on_reply(reply);
    ++count;
  }
  Compact();
  return count;
}

// CPU nanoseconds of the calling thread so far.
int64_t ThreadCpuNanos();
// The calling thread's kernel id.
int CurrentTid();

}  // namespace bench
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_BENCH_RESP_CLIENT_H_
