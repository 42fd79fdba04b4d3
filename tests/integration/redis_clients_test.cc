// Real Redis clients that no one here wrote (redis-py 4.3, ioredis 5 and 6,
// node-redis 4 and 5, redis-cli 7.0, in RESP2 and RESP3) publish on one
// node's cachemeshd and subscribe on every node's, their own included, as
// DHIS 2 does. Every subscriber gets the identical bytes, in order, and
// still does after the middle node is killed with -9 and restarted: its
// subscribers reconnect by themselves and get everything published after
// they are back. The runners are tests/integration/redis_clients/*;
// tools/setup.sh installs the clients.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_cluster.h"

namespace cachemesh::testing {
namespace {

using ::testing::ElementsAreArray;

constexpr absl::Duration kPatience = absl::Seconds(20);
constexpr char kChannel[] = "dhis2_cache_invalidation";
constexpr int kNodes = 3;

struct Runner {
  std::string name;
  // Interpreter, script (under redis_clients/), and the runner's own flags.
  std::string interpreter;
  std::string script;
  std::vector<std::string> flags;
};

void PrintTo(const Runner& runner, std::ostream* out) { *out << runner.name; }

std::string ClientsDir() {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "cachemesh",
                      "/tests/integration/redis_clients/");
}

std::vector<std::string> Command(const Runner& runner,
                                 std::vector<std::string> arguments) {
  std::vector<std::string> command = {runner.interpreter,
                                      ClientsDir() + runner.script};
  command.insert(command.end(), runner.flags.begin(), runner.flags.end());
  command.insert(command.end(), arguments.begin(), arguments.end());
  return command;
}

// What a runner's `pub --binary` sends: PREFIX-i, then NUL, CRLF and 0xff.
std::vector<std::string> Published(const std::string& prefix, int count) {
  std::vector<std::string> payloads;
  for (int i = 0; i < count; ++i) {
    payloads.push_back(
        absl::StrCat(prefix, "-", i, std::string("\0\r\n\xff", 4)));
  }
  return payloads;
}

// The subscriber's output file: READY lines and MSG <channel> <payload>
// lines, both in hex.
struct Received {
  int ready = 0;
  std::vector<std::string> payloads;
};

Received ReadReceived(const std::string& path) {
  Received received;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    if (line == "READY") {
      ++received.ready;
      continue;
    }
    const std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() == 3 && fields[0] == "MSG" &&
        absl::HexStringToBytes(fields[1]) == kChannel) {
      received.payloads.push_back(absl::HexStringToBytes(fields[2]));
    }
  }
  return received;
}

class RedisClientsTest : public ::testing::TestWithParam<Runner> {
 protected:
  void SetUp() override {
    for (int i = 0; i < kNodes; ++i) redis_ports_.push_back(PickFreePort());
    std::string why;
    ASSERT_TRUE(cluster_.Start(
        kNodes,
        [&](int i, DaemonSpec& spec) {
          spec.extra_lines = {"cachemesh.redis.enabled = on",
                              absl::StrCat("redis.port = ", redis_ports_[i])};
        },
        &why))
        << why;
  }

  void StartSubscriber(int node) {
    const std::string out =
        absl::StrCat(getenv("TEST_TMPDIR"), "/", GetParam().name, "-sub", node);
    outputs_.push_back(out);
    subscribers_.push_back(std::make_unique<Subprocess>(
        Command(GetParam(), {"sub", "--port", absl::StrCat(redis_ports_[node]),
                             "--channel", kChannel, "--out", out}),
        out + ".log"));
  }

  void Publish(int node, const std::string& prefix, int count) {
    const std::string log = absl::StrCat(getenv("TEST_TMPDIR"), "/",
                                         GetParam().name, "-pub-", prefix);
    Subprocess publisher(
        Command(GetParam(),
                {"pub", "--port", absl::StrCat(redis_ports_[node]), "--channel",
                 kChannel, "--count", absl::StrCat(count), "--prefix", prefix,
                 "--binary"}),
        log);
    const std::optional<int> code = publisher.WaitForExit(kPatience);
    ASSERT_EQ(code, 0) << publisher.log() << cluster_.Logs();
    EXPECT_THAT(publisher.log(),
                ::testing::HasSubstr(absl::StrCat("PUBLISHED ", count)));
  }

  bool AllReady(int times) {
    for (const std::string& out : outputs_) {
      if (ReadReceived(out).ready < times) return false;
    }
    return true;
  }

  bool AllGot(size_t count) {
    for (const std::string& out : outputs_) {
      if (ReadReceived(out).payloads.size() < count) return false;
    }
    return true;
  }

  std::string Diagnostics() {
    std::string text = cluster_.Logs();
    for (size_t i = 0; i < subscribers_.size(); ++i) {
      absl::StrAppend(&text, "\n--- subscriber on n", i, "\n",
                      subscribers_[i]->log());
    }
    return text;
  }

  TestCluster cluster_;
  std::vector<int> redis_ports_;
  std::vector<std::string> outputs_;
  std::vector<std::unique_ptr<Subprocess>> subscribers_;
};

TEST_P(RedisClientsTest, EveryNodeGetsTheIdenticalBytesInOrderThroughARestart) {
  for (int node = 0; node < kNodes; ++node) StartSubscriber(node);
  ASSERT_TRUE(WaitUntil([&] { return AllReady(1); }, kPatience))
      << Diagnostics();

  // Published on node 0: every node's subscriber gets it, node 0's too.
  Publish(0, "a", 100);
  ASSERT_TRUE(WaitUntil([&] { return AllGot(100); }, kPatience))
      << Diagnostics();

  // The middle node dies and comes back; its subscriber reconnects.
  ASSERT_TRUE(cluster_.node(1).Signal(SIGKILL).has_value());
  cluster_.node(1).Start();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return cluster_.AllSee(v1::ALIVE) && AllReady(1) &&
               ReadReceived(outputs_[1]).ready >= 2;
      },
      kPatience))
      << Diagnostics();

  Publish(2, "b", 50);
  ASSERT_TRUE(WaitUntil([&] { return AllGot(150); }, kPatience))
      << Diagnostics();

  std::vector<std::string> expected = Published("a", 100);
  const std::vector<std::string> after = Published("b", 50);
  expected.insert(expected.end(), after.begin(), after.end());
  for (int node = 0; node < kNodes; ++node) {
    EXPECT_THAT(ReadReceived(outputs_[node]).payloads,
                ElementsAreArray(expected))
        << "subscriber on n" << node;
  }
}

INSTANTIATE_TEST_SUITE_P(
    RealClients, RedisClientsTest,
    ::testing::Values(
        Runner{"redis_py", "/usr/bin/python3", "redis_py_client.py", {}},
        Runner{"ioredis5",
               "/usr/bin/node",
               "ioredis_client.js",
               {"--lib", "ioredis5"}},
        Runner{"ioredis6_resp3",
               "/usr/bin/node",
               "ioredis_client.js",
               {"--lib", "ioredis6"}},
        Runner{"node_redis4",
               "/usr/bin/node",
               "node_redis_client.js",
               {"--lib", "redis4"}},
        Runner{"node_redis5_resp3",
               "/usr/bin/node",
               "node_redis_client.js",
               {"--lib", "redis5", "--resp", "3"}},
        Runner{"redis_cli", "/bin/bash", "redis_cli_client.sh", {}},
        Runner{"redis_cli_resp3", "/bin/bash", "redis_cli_client.sh", {"-3"}}),
    [](const ::testing::TestParamInfo<Runner>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace cachemesh::testing
