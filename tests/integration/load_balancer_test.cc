// A real HAProxy in front of three app backends, health-checking each node's
// cachemeshd /health on a port of its own (`check port`), as
// docs/OPERATIONS.md recommends: draining, killing and undraining a node's
// daemon take its app out of the rotation and back in. Needs haproxy
// (tools/setup.sh installs Debian's); without it the test fails.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_cluster.h"

namespace cachemesh::testing {
namespace {

// HAProxy's check cadence: every 100 ms; out after 2 failed checks in a row,
// back after 2 good ones.
constexpr int kCheckIntervalMs = 100;
constexpr int kFall = 2;
constexpr int kRise = 2;
// HAProxy's health counter of a server that passed enough checks to need
// kFall failures to go down. A server that has just come up (or that HAProxy
// has just started with) sits at kRise and goes down at its first failure.
constexpr int kSteadyHealth = kRise + kFall - 1;
// How long HAProxy may take to react to a change of /health: about
// kFall (or kRise) check intervals, 200-300 ms.
constexpr absl::Duration kReactionDeadline = absl::Seconds(3);
// Requests per look at the rotation. Round robin over at most three servers
// reaches every server in it within three consecutive requests.
constexpr int kWindow = 6;

// Where Debian installs daemons; not on every user's PATH.
constexpr const char* kSbinDirs[] = {"/usr/local/sbin", "/usr/sbin", "/sbin"};

// The full path of executable `name`, searched on PATH and then in the sbin
// directories; empty if not found.
std::string FindExecutable(const std::string& name) {
  const char* path = getenv("PATH");
  std::vector<std::string> dirs =
      absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty());
  dirs.insert(dirs.end(), std::begin(kSbinDirs), std::end(kSbinDirs));
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string TempDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// One column of a server's HAProxy statistics; empty if absent.
std::string Field(const std::map<std::string, std::string>& server,
                  const std::string& column) {
  const auto it = server.find(column);
  return it == server.end() ? "" : it->second;
}

// A stand-in for one application server: answers GET / with its name.
class NamedApp {
 public:
  explicit NamedApp(std::string name) : name_(std::move(name)) {
    server_.Get("/", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(name_, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the server runs would be lost and join() would hang.
    WaitUntil([this] { return server_.is_running(); }, absl::Seconds(5));
  }
  ~NamedApp() {
    server_.stop();
    thread_.join();
  }
  NamedApp(const NamedApp&) = delete;
  NamedApp& operator=(const NamedApp&) = delete;

  int port() const { return port_; }

 private:
  const std::string name_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

// `haproxy -db -f <config>`: HAProxy in the foreground as a child process,
// logging to a file; killed when destroyed.
class HaproxyProcess {
 public:
  HaproxyProcess(std::string binary, const std::string& config)
      : binary_(std::move(binary)),
        config_path_(absl::StrCat(TempDir(), "/haproxy.cfg")),
        log_path_(absl::StrCat(TempDir(), "/haproxy.log")) {
    std::ofstream(config_path_) << config;
  }
  ~HaproxyProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

  void Start() {
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // Never outlive a crashed test.
      const int log =
          open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      execl(binary_.c_str(), "haproxy", "-db", "-f", config_path_.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_GT(pid, 0) << "fork: " << strerror(errno);
    pid_ = pid;
  }

  // True while the process has not exited.
  bool running() const {
    return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
  }
  std::string log() const { return ReadFile(log_path_); }
  std::string config() const { return ReadFile(config_path_); }

 private:
  const std::string binary_;
  const std::string config_path_;
  const std::string log_path_;
  pid_t pid_ = -1;
};

// The HAProxy configuration under test: round robin (so every server in the
// rotation gets traffic), each app checked through its node's cachemesh HTTP
// port; statistics as CSV on `stats_port`.
std::string HaproxyConfig(int frontend_port, int stats_port,
                          const std::vector<int>& app_ports,
                          const std::vector<int>& health_ports) {
  // One line of the file per line here.
  // clang-format off
  std::string config = absl::StrCat(
      "global\n"
      "    log stderr format raw local0 notice\n"
      "defaults\n"
      "    mode http\n"
      "    log global\n"
      "    timeout connect 1s\n"
      "    timeout client 5s\n"
      "    timeout server 5s\n"
      "    timeout check 1s\n"
      "listen stats\n"
      "    bind 127.0.0.1:", stats_port, "\n"
      "    stats enable\n"
      "    stats uri /stats\n"
      "frontend web\n"
      "    bind 127.0.0.1:", frontend_port, "\n"
      "    default_backend dhis2\n"
      "backend dhis2\n"
      "    balance roundrobin\n"
      "    option httpchk GET /health\n"
      "    http-check expect status 200\n"
      "    default-server inter ", kCheckIntervalMs, "ms fall ", kFall,
      " rise ", kRise, "\n");
  // clang-format on
  for (size_t i = 0; i < app_ports.size(); ++i) {
    absl::StrAppend(&config, "    server app", i, " 127.0.0.1:", app_ports[i],
                    " check port ", health_ports[i], "\n");
  }
  return config;
}

class LoadBalancerTest : public ::testing::Test {
 protected:
  static constexpr int kNodes = 3;

  void SetUp() override {
    haproxy_binary_ = FindExecutable("haproxy");
    ASSERT_FALSE(haproxy_binary_.empty())
        << "haproxy is not installed (searched PATH and "
        << absl::StrJoin(kSbinDirs, ", ")
        << "): run tools/setup.sh, which installs Debian's haproxy";
    std::string why;
    ASSERT_TRUE(cluster_.Start(kNodes, nullptr, &why)) << why;
    for (int i = 0; i < kNodes; ++i) {
      apps_.push_back(std::make_unique<NamedApp>(AppName(i)));
    }
    ASSERT_TRUE(WaitUntil(
        [&] {
          for (int i = 0; i < kNodes; ++i) {
            if (cluster_.node(i).HealthStatus() != 200) return false;
          }
          return true;
        },
        absl::Seconds(10)))
        << "the daemons did not all become healthy\n"
        << cluster_.Logs();
    StartHaproxy();
  }

  static std::string AppName(int i) { return absl::StrCat("app", i); }

  void StartHaproxy() {
    frontend_port_ = PickFreePort();
    stats_port_ = PickFreePort();
    std::vector<int> app_ports, health_ports;
    for (int i = 0; i < kNodes; ++i) {
      app_ports.push_back(apps_[i]->port());
      health_ports.push_back(cluster_.node(i).spec().http_port);
    }
    haproxy_ = std::make_unique<HaproxyProcess>(
        haproxy_binary_,
        HaproxyConfig(frontend_port_, stats_port_, app_ports, health_ports));
    haproxy_->Start();
    ASSERT_TRUE(
        WaitUntil([&] { return Request().status != -1; }, absl::Seconds(5)))
        << "haproxy does not answer on port " << frontend_port_
        << (haproxy_->running() ? "" : " (it exited)") << "\n"
        << haproxy_->config() << "---- haproxy log\n"
        << haproxy_->log();
  }

  // Backend dhis2's servers as HAProxy's statistics show them: one map of
  // CSV column name to value per server, by server name.
  std::map<std::string, std::map<std::string, std::string>> ServerStats()
      const {
    httplib::Client client("127.0.0.1", stats_port_);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(2, 0);
    client.set_url_encode(false);  // The ';' must reach HAProxy as it is.
    const httplib::Result result = client.Get("/stats;csv");
    std::map<std::string, std::map<std::string, std::string>> servers;
    if (!result || result->status != 200) return servers;
    const std::vector<absl::string_view> lines =
        absl::StrSplit(result->body, '\n');
    absl::string_view header = lines[0];
    if (!absl::ConsumePrefix(&header, "# ")) return servers;
    const std::vector<std::string> columns = absl::StrSplit(header, ',');
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> values = absl::StrSplit(lines[i], ',');
      if (values.size() < 2 || values[0] != "dhis2" || values[1] == "BACKEND") {
        continue;
      }
      std::map<std::string, std::string>& server = servers[values[1]];
      for (size_t c = 0; c < columns.size() && c < values.size(); ++c) {
        server[columns[c]] = values[c];
      }
    }
    return servers;
  }

  // Every server UP and past its first checks (see kSteadyHealth), so that
  // what follows meets HAProxy's steady state, not its start-up.
  bool AllServersSteady() const {
    const auto servers = ServerStats();
    if (servers.size() != static_cast<size_t>(kNodes)) return false;
    for (const auto& [name, server] : servers) {
      if (Field(server, "status") != "UP" ||
          Field(server, "check_health") != absl::StrCat(kSteadyHealth)) {
        return false;
      }
    }
    return true;
  }

  // One request through HAProxy, on a new connection.
  DaemonProcess::Reply Request() const {
    httplib::Client client("127.0.0.1", frontend_port_);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(2, 0);
    const httplib::Result result = client.Get("/");
    if (!result) return {};
    return {result->status, result->body};
  }

  // Who answered kWindow consecutive requests: app names, or "HTTP <status>"
  // for anything HAProxy answered itself.
  std::set<std::string> Answers() const {
    std::set<std::string> answers;
    for (int i = 0; i < kWindow; ++i) {
      const DaemonProcess::Reply reply = Request();
      answers.insert(reply.status == 200 ? reply.body
                                         : absl::StrCat("HTTP ", reply.status));
    }
    return answers;
  }

  // Waits until kWindow requests in a row are answered by exactly the apps
  // `expected`, then checks that it holds for another two windows.
  void ExpectRotation(const std::set<std::string>& expected,
                      const std::string& after) {
    std::set<std::string> last;
    const absl::Time start = absl::Now();
    const bool reached = WaitUntil(
        [&] {
          last = Answers();
          return last == expected;
        },
        kReactionDeadline);
    ASSERT_TRUE(reached) << "after " << after << ", expected answers from {"
                         << absl::StrJoin(expected, ", ") << "} but got {"
                         << absl::StrJoin(last, ", ") << "}\n"
                         << Diagnostics();
    const absl::Duration took = absl::Now() - start;
    for (int window = 0; window < 2; ++window) {
      EXPECT_EQ(Answers(), expected)
          << "the rotation changed again after " << after << "\n"
          << Diagnostics();
    }
    std::cerr << "rotation {" << absl::StrJoin(expected, ", ") << "} "
              << absl::FormatDuration(took) << " after " << after << "\n";
  }

  std::string Diagnostics() const {
    std::string text = "haproxy servers:";
    for (const auto& [name, server] : ServerStats()) {
      absl::StrAppend(&text, " ", name, " ", Field(server, "status"),
                      " (health ", Field(server, "check_health"), ")");
    }
    absl::StrAppend(&text, "\n");
    for (int i = 0; i < kNodes; ++i) {
      const DaemonProcess& daemon = cluster_.node(i);
      absl::StrAppend(
          &text, daemon.spec().id, " /health: ",
          daemon.running() ? daemon.Get("/health").body : "(killed)", "\n");
    }
    absl::StrAppend(&text, "---- haproxy config\n", haproxy_->config(),
                    "---- haproxy log\n", haproxy_->log(), cluster_.Logs());
    return text;
  }

  std::string haproxy_binary_;
  TestCluster cluster_;
  std::vector<std::unique_ptr<NamedApp>> apps_;
  std::unique_ptr<HaproxyProcess> haproxy_;
  int frontend_port_ = 0;
  int stats_port_ = 0;
};

TEST_F(LoadBalancerTest, HealthDecidesWhichAppsHaproxySendsTrafficTo) {
  ASSERT_NO_FATAL_FAILURE(ExpectRotation({"app0", "app1", "app2"}, "start-up"));
  ASSERT_TRUE(WaitUntil([&] { return AllServersSteady(); }, kReactionDeadline))
      << Diagnostics();

  const DaemonProcess::Reply drained = cluster_.node(1).Post("/v1/drain", "");
  ASSERT_EQ(drained.status, 200) << drained.body;
  ASSERT_NO_FATAL_FAILURE(
      ExpectRotation({"app0", "app2"}, "POST /v1/drain on n1"));

  // The app stays up: only its node's cachemesh HTTP port stops answering.
  ASSERT_TRUE(cluster_.node(2).Signal(SIGKILL).has_value());
  ASSERT_NO_FATAL_FAILURE(
      ExpectRotation({"app0"}, "kill -9 of n2's cachemeshd"));

  const DaemonProcess::Reply undrained = cluster_.node(1).Delete("/v1/drain");
  ASSERT_EQ(undrained.status, 200) << undrained.body;
  ASSERT_NO_FATAL_FAILURE(
      ExpectRotation({"app0", "app1"}, "DELETE /v1/drain on n1"));

  EXPECT_TRUE(haproxy_->running()) << haproxy_->log();
}

}  // namespace
}  // namespace cachemesh::testing
