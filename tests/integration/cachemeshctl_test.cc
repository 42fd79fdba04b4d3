// The real cachemeshctl binary against a real cachemeshd on free ports, and
// its load balancer configurations checked by the real haproxy and nginx.

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/cachemesh.pb.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/subprocess.h"

namespace cachemesh::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `command` through the shell; its exit code, stdout and stderr.
Outcome Shell(const std::string& command) {
  static int runs = 0;
  const std::string base = absl::StrCat(TempDir(), "/run", ++runs);
  const int status = std::system(
      absl::StrCat(command, " >", base, ".out 2>", base, ".err").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(base + ".out"),
          ReadFile(base + ".err")};
}

// Runs cachemeshctl with `arguments`.
Outcome Ctl(const std::vector<std::string>& arguments) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string binary = absl::StrCat(srcdir ? srcdir : ".", "/",
                                          workspace ? workspace : "cachemesh",
                                          "/tools/ctl/cachemeshctl");
  return Shell(absl::StrCat(binary, " ", absl::StrJoin(arguments, " ")));
}

// One running daemon, UP before each test starts.
class CachemeshctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_.Start();
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (daemon_.HealthStatus() != 200 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_EQ(daemon_.HealthStatus(), 200) << daemon_.log();
  }

  std::string ConfigFlag() const { return "--config=" + daemon_.config_path(); }

  DaemonProcess daemon_{DaemonSpec{
      .id = "n1", .cache_port = PickFreePort(), .http_port = PickFreePort()}};
};

TEST_F(CachemeshctlTest, MembersListsThisNodeAlive) {
  const Outcome json = Ctl({ConfigFlag(), "--json", "members"});
  ASSERT_EQ(json.code, 0) << json.err;
  v1::MemberList members;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &members).ok())
      << json.out;
  ASSERT_EQ(members.members_size(), 1) << json.out;
  EXPECT_EQ(members.members(0).id(), "n1");
  EXPECT_EQ(members.members(0).state(), v1::ALIVE);
  EXPECT_TRUE(members.members(0).self());

  const Outcome table = Ctl({ConfigFlag(), "members"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, ContainsRegex("^ID +ENDPOINT +STATE +INCARNATION"));
  EXPECT_THAT(table.out,
              ContainsRegex(absl::StrCat(
                  "\nn1 +tcp://127.0.0.1:", daemon_.spec().cache_port,
                  " +ALIVE +[0-9]+ +-?[0-9]+ +\\*\n")));
  EXPECT_THAT(table.err, IsEmpty());
}

TEST_F(CachemeshctlTest, HealthExitsZeroWhenUp) {
  const Outcome run = Ctl({ConfigFlag(), "health"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("status:  UP\n"));
  EXPECT_THAT(run.out, HasSubstr("members: 1 alive, 0 suspect"));

  const Outcome json = Ctl({ConfigFlag(), "--json", "health"});
  EXPECT_EQ(json.code, 0) << json.err;
  v1::Health health;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &health).ok())
      << json.out;
  EXPECT_EQ(health.status(), "UP");
}

TEST_F(CachemeshctlTest, DrainAndUndrainMoveHealth) {
  const Outcome drain = Ctl({ConfigFlag(), "drain"});
  EXPECT_EQ(drain.code, 0) << drain.err;
  EXPECT_THAT(drain.out, HasSubstr("status:  DRAINING\n"));

  const Outcome drained = Ctl({ConfigFlag(), "health"});
  EXPECT_EQ(drained.code, 1);
  EXPECT_THAT(drained.out, HasSubstr("status:  DRAINING\n"));
  EXPECT_THAT(drained.out, HasSubstr("reason:  draining"));

  const Outcome undrain = Ctl({ConfigFlag(), "undrain"});
  EXPECT_EQ(undrain.code, 0) << undrain.err;
  EXPECT_THAT(undrain.out, HasSubstr("status:  UP\n"));

  const Outcome back = Ctl({ConfigFlag(), "health"});
  EXPECT_EQ(back.code, 0) << back.err;
  EXPECT_THAT(back.out, HasSubstr("status:  UP\n"));
}

TEST_F(CachemeshctlTest, PublishIsAccepted) {
  const Outcome update = Ctl({ConfigFlag(), "publish", "--op=UPDATE",
                              "--region=org.hisp.User", "--key=abc"});
  EXPECT_EQ(update.code, 0) << update.err;
  EXPECT_EQ(update.out, "accepted 1\n");

  const Outcome clear =
      Ctl({ConfigFlag(), "--json", "publish", "--op=CLEAR_ALL"});
  EXPECT_EQ(clear.code, 0) << clear.err;
  EXPECT_EQ(clear.out, "{\"accepted\":1}\n");

  const Outcome bad = Ctl({ConfigFlag(), "publish", "--op=UPDATE"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "cachemeshctl: --op=UPDATE needs --region\n");
  EXPECT_THAT(bad.out, IsEmpty());
}

TEST_F(CachemeshctlTest, CheckConfigPrintsTheDaemonsReport) {
  const Outcome run = Ctl({ConfigFlag(), "check-config"});
  EXPECT_EQ(run.code, 0) << run.err;
  const DaemonProcess::Exit daemon = daemon_.CheckConfig();
  ASSERT_EQ(daemon.code, 0) << daemon.output;
  EXPECT_EQ(run.out, daemon.output);
  EXPECT_THAT(run.out, HasSubstr("cachemesh.node.id"));
}

TEST(CachemeshctlConfigTest, CheckConfigReportsTheBrokenLine) {
  const std::string path = TempDir() + "/broken.conf";
  WriteFile(path,
            "cluster.hostname = 127.0.0.1\n"
            "cluster.cache.port = not-a-port\n");
  const Outcome run = Ctl({"--config=" + path, "check-config"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr(path + ":2: "));
  EXPECT_THAT(run.out, IsEmpty());
}

TEST(CachemeshctlConfigTest, NoDaemonIsOneLine) {
  const int http_port = PickFreePort();
  const std::string path = TempDir() + "/nobody.conf";
  WriteFile(path, absl::StrCat("cluster.hostname = 127.0.0.1\n"
                               "cluster.cache.port = ",
                               PickFreePort(),
                               "\n"
                               "cachemesh.http.port = ",
                               http_port, "\n"));
  for (const char* command : {"members", "health", "drain"}) {
    const Outcome run = Ctl({"--config=" + path, command});
    EXPECT_EQ(run.code, 1) << command;
    EXPECT_EQ(run.err, absl::StrCat("cachemeshctl: no answer from "
                                    "http://127.0.0.1:",
                                    http_port, " (is cachemeshd running?)\n"))
        << command;
  }
}

TEST(CachemeshctlConfigTest, UnknownCommandIsAUsageError) {
  const Outcome run = Ctl({"--config=/nonexistent/dhis.conf", "restart"});
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.err, "cachemeshctl: unknown command 'restart' (see --help)\n");
  EXPECT_THAT(run.out, IsEmpty());
}

// A three-node cluster's dhis.conf, seen from 10.0.0.1 (HTTP port 5101).
std::string ClusterConfig() {
  const std::string path = TempDir() + "/cluster.conf";
  WriteFile(path,
            "cluster.hostname = 10.0.0.1\n"
            "cluster.cache.port = 4001\n"
            "cluster.members = 10.0.0.2:4001,10.0.0.3:4002\n"
            "cachemesh.cluster.name = lb\n"
            "cachemesh.http.port = 5101\n");
  return path;
}

TEST(CachemeshctlLbTest, HaproxyBackendPassesHaproxyCheck) {
  const Outcome run =
      Ctl({"--config=" + ClusterConfig(), "--app_port=8081", "lb", "haproxy"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("option httpchk GET /health\n"));
  EXPECT_THAT(run.out, HasSubstr("http-check expect status 200\n"));
  EXPECT_THAT(run.out, HasSubstr("cookie SERVERID insert indirect nocache\n"));
  EXPECT_THAT(run.out,
              HasSubstr("server 10.0.0.1:4001 10.0.0.1:8081 cookie "
                        "10.0.0.1:4001 check port 5101 inter 500 fall 2 "
                        "rise 2\n"));
  EXPECT_THAT(run.out, HasSubstr("server 10.0.0.2:4001 10.0.0.2:8081 cookie "
                                 "10.0.0.2:4001 check port 5001 "));
  EXPECT_THAT(run.out, HasSubstr("server 10.0.0.3:4002 10.0.0.3:8081 cookie "
                                 "10.0.0.3:4002 check port 5002 "));

  const std::string backend = TempDir() + "/backend.cfg";
  const std::string frontend = TempDir() + "/frontend.cfg";
  WriteFile(backend, run.out);
  WriteFile(frontend, absl::StrCat("frontend web\n"
                                   "    mode http\n"
                                   "    bind 127.0.0.1:",
                                   PickFreePort(),
                                   "\n"
                                   "    timeout client 30s\n"
                                   "    default_backend dhis2\n"));
  // -dW: any warning is an error.
  const Outcome check =
      Shell(absl::StrCat("haproxy -c -dW -f ", frontend, " -f ", backend));
  EXPECT_EQ(check.code, 0) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("Configuration file is valid"));
}

TEST(CachemeshctlLbTest, NginxUpstreamPassesNginxCheck) {
  const Outcome run = Ctl({"--config=" + ClusterConfig(), "lb", "nginx"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("no active health checks"));
  EXPECT_THAT(run.out, ContainsRegex("upstream dhis2 \\{\n(#.*\n| .*\n)*"
                                     "    ip_hash;\n"));
  for (const char* host : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat("server ", host, ":8080;")));
  }

  const std::string dir = TempDir() + "/nginx";
  ASSERT_EQ(Shell("mkdir -p " + dir).code, 0);
  WriteFile(dir + "/upstream.conf", run.out);
  WriteFile(dir + "/nginx.conf",
            absl::StrCat(
                // As root, nginx hands its temp dirs to its worker user:
                // this one, which the test's sandbox maps.
                "user ", getpwuid(geteuid())->pw_name, ";\n",     //
                "pid ", dir, "/nginx.pid;\n",                     //
                "error_log ", dir, "/error.log;\n",               //
                "events {}\n",                                    //
                "http {\n",                                       //
                "  client_body_temp_path ", dir, "/body;\n",      //
                "  proxy_temp_path ", dir, "/proxy;\n",           //
                "  fastcgi_temp_path ", dir, "/fastcgi;\n",       //
                "  uwsgi_temp_path ", dir, "/uwsgi;\n",           //
                "  scgi_temp_path ", dir, "/scgi;\n",             //
                "  access_log ", dir, "/access.log;\n",           //
                "  include ", dir, "/upstream.conf;\n",           //
                "  server {\n",                                   //
                "    listen 127.0.0.1:", PickFreePort(), ";\n",   //
                "    location / { proxy_pass http://dhis2; }\n",  //
                "  }\n",                                          //
                "}\n"));
  const Outcome check = Shell(absl::StrCat(
      "nginx -t -c ", dir, "/nginx.conf -p ", dir, " -e ", dir, "/error.log"));
  EXPECT_EQ(check.code, 0) << check.out << check.err;
  EXPECT_THAT(check.err, HasSubstr("test is successful"));
}

}  // namespace
}  // namespace cachemesh::testing
