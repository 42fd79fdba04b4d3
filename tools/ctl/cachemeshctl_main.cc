// cachemeshctl: the operator's command line for the local cachemeshd. It
// finds the daemon's HTTP API from dhis.conf as cachemeshd does, and prints
// the API's replies, as JSON with --json or for people without. Any failure
// exits non-zero with one line on stderr.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "config/config.h"
#include "config/properties.h"
#include "google/protobuf/util/json_util.h"
#include "httplib.h"
#include "proto/cachemesh.pb.h"
#include "tools/ctl/ctl.h"

ABSL_FLAG(std::string, config, "/opt/dhis2/dhis.conf",
          "The dhis.conf of the local cachemeshd.");
ABSL_FLAG(std::string, address, "127.0.0.1",
          "The address of cachemeshd's HTTP API (its port: dhis.conf).");
ABSL_FLAG(bool, json, false, "Print the daemon's JSON reply as it is.");
ABSL_FLAG(std::string, op, "",
          "publish: INSERT, UPDATE, DELETE, COLLECTION, CLEAR_REGION or "
          "CLEAR_ALL.");
ABSL_FLAG(std::string, region, "", "publish: the cache region.");
ABSL_FLAG(std::string, key, "", "publish: the entry's key.");
ABSL_FLAG(std::string, collection_role, "",
          "publish: the collection role of a COLLECTION invalidation.");
ABSL_FLAG(int, app_port, 8080, "lb: the DHIS 2 (Tomcat) port on every node.");

namespace cachemesh::ctl {
namespace {

constexpr int kExitOk = 0;
// A failure, or for `health` a node that is not UP.
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "The operator's command line for the local cachemeshd.\n"
    "Usage: cachemeshctl [--config=FILE] [--address=HOST] [--json] COMMAND\n"
    "Commands:\n"
    "  members        the members this node sees\n"
    "  health         this node's health; exits 0 only when UP\n"
    "  drain          take this node out of the load balancer\n"
    "  undrain        put it back\n"
    "  publish        --op=OP [--region=R] [--key=K] [--collection_role=C]:\n"
    "                 invalidate an entry on every node\n"
    "  check-config   what cachemeshd --check_config says of --config\n"
    "  lb haproxy     an HAProxy backend for the cluster in --config\n"
    "  lb nginx       an nginx upstream for the same [--app_port=8080]";

// Prints `message` as cachemeshctl's one stderr line; returns kExitFailed.
int Fail(absl::string_view message) {
  std::fprintf(stderr, "cachemeshctl: %s\n", std::string(message).c_str());
  return kExitFailed;
}

// The local daemon's HTTP API, as dhis.conf and the flags describe it.
class Daemon {
 public:
  explicit Daemon(const Config& config)
      : base_(absl::StrCat("http://", absl::GetFlag(FLAGS_address), ":",
                           config.http_port)),
        token_(config.http_token),
        client_(absl::GetFlag(FLAGS_address), config.http_port) {
    client_.set_connection_timeout(2, 0);
    client_.set_read_timeout(10, 0);
    client_.set_write_timeout(10, 0);
  }

  // The reply to `method` (GET, POST or DELETE) on `path`; mutating
  // methods carry the token when dhis.conf sets one. An error names the
  // daemon when it does not answer.
  absl::StatusOr<httplib::Response> Call(absl::string_view method,
                                         const std::string& path,
                                         const std::string& body = "") {
    httplib::Headers headers;
    if (method != "GET" && !token_.empty()) {
      headers.emplace("Authorization", absl::StrCat("Bearer ", token_));
    }
    httplib::Result result =
        method == "GET" ? client_.Get(path.c_str(), headers)
        : method == "POST"
            ? client_.Post(path.c_str(), headers, body, "application/json")
            : client_.Delete(path.c_str(), headers);
    if (!result) {
      return absl::UnavailableError(
          absl::StrCat("no answer from ", base_, " (is cachemeshd running?)"));
    }
    return *result;
  }

  // The failure line for an unexpected reply.
  std::string Unexpected(absl::string_view method, absl::string_view path,
                         const httplib::Response& response) const {
    std::string body = response.body;
    while (!body.empty() && body.back() == '\n') body.pop_back();
    return absl::StrCat(method, " ", base_, path, ": HTTP ", response.status,
                        " ", body);
  }

 private:
  const std::string base_;
  const std::string token_;
  httplib::Client client_;
};

// Parses `json` into `message`; false when it is not one.
bool FromJson(const std::string& json, google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(json, &message, options)
      .ok();
}

// Prints a /health or /v1/drain reply; kExitOk only for HTTP 200.
int PrintHealth(Daemon& daemon, absl::string_view method,
                const std::string& path, const httplib::Response& response) {
  v1::Health health;
  if ((response.status != 200 && response.status != 503) ||
      !FromJson(response.body, health)) {
    return Fail(daemon.Unexpected(method, path, response));
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::fputs(response.body.c_str(), stdout);
    if (response.body.empty() || response.body.back() != '\n') {
      std::fputs("\n", stdout);
    }
  } else {
    std::fputs(FormatHealth(health).c_str(), stdout);
  }
  return response.status == 200 ? kExitOk : kExitFailed;
}

int Members(Daemon& daemon) {
  const std::string path = "/v1/members";
  absl::StatusOr<httplib::Response> response = daemon.Call("GET", path);
  if (!response.ok()) return Fail(response.status().message());
  v1::MemberList members;
  if (response->status != 200 || !FromJson(response->body, members)) {
    return Fail(daemon.Unexpected("GET", path, *response));
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::fprintf(stdout, "%s\n", response->body.c_str());
  } else {
    std::fputs(FormatMembers(members).c_str(), stdout);
  }
  return kExitOk;
}

int Health(Daemon& daemon) {
  absl::StatusOr<httplib::Response> response = daemon.Call("GET", "/health");
  if (!response.ok()) return Fail(response.status().message());
  return PrintHealth(daemon, "GET", "/health", *response);
}

int Drain(Daemon& daemon, bool drain) {
  const std::string method = drain ? "POST" : "DELETE";
  absl::StatusOr<httplib::Response> response = daemon.Call(method, "/v1/drain");
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) {
    return Fail(daemon.Unexpected(method, "/v1/drain", *response));
  }
  // The new health comes with 200 whatever it says: the exit is 0 when it
  // is one.
  return PrintHealth(daemon, method, "/v1/drain", *response);
}

int Publish(Daemon& daemon) {
  const absl::StatusOr<std::string> body = InvalidationJson(
      absl::GetFlag(FLAGS_op), absl::GetFlag(FLAGS_region),
      absl::GetFlag(FLAGS_key), absl::GetFlag(FLAGS_collection_role));
  if (!body.ok()) return Fail(body.status().message());
  const std::string path = "/v1/invalidations";
  absl::StatusOr<httplib::Response> response = daemon.Call("POST", path, *body);
  if (!response.ok()) return Fail(response.status().message());
  const absl::StatusOr<int> accepted = ParseAccepted(response->body);
  if (response->status != 202 || !accepted.ok()) {
    return Fail(daemon.Unexpected("POST", path, *response));
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::fprintf(stdout, "%s\n", response->body.c_str());
  } else {
    std::fprintf(stdout, "accepted %d\n", *accepted);
  }
  return kExitOk;
}

int LoadBalancer(const Config& config, absl::string_view kind) {
  const int app_port = absl::GetFlag(FLAGS_app_port);
  if (app_port < 1 || app_port > 65535) {
    return Fail(absl::StrCat("--app_port: ", app_port, " is not 1..65535"));
  }
  absl::StatusOr<std::string> text;
  if (kind == "haproxy") {
    text = HaproxyBackend(config, app_port);
  } else if (kind == "nginx") {
    text = NginxUpstream(config, app_port);
  } else {
    std::fprintf(stderr, "cachemeshctl: lb: '%s' is not haproxy or nginx\n",
                 std::string(kind).c_str());
    return kExitUsage;
  }
  if (!text.ok()) return Fail(text.status().message());
  std::fputs(text->c_str(), stdout);
  return kExitOk;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  const std::vector<char*> arguments = absl::ParseCommandLine(argc, argv);
  const std::vector<std::string> command(arguments.begin() + 1,
                                         arguments.end());
  const size_t expected = !command.empty() && command[0] == "lb" ? 2 : 1;
  if (command.size() != expected) {
    std::fprintf(stderr,
                 "cachemeshctl: expected one command (see --help): members, "
                 "health, drain, undrain, publish, check-config, lb haproxy, "
                 "lb nginx\n");
    return kExitUsage;
  }
  const std::string& name = command[0];
  const std::vector<std::string> commands = {
      "members", "health", "drain", "undrain", "publish", "check-config", "lb"};
  if (std::find(commands.begin(), commands.end(), name) == commands.end()) {
    std::fprintf(stderr, "cachemeshctl: unknown command '%s' (see --help)\n",
                 name.c_str());
    return kExitUsage;
  }
  const absl::StatusOr<Config> config =
      LoadConfig(absl::GetFlag(FLAGS_config), ProcessEnvironment());
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(config.status().message()).c_str());
    return kExitFailed;
  }
  if (name == "check-config") {
    std::fputs(FormatConfig(*config).c_str(), stdout);
    return kExitOk;
  }
  if (name == "lb") return LoadBalancer(*config, command[1]);
  Daemon daemon(*config);
  if (name == "members") return Members(daemon);
  if (name == "health") return Health(daemon);
  if (name == "drain") return Drain(daemon, true);
  if (name == "undrain") return Drain(daemon, false);
  return Publish(daemon);
}

}  // namespace
}  // namespace cachemesh::ctl

int main(int argc, char** argv) { return cachemesh::ctl::Main(argc, argv); }
