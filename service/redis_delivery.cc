// RedisServer: message delivery to local subscribers and parking of
// messages for channels whose subscriber is reconnecting; see
// redis_server.h.
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/redis_glob.h"
#include "service/redis_server.h"

namespace cachemesh {

int64_t RedisServer::Deliver(const std::string& channel,
                             const std::string& payload) {
  ++busy_;
  // Targets are collected first: appending may close a connection
  // (overflow), which edits the subscriber indices.
  std::vector<std::pair<const std::string*, uint64_t>> targets;
  auto direct = channel_subscribers_.find(channel);
  if (direct != channel_subscribers_.end()) {
    for (uint64_t id : direct->second) targets.emplace_back(nullptr, id);
  }
  std::vector<std::string> patterns;
  for (const auto& [pattern, ids] : pattern_subscribers_) {
    if (RedisGlobMatch(pattern, channel)) patterns.push_back(pattern);
  }
  for (const std::string& pattern : patterns) {
    for (uint64_t id : pattern_subscribers_[pattern]) {
      targets.emplace_back(&pattern, id);
    }
  }
  if (targets.empty() && ever_subscribed_.contains(channel)) {
    Park(channel, payload);
  }
  int64_t frames = 0;
  for (const auto& [pattern, id] : targets) {
    Connection* c = Find(id);
    if (c == nullptr) continue;
    AppendMessage(*c, pattern, channel, payload);
    ++frames;
    // Sent by FlushWrites(), many messages in one write; at once only when
    // the unsent output passes the limit (Flush enforces it).
    if (c->output.size() - c->sent > options_.max_output_bytes) {
      Flush(*c);
    } else {
      unflushed_.insert(id);
    }
  }
  --busy_;
  Reap();
  return frames;
}

void RedisServer::FlushWrites() {
  ++busy_;
  for (uint64_t id : unflushed_) {
    if (Connection* c = Find(id); c != nullptr && !c->closed) Flush(*c);
  }
  unflushed_.clear();
  --busy_;
  Reap();
}

void RedisServer::AppendMessage(Connection& c, const std::string* pattern,
                                const std::string& channel,
                                const std::string& payload) {
  AppendPushHeader(&c.output, pattern ? 4 : 3, c.protocol);
  if (pattern) {
    AppendBulkString(&c.output, "pmessage");
    AppendBulkString(&c.output, *pattern);
  } else {
    AppendBulkString(&c.output, "message");
  }
  AppendBulkString(&c.output, channel);
  AppendBulkString(&c.output, payload);
  ++stats_.messages_out;
}

void RedisServer::Park(const std::string& channel, const std::string& payload) {
  parked_.push_back({channel, payload, now_()});
  if (parked_.size() > options_.park_max_messages) {
    DropParked(parked_.size() - options_.park_max_messages,
               "beyond park_max_messages");
  }
}

void RedisServer::Unpark(Connection& c, const std::string& channel) {
  std::deque<ParkedMessage> kept;
  for (ParkedMessage& message : parked_) {
    if (message.channel == channel) {
      AppendMessage(c, nullptr, channel, message.payload);
    } else {
      kept.push_back(std::move(message));
    }
  }
  parked_ = std::move(kept);
}

void RedisServer::DropParked(size_t count, const std::string& why) {
  std::string reason = absl::StrCat(
      "redis: dropped ", count, " parked message(s) ", why,
      " (oldest for channel \"", absl::CHexEscape(parked_.front().channel),
      "\"); a reconnecting subscriber missed them");
  parked_.erase(parked_.begin(), parked_.begin() + count);
  stats_.parked_dropped += count;
  on_loss_(reason);
}

}  // namespace cachemesh
