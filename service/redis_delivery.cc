// RedisServer: message delivery to local subscribers, and the replay
// windows that keep messages for subscribers that reconnect; see
// redis_server.h.
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/redis_glob.h"
#include "service/redis_server.h"

namespace cachemesh {

int64_t RedisServer::Deliver(const std::string& channel,
                             const std::string& payload) {
  ++busy_;
  // Targets are collected first: appending may close a connection
  // (overflow), which edits the subscriber indices and the windows.
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
  auto window = windows_.find(channel);
  // Just after a (re)start, the app's subscribers may still be reconnecting:
  // what nobody here takes yet is kept for the first of them.
  if (window == windows_.end() && targets.empty() &&
      now_() < startup_until_) {
    window = windows_.try_emplace(channel).first;
    window->second.expires = startup_until_;
  }
  if (window != windows_.end()) Record(channel, window->second, payload);
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
  // Flush may call on_loss, which may re-enter Deliver and so unflushed_.
  absl::flat_hash_set<uint64_t> unflushed;
  unflushed.swap(unflushed_);
  for (uint64_t id : unflushed) {
    if (Connection* c = Find(id); c != nullptr) Flush(*c);
  }
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
  c.message_end = c.output.size();
  ++stats_.messages_out;
}

void RedisServer::OpenWindow(const std::string& channel) {
  ReplayWindow& window = windows_[channel];
  window.expires = std::max(window.expires, now_() + options_.park_for);
  ++window.departures;
}

void RedisServer::Record(const std::string& channel, ReplayWindow& window,
                         const std::string& payload) {
  window.payloads.push_back(payload);
  window.bytes += channel.size() + payload.size();
  parked_messages_ += 1;
  parked_bytes_ += channel.size() + payload.size();
  size_t dropped = 0;
  while (!window.payloads.empty() &&
         (parked_messages_ > options_.park_max_messages ||
          parked_bytes_ > options_.park_max_bytes)) {
    size_t bytes = channel.size() + window.payloads.front().size();
    window.payloads.pop_front();
    window.bytes -= bytes;
    parked_bytes_ -= bytes;
    parked_messages_ -= 1;
    ++dropped;
  }
  if (dropped == 0) return;
  stats_.parked_dropped += dropped;
  ReportLoss(absl::StrCat(
      "redis: dropped ", dropped, " message(s) kept for channel \"",
      absl::CHexEscape(channel),
      "\" beyond park_max_messages or park_max_bytes; a reconnecting "
      "subscriber missed them"));
}

void RedisServer::Replay(Connection& c, const std::string& channel) {
  auto it = windows_.find(channel);
  if (it == windows_.end()) return;
  ReplayWindow& window = it->second;
  ++window.resubscribes;
  for (const std::string& payload : window.payloads) {
    AppendMessage(c, nullptr, channel, payload);
    ++stats_.messages_replayed;
  }
  // Everyone who left is back (for a start-up window: the first subscriber
  // is here) and gets new messages live.
  if (window.resubscribes >= window.departures) EraseWindow(it);
}

void RedisServer::EraseWindow(
    absl::flat_hash_map<std::string, ReplayWindow>::iterator it) {
  parked_messages_ -= it->second.payloads.size();
  parked_bytes_ -= it->second.bytes;
  windows_.erase(it);
}

void RedisServer::ExpireWindows(absl::Time now) {
  // Losses are reported after the windows are gone: on_loss may re-enter
  // Deliver, which edits windows_.
  std::vector<std::string> losses;
  for (auto it = windows_.begin(); it != windows_.end();) {
    auto next = std::next(it);
    const ReplayWindow& window = it->second;
    if (window.expires <= now) {
      if (window.resubscribes < window.departures) {
        losses.push_back(absl::StrCat(
            "redis: ", window.departures - window.resubscribes, " of ",
            window.departures, " subscriber(s) of channel \"",
            absl::CHexEscape(it->first), "\" did not come back within ",
            absl::FormatDuration(options_.park_for), "; ",
            window.payloads.size(), " message(s) kept for them dropped"));
      }
      EraseWindow(it);
    }
    it = next;
  }
  for (const std::string& reason : losses) ReportLoss(reason);
}

}  // namespace cachemesh
