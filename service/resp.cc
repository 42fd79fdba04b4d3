// RESP request parsing and reply encoding; see resp.h.
#include "service/resp.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cachemesh {
namespace {

constexpr size_t kCompactAfter = 64 << 10;

// Strict decimal: optional '-', digits only, no overflow (Redis string2ll).
bool ParseStrictInt64(absl::string_view text, int64_t* value) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 19) return false;
  uint64_t magnitude = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
  }
  if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return false;
  }
  *value = negative ? -static_cast<int64_t>(magnitude)
                    : static_cast<int64_t>(magnitude);
  return true;
}

}  // namespace

RespParser::RespParser(RespParserOptions options) : options_(options) {}

void RespParser::Feed(absl::string_view bytes) {
  if (pos_ == buffer_.size()) {
    buffer_.clear();
    pos_ = scanned_to_ = 0;
  } else if (pos_ > kCompactAfter && pos_ > buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    scanned_to_ -= std::min(scanned_to_, pos_);
    pos_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

bool RespParser::HasPartialCommand() const {
  return args_left_ > 0 || pos_ < buffer_.size();
}

absl::Status RespParser::Fail(absl::string_view message) {
  error_ = absl::InvalidArgumentError(message);
  return error_;
}

void RespParser::Consume(size_t bytes) {
  pos_ += bytes;
  scanned_to_ = std::max(scanned_to_, pos_);
}

absl::StatusOr<size_t> RespParser::FindLineEnd() {
  size_t end = buffer_.find('\n', std::max(scanned_to_, pos_));
  if (end != std::string::npos) return end;
  scanned_to_ = buffer_.size();
  if (buffer_.size() - pos_ > options_.max_inline_bytes) {
    return Fail("Protocol error: too big inline request");
  }
  return std::string::npos;
}

absl::StatusOr<bool> RespParser::Next(std::vector<std::string>* args) {
  if (!error_.ok()) return error_;
  // Skipped input (empty inline lines, `*0`) makes progress without a
  // command; stop once a pass consumes nothing.
  while (args_left_ > 0 || pos_ < buffer_.size()) {
    size_t before = pos_;
    absl::StatusOr<bool> parsed = args_left_ > 0 || buffer_[pos_] == '*'
                                      ? ParseMultibulk(args)
                                      : ParseInline(args);
    if (!parsed.ok() || *parsed) return parsed;
    if (pos_ == before) return false;
  }
  return false;
}

absl::StatusOr<bool> RespParser::ParseInline(std::vector<std::string>* args) {
  absl::StatusOr<size_t> end = FindLineEnd();
  if (!end.ok()) return end.status();
  if (*end == std::string::npos) return false;
  absl::string_view line(buffer_.data() + pos_, *end - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string> words =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  Consume(*end + 1 - pos_);
  if (words.empty()) return false;
  *args = std::move(words);
  return true;
}

absl::StatusOr<bool> RespParser::ParseHeader(char prefix, int64_t* value) {
  absl::StatusOr<size_t> end = FindLineEnd();
  if (!end.ok()) return end.status();
  if (*end == std::string::npos) return false;
  absl::string_view line(buffer_.data() + pos_ + 1, *end - pos_ - 1);
  bool has_cr = !line.empty() && line.back() == '\r';
  if (has_cr) line.remove_suffix(1);
  if (!has_cr || !ParseStrictInt64(line, value)) {
    return Fail(prefix == '*' ? "Protocol error: invalid multibulk length"
                              : "Protocol error: invalid bulk length");
  }
  Consume(*end + 1 - pos_);
  return true;
}

absl::StatusOr<bool> RespParser::ParseMultibulk(
    std::vector<std::string>* args) {
  if (args_left_ == 0) {
    int64_t count = 0;
    size_t header_start = pos_;
    absl::StatusOr<bool> header = ParseHeader('*', &count);
    if (!header.ok() || !*header) return header;
    if (count > static_cast<int64_t>(options_.max_arguments)) {
      return Fail("Protocol error: invalid multibulk length");
    }
    if (count <= 0) return false;
    command_bytes_ = pos_ - header_start;
    args_left_ = count;
    args_.clear();
    args_.reserve(std::min<int64_t>(count, 1024));
  }
  while (args_left_ > 0) {
    if (bulk_length_ < 0) {
      if (pos_ == buffer_.size()) return false;
      if (buffer_[pos_] != '$') {
        return Fail(absl::StrCat("Protocol error: expected '$', got '",
                                 absl::string_view(&buffer_[pos_], 1), "'"));
      }
      int64_t length = 0;
      size_t header_start = pos_;
      absl::StatusOr<bool> header = ParseHeader('$', &length);
      if (!header.ok() || !*header) return header;
      if (length < 0 ||
          static_cast<uint64_t>(length) > options_.max_bulk_bytes) {
        return Fail("Protocol error: invalid bulk length");
      }
      command_bytes_ += pos_ - header_start;
      if (command_bytes_ + static_cast<uint64_t>(length) + 2 >
          options_.max_command_bytes) {
        return Fail("Protocol error: command too large");
      }
      command_bytes_ += static_cast<size_t>(length) + 2;
      bulk_length_ = length;
    }
    size_t length = static_cast<size_t>(bulk_length_);
    if (buffer_.size() - pos_ < length + 2) return false;
    if (buffer_.compare(pos_ + length, 2, "\r\n") != 0) {
      return Fail("Protocol error: expected CRLF after bulk string");
    }
    args_.emplace_back(buffer_, pos_, length);
    Consume(length + 2);
    bulk_length_ = -1;
    --args_left_;
  }
  *args = std::move(args_);
  args_.clear();
  return true;
}

void AppendSimpleString(std::string* out, absl::string_view text) {
  absl::StrAppend(out, "+", text, "\r\n");
}

void AppendError(std::string* out, absl::string_view message) {
  size_t start = out->size();
  absl::StrAppend(out, "-", message);
  std::replace_if(
      out->begin() + start, out->end(),
      [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out->append("\r\n");
}

void AppendInteger(std::string* out, int64_t value) {
  absl::StrAppend(out, ":", value, "\r\n");
}

void AppendBulkString(std::string* out, absl::string_view bytes) {
  absl::StrAppend(out, "$", bytes.size(), "\r\n", bytes, "\r\n");
}

void AppendNull(std::string* out, int protocol) {
  out->append(protocol == 3 ? "_\r\n" : "$-1\r\n");
}

void AppendArrayHeader(std::string* out, size_t count) {
  absl::StrAppend(out, "*", count, "\r\n");
}

void AppendMapHeader(std::string* out, size_t count, int protocol) {
  if (protocol == 3) {
    absl::StrAppend(out, "%", count, "\r\n");
  } else {
    AppendArrayHeader(out, 2 * count);
  }
}

void AppendPushHeader(std::string* out, size_t count, int protocol) {
  absl::StrAppend(out, protocol == 3 ? ">" : "*", count, "\r\n");
}

}  // namespace cachemesh
