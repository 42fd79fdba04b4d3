// RESP (the Redis serialization protocol) for the Redis-protocol endpoint:
// an incremental parser for client requests and helpers that encode replies
// in RESP2 or RESP3. Pure code, no I/O.
#ifndef CACHEMESH_SERVICE_RESP_H_
#define CACHEMESH_SERVICE_RESP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cachemesh {

struct RespParserOptions {
  // A multibulk announcing more arguments than this is a protocol error.
  size_t max_arguments = 1024 * 1024;
  // A bulk string announcing more bytes than this is a protocol error.
  size_t max_bulk_bytes = 512u << 20;
  // An inline command (or a `*`/`$` header line) longer than this without
  // its line end is a protocol error.
  size_t max_inline_bytes = 64 << 10;
  // A multibulk command whose bytes on the wire (headers included) would
  // exceed this is a protocol error, so one command never holds more.
  size_t max_command_bytes = 1 << 20;
};

// Turns the bytes of one client connection, fed in any split, into commands.
// Accepts multibulk requests (`*N\r\n$len\r\n<bytes>\r\n...`) and inline
// requests (space-separated words ending in \n or \r\n). Empty inline lines
// and `*0` are skipped. Work per fed byte is amortised O(1).
class RespParser {
 public:
  explicit RespParser(RespParserOptions options = {});

  // Appends bytes received from the client.
  void Feed(absl::string_view bytes);

  // Parses the next complete command into `args` (replacing its contents)
  // and returns true; returns false when more bytes are needed. Returns an
  // InvalidArgument status whose message is Redis's, e.g. "Protocol error:
  // invalid bulk length", once the input is malformed or breaks a limit;
  // the parser then stays failed and the connection must be closed.
  absl::StatusOr<bool> Next(std::vector<std::string>* args);

  // True when bytes of a command not yet complete have been received.
  bool HasPartialCommand() const;

  // Replaces the limits; they apply from the next header parsed (e.g.
  // smaller ones until the client has authenticated).
  void set_options(const RespParserOptions& options) { options_ = options; }
  const RespParserOptions& options() const { return options_; }

 private:
  // Returns the end of the line starting at pos_ (the index of its '\n'),
  // or npos when it has not arrived yet; fails when the line is too long.
  absl::StatusOr<size_t> FindLineEnd();
  absl::StatusOr<bool> ParseInline(std::vector<std::string>* args);
  absl::StatusOr<bool> ParseMultibulk(std::vector<std::string>* args);
  // Parses "<prefix><integer>\r\n" at pos_ into `value`; false: need more.
  absl::StatusOr<bool> ParseHeader(char prefix, int64_t* value);
  absl::Status Fail(absl::string_view message);
  void Consume(size_t bytes);

  RespParserOptions options_;
  std::string buffer_;
  size_t pos_ = 0;            // first unparsed byte in buffer_
  size_t scanned_to_ = 0;     // buffer_[pos_, scanned_to_) holds no '\n'
  int64_t args_left_ = 0;     // arguments still due in the current multibulk
  int64_t bulk_length_ = -1;  // length of the bulk being read, -1: header
  size_t command_bytes_ = 0;  // bytes of the current multibulk so far
  std::vector<std::string> args_;  // arguments of the current multibulk
  absl::Status error_;
};

// Reply encoding. Every helper appends one whole RESP element (or a header
// whose elements follow) to *out. `protocol` is 2 or 3.
void AppendSimpleString(std::string* out, absl::string_view text);
// `message` starts with the error code, e.g. "ERR unknown command ...";
// CR and LF inside it are replaced by spaces.
void AppendError(std::string* out, absl::string_view message);
void AppendInteger(std::string* out, int64_t value);
void AppendBulkString(std::string* out, absl::string_view bytes);
// RESP2 `$-1`, RESP3 `_`.
void AppendNull(std::string* out, int protocol);
void AppendArrayHeader(std::string* out, size_t count);
// A map of `count` key/value pairs: RESP3 `%count`, RESP2 `*2count`.
void AppendMapHeader(std::string* out, size_t count, int protocol);
// An out-of-band frame (pub/sub): RESP3 `>count`, RESP2 `*count`.
void AppendPushHeader(std::string* out, size_t count, int protocol);

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_RESP_H_
