#include "tools/ctl/ctl.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace cachemesh::ctl {
namespace {

// The highest port the default HTTP port rule (cache port + 1000) allows.
constexpr int kMaxPort = 65535;
constexpr int kHttpPortOffset = 1000;

// A load balancer's server: a DHIS 2 node and its cachemeshd's HTTP port.
struct Server {
  // A name both HAProxy and nginx accept: the cache address, with any
  // character outside [A-Za-z0-9._:-] (IPv6 brackets) as '_'.
  std::string name;
  // host:app port.
  std::string app_address;
  int http_port = 0;
};

std::string ServerName(absl::string_view address) {
  std::string name(address);
  for (char& c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != ':' && c != '_' &&
        c != '-') {
      c = '_';
    }
  }
  return name;
}

absl::StatusOr<std::vector<Server>> Servers(const Config& config,
                                            int app_port) {
  std::vector<Server> servers;
  const auto add = [&](const Peer& node, int http_port) {
    servers.push_back({ServerName(node.address()),
                       Peer{node.host, app_port}.address(), http_port});
  };
  add(config.self, config.http_port);
  for (const Peer& peer : config.peers) {
    if (peer.port + kHttpPortOffset > kMaxPort) {
      return absl::InvalidArgumentError(absl::StrCat(
          "peer ", peer.address(), ": its HTTP port (cache port + ",
          kHttpPortOffset, ") would exceed ", kMaxPort));
    }
    add(peer, peer.port + kHttpPortOffset);
  }
  std::sort(servers.begin(), servers.end(),
            [](const Server& a, const Server& b) { return a.name < b.name; });
  return servers;
}

std::string Header(const Config& config) {
  return absl::StrCat("# The DHIS 2 nodes of cluster ", config.node.cluster,
                      " in ", config.file, ", written by cachemeshctl.\n");
}

}  // namespace

std::string FormatMembers(const v1::MemberList& members) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "ENDPOINT", "STATE", "INCARNATION", "LAST HEARD (ms)", "SELF"}};
  for (const v1::MemberView& member : members.members()) {
    rows.push_back(
        {member.id(), member.endpoint(), v1::MemberState_Name(member.state()),
         absl::StrCat(member.incarnation()),
         absl::StrCat(member.last_heard_ms()), member.self() ? "*" : ""});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const std::vector<std::string>& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string table;
  for (const std::vector<std::string>& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) {
        line.append(widths[i] - row[i].size() + 2, ' ');
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&table, line, "\n");
  }
  return table;
}

std::string FormatHealth(const v1::Health& health) {
  std::string text = absl::StrCat(
      "status:  ", health.status(), "\n", "node:    ", health.id(), "\n",
      "members: ", health.alive(), " alive, ", health.suspect(), " suspect, ",
      health.dead(), " dead, ", health.left(), " left\n");
  for (const std::string& reason : health.reasons()) {
    absl::StrAppend(&text, "reason:  ", reason, "\n");
  }
  return text;
}

absl::StatusOr<std::string> InvalidationJson(
    absl::string_view op, absl::string_view region, absl::string_view key,
    absl::string_view collection_role) {
  v1::Invalidation::Op parsed;
  if (!v1::Invalidation::Op_Parse(std::string(op), &parsed) ||
      parsed == v1::Invalidation::OP_UNSPECIFIED ||
      parsed == v1::Invalidation::CHANNEL_MESSAGE) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--op: '", op,
        "' is not one of INSERT, UPDATE, DELETE, COLLECTION, CLEAR_REGION, "
        "CLEAR_ALL"));
  }
  if (parsed != v1::Invalidation::CLEAR_ALL && region.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--op=", op, " needs --region"));
  }
  v1::InvalidationList list;
  v1::Invalidation* invalidation = list.add_invalidations();
  invalidation->set_op(parsed);
  invalidation->set_region(std::string(region));
  invalidation->set_key(std::string(key));
  invalidation->set_collection_role(std::string(collection_role));
  std::string json;
  const google::protobuf::util::Status status =
      google::protobuf::util::MessageToJsonString(list, &json);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot encode invalidation: ",
                                            status.message().as_string()));
  }
  return json;
}

absl::StatusOr<int> ParseAccepted(absl::string_view json) {
  google::protobuf::Struct reply;
  const google::protobuf::util::Status status =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &reply);
  const auto accepted = reply.fields().find("accepted");
  if (!status.ok() || accepted == reply.fields().end() ||
      !accepted->second.has_number_value()) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected reply: ", json));
  }
  return static_cast<int>(accepted->second.number_value());
}

absl::StatusOr<std::string> HaproxyBackend(const Config& config, int app_port) {
  absl::StatusOr<std::vector<Server>> servers = Servers(config, app_port);
  if (!servers.ok()) return servers.status();
  std::string text = absl::StrCat(
      Header(config),
      "# Each node takes traffic while its cachemeshd's GET /health says 200.\n"
      "backend dhis2\n"
      "    mode http\n"
      "    balance roundrobin\n"
      "    # Sticky sessions: DHIS 2 keeps a session in one node's memory.\n"
      "    cookie SERVERID insert indirect nocache\n"
      "    option redispatch\n"
      "    # Analytics and imports can take minutes.\n"
      "    timeout connect 5s\n"
      "    timeout server 300s\n"
      "    timeout check 1s\n"
      "    option httpchk GET /health\n"
      "    http-check expect status 200\n");
  for (const Server& server : *servers) {
    absl::StrAppend(&text, "    server ", server.name, " ", server.app_address,
                    " cookie ", server.name, " check port ", server.http_port,
                    " inter 500 fall 2 rise 2\n");
  }
  return text;
}

absl::StatusOr<std::string> NginxUpstream(const Config& config, int app_port) {
  absl::StatusOr<std::vector<Server>> servers = Servers(config, app_port);
  if (!servers.ok()) return servers.status();
  std::string text = absl::StrCat(
      Header(config),
      "# Open-source nginx has no active health checks: it cannot ask\n"
      "# cachemeshd's GET /health, so a draining or untrusted node keeps its\n"
      "# traffic until it stops answering. HAProxy (cachemeshctl lb haproxy)\n"
      "# follows /health.\n"
      "upstream dhis2 {\n"
      "    # Sticky sessions: DHIS 2 keeps a session in one node's memory.\n"
      "    ip_hash;\n");
  for (const Server& server : *servers) {
    absl::StrAppend(&text, "    server ", server.app_address, ";  # ",
                    server.name, ", /health on port ", server.http_port, "\n");
  }
  absl::StrAppend(&text, "}\n");
  return text;
}

}  // namespace cachemesh::ctl
