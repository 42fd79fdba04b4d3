// RedisServer: the commands, with Redis 7's exact replies; see
// redis_server.h.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "service/redis_glob.h"
#include "service/redis_server.h"

namespace cachemesh {
namespace {

constexpr char kVersion[] = "7.2.4";
constexpr size_t kMaxEchoedName = 128;

bool ArityOk(int arity, size_t words) {
  return arity >= 0 ? words == static_cast<size_t>(arity)
                    : words >= static_cast<size_t>(-arity);
}

std::string WrongArity(absl::string_view name) {
  return absl::StrCat("ERR wrong number of arguments for '", name, "' command");
}

std::string UnknownSubcommand(const std::string& sub,
                              absl::string_view command) {
  return absl::StrCat("ERR unknown subcommand '",
                      absl::string_view(sub).substr(0, kMaxEchoedName),
                      "'. Try ", command, " HELP.");
}

// Redis refuses client names with spaces, newlines or non-printables.
bool ValidClientName(const std::string& name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// Redis's name for a command in errors: "client|getname" for subcommands.
std::string FullName(const std::string& name,
                     const std::vector<std::string>& args) {
  bool has_subcommands =
      name == "client" || name == "pubsub" || name == "command";
  if (!has_subcommands || args.size() < 2) return name;
  return absl::StrCat(name, "|", absl::AsciiStrToLower(args[1]));
}

constexpr char kBadClientName[] =
    "ERR Client names cannot contain spaces, newlines or special characters.";

}  // namespace

const RedisServer::CommandSpec* RedisServer::FindCommand(
    const std::string& name) {
  static constexpr CommandSpec kCommands[] = {
      {"auth", -2, true, false, &RedisServer::Auth},
      {"client", -2, false, false, &RedisServer::Client},
      {"command", -1, false, false, &RedisServer::Command},
      {"echo", 2, false, false, &RedisServer::Echo},
      {"hello", -1, true, false, &RedisServer::Hello},
      {"info", -1, false, false, &RedisServer::Info},
      {"ping", -1, false, true, &RedisServer::Ping},
      {"psubscribe", -2, false, true, &RedisServer::Psubscribe},
      {"publish", 3, false, false, &RedisServer::Publish},
      {"pubsub", -2, false, false, &RedisServer::Pubsub},
      {"punsubscribe", -1, false, true, &RedisServer::Punsubscribe},
      {"quit", -1, true, true, &RedisServer::Quit},
      {"reset", 1, true, true, &RedisServer::Reset},
      {"select", 2, false, false, &RedisServer::Select},
      {"subscribe", -2, false, true, &RedisServer::Subscribe},
      {"unsubscribe", -1, false, true, &RedisServer::Unsubscribe},
  };
  for (const CommandSpec& spec : kCommands) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

void RedisServer::Execute(Connection& c, const Args& args) {
  std::string name = absl::AsciiStrToLower(args[0]);
  if (name == "post" || name == "host:") {  // cross-protocol scripting
    Close(c, "sent an HTTP request");
    return;
  }
  const CommandSpec* spec = FindCommand(name);
  if (spec == nullptr) {
    // Unlike Redis, no argument is echoed: it may be a password.
    AppendError(&c.output, absl::StrCat("ERR unknown command '",
                                        absl::string_view(args[0]).substr(
                                            0, kMaxEchoedName),
                                        "', with args beginning with: "));
  } else if (!ArityOk(spec->arity, args.size())) {
    AppendError(&c.output, WrongArity(name));
  } else if (!c.authenticated && !spec->no_auth) {
    AppendError(&c.output, "NOAUTH Authentication required.");
  } else if (c.protocol == 2 && !spec->in_subscribed &&
             (!c.channels.empty() || !c.patterns.empty())) {
    AppendError(
        &c.output,
        absl::StrCat("ERR Can't execute '", FullName(name, args),
                     "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                     "PING / QUIT / RESET are allowed in this context"));
  } else {
    (this->*spec->handler)(c, args);
  }
}

void RedisServer::Select(Connection& c, const Args& args) {
  int64_t index = 0;
  if (!absl::SimpleAtoi(args[1], &index)) {
    AppendError(&c.output, "ERR value is not an integer or out of range");
  } else if (index != 0) {
    AppendError(&c.output, "ERR DB index is out of range");
  } else {
    AppendSimpleString(&c.output, "OK");
  }
}

void RedisServer::Echo(Connection& c, const Args& args) {
  AppendBulkString(&c.output, args[1]);
}

void RedisServer::Quit(Connection& c, const Args&) {
  AppendSimpleString(&c.output, "OK");
  c.close_after_flush = true;
  c.quit = true;
}

// No command table: clients only probe it.
void RedisServer::Command(Connection& c, const Args& args) {
  if (args.size() == 1) {
    AppendArrayHeader(&c.output, 0);
  } else if (absl::EqualsIgnoreCase(args[1], "docs")) {
    AppendMapHeader(&c.output, 0, c.protocol);
  } else {
    AppendError(&c.output, UnknownSubcommand(args[1], "COMMAND"));
  }
}

bool RedisServer::CheckPassword(const std::string& user,
                                const std::string& password) {
  return user == "default" &&
         (options_.password.empty() || password == options_.password);
}

void RedisServer::SetAuthenticated(Connection& c, bool authenticated) {
  c.authenticated = authenticated;
  c.parser.set_options(authenticated ? options_.parser
                                     : options_.unauthenticated_parser);
}

void RedisServer::Hello(Connection& c, const Args& args) {
  int64_t protocol = c.protocol;
  if (args.size() >= 2) {
    if (!absl::SimpleAtoi(args[1], &protocol)) {
      AppendError(&c.output,
                  "ERR Protocol version is not an integer or out of range");
      return;
    }
    if (protocol < 2 || protocol > 3) {
      AppendError(&c.output, "NOPROTO unsupported protocol version");
      return;
    }
  }
  const std::string* user = nullptr;
  const std::string* password = nullptr;
  const std::string* name = nullptr;
  for (size_t j = 2; j < args.size(); ++j) {
    size_t more = args.size() - 1 - j;
    if (absl::EqualsIgnoreCase(args[j], "auth") && more >= 2) {
      user = &args[j + 1];
      password = &args[j + 2];
      j += 2;
    } else if (absl::EqualsIgnoreCase(args[j], "setname") && more >= 1) {
      name = &args[++j];
    } else {
      AppendError(&c.output,
                  absl::StrCat("ERR Syntax error in HELLO option '",
                               absl::string_view(args[j]).substr(0, 128), "'"));
      return;
    }
  }
  if (user != nullptr) {
    if (!CheckPassword(*user, *password)) {
      AppendError(&c.output,
                  "WRONGPASS invalid username-password pair or user is "
                  "disabled.");
      return;
    }
    SetAuthenticated(c, true);
  }
  if (!c.authenticated) {
    AppendError(&c.output,
                "NOAUTH HELLO must be called with the client already "
                "authenticated, otherwise the HELLO <proto> AUTH <user> "
                "<pass> option can be used to authenticate the client and "
                "select the RESP protocol version at the same time");
    return;
  }
  if (name != nullptr) {
    if (!ValidClientName(*name)) {
      AppendError(&c.output, kBadClientName);
      return;
    }
    c.name = *name;
  }
  c.protocol = static_cast<int>(protocol);
  std::string& out = c.output;
  AppendMapHeader(&out, 7, c.protocol);
  AppendBulkString(&out, "server");
  AppendBulkString(&out, "redis");
  AppendBulkString(&out, "version");
  AppendBulkString(&out, kVersion);
  AppendBulkString(&out, "proto");
  AppendInteger(&out, c.protocol);
  AppendBulkString(&out, "id");
  AppendInteger(&out, static_cast<int64_t>(c.id));
  AppendBulkString(&out, "mode");
  AppendBulkString(&out, "standalone");
  AppendBulkString(&out, "role");
  AppendBulkString(&out, "master");
  AppendBulkString(&out, "modules");
  AppendArrayHeader(&out, 0);
}

void RedisServer::Auth(Connection& c, const Args& args) {
  if (args.size() > 3) {
    AppendError(&c.output, "ERR syntax error");
    return;
  }
  if (!CheckPassword(args.size() == 3 ? args[1] : "default", args.back())) {
    AppendError(&c.output,
                "WRONGPASS invalid username-password pair or user is "
                "disabled.");
    return;
  }
  SetAuthenticated(c, true);
  AppendSimpleString(&c.output, "OK");
}

void RedisServer::Ping(Connection& c, const Args& args) {
  if (args.size() > 2) {
    AppendError(&c.output, WrongArity("ping"));
  } else if (c.protocol == 2 && (!c.channels.empty() || !c.patterns.empty())) {
    AppendArrayHeader(&c.output, 2);
    AppendBulkString(&c.output, "pong");
    AppendBulkString(&c.output, args.size() == 2 ? args[1] : "");
  } else if (args.size() == 2) {
    AppendBulkString(&c.output, args[1]);
  } else {
    AppendSimpleString(&c.output, "PONG");
  }
}

void RedisServer::Publish(Connection& c, const Args& args) {
  ++stats_.messages_in;
  if (args[1].size() + args[2].size() > options_.max_message_bytes) {
    ++stats_.messages_too_large;
    AppendError(&c.output, "ERR message too large");
    return;
  }
  int64_t receivers = on_publish_(args[1], args[2]);
  if (!c.closed) AppendInteger(&c.output, receivers);
}

void RedisServer::AppendSubscriptionFrame(Connection& c, absl::string_view kind,
                                          const std::string* target) {
  AppendPushHeader(&c.output, 3, c.protocol);
  AppendBulkString(&c.output, kind);
  if (target != nullptr) {
    AppendBulkString(&c.output, *target);
  } else {
    AppendNull(&c.output, c.protocol);
  }
  AppendInteger(&c.output,
                static_cast<int64_t>(c.channels.size() + c.patterns.size()));
}

void RedisServer::Subscribe(Connection& c, const Args& args) {
  SubscribeAll(c, args, false);
}

void RedisServer::Psubscribe(Connection& c, const Args& args) {
  SubscribeAll(c, args, true);
}

void RedisServer::SubscribeAll(Connection& c, const Args& args, bool pattern) {
  for (size_t j = 1; j < args.size(); ++j) {
    const std::string& target = args[j];
    bool added = false;
    if (pattern && c.patterns.insert(target).second) {
      pattern_subscribers_[target].insert(c.id);
    } else if (!pattern && c.channels.insert(target).second) {
      channel_subscribers_[target].insert(c.id);
      added = true;
    }
    AppendSubscriptionFrame(c, pattern ? "psubscribe" : "subscribe", &target);
    if (added) Replay(c, target);
  }
}

void RedisServer::Unsubscribe(Connection& c, const Args& args) {
  UnsubscribeAll(c, args, false);
}

void RedisServer::Punsubscribe(Connection& c, const Args& args) {
  UnsubscribeAll(c, args, true);
}

void RedisServer::UnsubscribeAll(Connection& c, const Args& args,
                                 bool pattern) {
  std::set<std::string>& mine = pattern ? c.patterns : c.channels;
  if (args.size() == 1 && mine.empty()) {
    AppendSubscriptionFrame(c, pattern ? "punsubscribe" : "unsubscribe",
                            nullptr);
    return;
  }
  std::vector<std::string> targets(args.begin() + 1, args.end());
  if (args.size() == 1) targets.assign(mine.begin(), mine.end());
  for (const std::string& target : targets) {
    UnsubscribeOne(c, target, pattern);
  }
}

void RedisServer::UnsubscribeOne(Connection& c, const std::string& target,
                                 bool pattern) {
  if (pattern && c.patterns.erase(target) > 0) {
    auto it = pattern_subscribers_.find(target);
    it->second.erase(c.id);
    if (it->second.empty()) pattern_subscribers_.erase(it);
  } else if (!pattern && c.channels.erase(target) > 0) {
    auto it = channel_subscribers_.find(target);
    it->second.erase(c.id);
    if (it->second.empty()) channel_subscribers_.erase(it);
  }
  AppendSubscriptionFrame(c, pattern ? "punsubscribe" : "unsubscribe", &target);
}

void RedisServer::DropSubscriptions(Connection& c) {
  for (const std::string& channel : c.channels) {
    auto it = channel_subscribers_.find(channel);
    it->second.erase(c.id);
    if (it->second.empty()) channel_subscribers_.erase(it);
  }
  for (const std::string& pattern : c.patterns) {
    auto it = pattern_subscribers_.find(pattern);
    it->second.erase(c.id);
    if (it->second.empty()) pattern_subscribers_.erase(it);
  }
  c.channels.clear();
  c.patterns.clear();
}

void RedisServer::Client(Connection& c, const Args& args) {
  std::string sub = absl::AsciiStrToLower(args[1]);
  if (sub == "setinfo") {
    AppendSimpleString(&c.output, "OK");
  } else if (sub == "setname" && args.size() == 3) {
    if (!ValidClientName(args[2])) {
      AppendError(&c.output, kBadClientName);
      return;
    }
    c.name = args[2];
    AppendSimpleString(&c.output, "OK");
  } else if (sub == "getname" && args.size() == 2) {
    if (c.name.empty()) {
      AppendNull(&c.output, c.protocol);
    } else {
      AppendBulkString(&c.output, c.name);
    }
  } else if (sub == "id" && args.size() == 2) {
    AppendInteger(&c.output, static_cast<int64_t>(c.id));
  } else if (sub == "setname" || sub == "getname" || sub == "id") {
    AppendError(&c.output, WrongArity(absl::StrCat("client|", sub)));
  } else {
    AppendError(&c.output, UnknownSubcommand(args[1], "CLIENT"));
  }
}

void RedisServer::Info(Connection& c, const Args&) {
  AppendBulkString(
      &c.output,
      absl::StrCat(
          "# Server\r\nredis_version:", kVersion,
          "\r\nredis_mode:standalone\r\narch_bits:64\r\ntcp_port:", port_,
          "\r\n\r\n# Clients\r\nconnected_clients:", stats_.clients,
          "\r\n\r\n# Persistence\r\nloading:0\r\n\r\n"
          "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"));
}

void RedisServer::Reset(Connection& c, const Args&) {
  DropSubscriptions(c);
  c.protocol = 2;
  c.name.clear();
  SetAuthenticated(c, options_.password.empty());
  AppendSimpleString(&c.output, "RESET");
}

void RedisServer::Pubsub(Connection& c, const Args& args) {
  std::string sub = absl::AsciiStrToLower(args[1]);
  if (sub == "channels" && args.size() <= 3) {
    std::vector<const std::string*> names;
    for (const auto& [channel, ids] : channel_subscribers_) {
      if (args.size() == 2 || RedisGlobMatch(args[2], channel)) {
        names.push_back(&channel);
      }
    }
    AppendArrayHeader(&c.output, names.size());
    for (const std::string* name : names) AppendBulkString(&c.output, *name);
  } else if (sub == "numsub") {
    AppendArrayHeader(&c.output, 2 * (args.size() - 2));
    for (size_t j = 2; j < args.size(); ++j) {
      auto it = channel_subscribers_.find(args[j]);
      AppendBulkString(&c.output, args[j]);
      AppendInteger(&c.output, it == channel_subscribers_.end()
                                   ? 0
                                   : static_cast<int64_t>(it->second.size()));
    }
  } else if (sub == "numpat" && args.size() == 2) {
    AppendInteger(&c.output, static_cast<int64_t>(pattern_subscribers_.size()));
  } else if (sub == "channels" || sub == "numpat") {
    AppendError(&c.output, WrongArity(absl::StrCat("pubsub|", sub)));
  } else {
    AppendError(&c.output, UnknownSubcommand(args[1], "PUBSUB"));
  }
}

}  // namespace cachemesh
