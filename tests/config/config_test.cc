// Tests for resolving dhis.conf into cachemesh's configuration: both DHIS 2
// cluster key styles, every cachemesh.* setting, every error, the report.
#include "config/config.h"

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "config/properties.h"
#include "config/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachemesh {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr char kFile[] = "dhis.conf";

// Parses and resolves `text` as LoadConfig does, without a file.
absl::StatusOr<Config> Resolve(
    absl::string_view text,
    absl::flat_hash_map<std::string, std::string> env = {}) {
  const Environment environment = FixedEnvironment(std::move(env));
  absl::StatusOr<PropertiesFile> file =
      ParseProperties(text, kFile, environment, DhisConfParseOptions());
  if (!file.ok()) return file.status();
  return ResolveConfig(*file, environment);
}

// Resolves `text`, which must be valid.
Config Valid(absl::string_view text,
             absl::flat_hash_map<std::string, std::string> env = {}) {
  absl::StatusOr<Config> config = Resolve(text, std::move(env));
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *std::move(config) : Config();
}

// The error lines for `text`, which must be invalid.
std::vector<std::string> Errors(absl::string_view text) {
  absl::StatusOr<Config> config = Resolve(text);
  EXPECT_FALSE(config.ok()) << "unexpectedly valid:\n" << text;
  if (config.ok()) return {};
  return absl::StrSplit(config.status().message(), '\n');
}

std::vector<std::string> Endpoints(const std::vector<Peer>& peers) {
  std::vector<std::string> endpoints;
  for (const Peer& peer : peers) endpoints.push_back(peer.endpoint());
  return endpoints;
}

const Setting* FindSetting(const Config& config, absl::string_view key) {
  for (const Setting& setting : config.settings) {
    if (setting.key == key) return &setting;
  }
  return nullptr;
}

std::string TempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string WriteTempFile(absl::string_view name, absl::string_view text) {
  const std::string path = TempPath(name);
  FILE* file = std::fopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  if (file != nullptr) {
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
  }
  return path;
}

// --- Peer. ---

TEST(PeerTest, AddressAndEndpoint) {
  EXPECT_EQ((Peer{"app1", 4001}).address(), "app1:4001");
  EXPECT_EQ((Peer{"10.0.0.1", 4002}).endpoint(), "tcp://10.0.0.1:4002");
  EXPECT_EQ((Peer{"::1", 4001}).address(), "[::1]:4001");
  EXPECT_EQ((Peer{"fe80::1", 4001}).endpoint(), "tcp://[fe80::1]:4001");
}

// --- DHIS 2.29+ keys. ---

TEST(ConfigTest, HostnameAloneIsASingleNodeWithEveryDefault) {
  const Config config = Valid("cluster.hostname = app1\n");
  EXPECT_EQ(config.file, kFile);
  EXPECT_EQ(config.self.host, "app1");
  EXPECT_EQ(config.self.port, 4001);
  EXPECT_THAT(config.peers, IsEmpty());
  EXPECT_EQ(config.node.cluster, "dhis2");
  EXPECT_EQ(config.node.id, "app1:4001");
  EXPECT_EQ(config.bind_address, "*");
  EXPECT_EQ(config.http_address, "0.0.0.0");
  EXPECT_EQ(config.http_port, 5001);
  EXPECT_EQ(config.http_token, "");
  EXPECT_EQ(config.app_health_url, "");
  EXPECT_EQ(config.app_health_interval, absl::Milliseconds(1000));
  EXPECT_EQ(config.app_health_timeout, absl::Milliseconds(500));
  EXPECT_EQ(config.node.heartbeat_interval, absl::Milliseconds(50));
  EXPECT_EQ(config.node.failure_detector.phi_threshold, 8.0);
  EXPECT_EQ(config.node.failure_detector.acceptable_pause,
            absl::Milliseconds(500));
  EXPECT_EQ(config.node.failure_detector.min_stddev, absl::Milliseconds(25));
  EXPECT_EQ(config.node.suspicion.min, absl::Milliseconds(150));
  EXPECT_EQ(config.node.suspicion.max, absl::Milliseconds(600));
  EXPECT_EQ(config.node.reap_after, absl::Milliseconds(60000));
  EXPECT_EQ(config.node.streams.batch_max_delay, absl::ZeroDuration());
  EXPECT_EQ(config.node.streams.batch_max_size, 512);
  EXPECT_EQ(config.node.streams.recovery_buffer, 8192);
  EXPECT_EQ(config.node.startup_sync_timeout, absl::Milliseconds(5000));
  EXPECT_EQ(config.client_endpoint, "ipc:///tmp/cachemesh-4001.sock");
  EXPECT_EQ(config.events_buffer, 65536);
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.mesh.send_hwm, 100000);
  EXPECT_EQ(config.mesh.receive_hwm, 100000);
  EXPECT_EQ(config.mesh.zmtp_heartbeat_interval, absl::Milliseconds(1000));
  EXPECT_EQ(config.mesh.zmtp_heartbeat_timeout, absl::Milliseconds(3000));
  EXPECT_EQ(config.mesh.zmtp_heartbeat_ttl, absl::Milliseconds(10000));
  EXPECT_THAT(config.warnings, IsEmpty());
}

TEST(ConfigTest, MembersWithDefaultPortsWhitespaceAndIpv6) {
  const Config config = Valid(
      "cluster.hostname = 10.0.0.1\n"
      "cluster.cache.port = 4101\n"
      "cluster.members =  10.0.0.2 , app3.example.org:4005,[::1]:4006,\t"
      "[fe80::1%eth0] ,[2001:db8::7]\n");
  EXPECT_EQ(config.self.endpoint(), "tcp://10.0.0.1:4101");
  EXPECT_THAT(Endpoints(config.peers),
              ElementsAre("tcp://10.0.0.2:4001", "tcp://app3.example.org:4005",
                          "tcp://[::1]:4006", "tcp://[fe80::1%eth0]:4001",
                          "tcp://[2001:db8::7]:4001"));
  EXPECT_EQ(config.peers[2].host, "::1");
  EXPECT_EQ(config.http_port, 5101);
  EXPECT_EQ(config.client_endpoint, "ipc:///tmp/cachemesh-4101.sock");
}

TEST(ConfigTest, EmptyMembersIsASingleNode) {
  EXPECT_THAT(Valid("cluster.hostname = a\ncluster.members =\n").peers,
              IsEmpty());
  EXPECT_THAT(Valid("cluster.hostname = a\ncluster.members =  \\t \n").peers,
              IsEmpty());
}

TEST(ConfigTest, MembersAcrossContinuationLines) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "cluster.members = b:4001,\\\n"
      "                  c:4001\n");
  EXPECT_THAT(Endpoints(config.peers),
              ElementsAre("tcp://b:4001", "tcp://c:4001"));
}

TEST(ConfigTest, Ipv6Self) {
  const Config config = Valid("cluster.hostname = [::1]\n");
  EXPECT_EQ(config.self.host, "::1");
  EXPECT_EQ(config.node.id, "[::1]:4001");
  EXPECT_EQ(Valid("cluster.hostname = fd00::5\n").self.host, "fd00::5");
}

// --- Legacy keys. ---

TEST(ConfigTest, LegacyKeysUpToTwentyInstancesWithGaps) {
  std::string text =
      "cluster.instance0.hostname = 10.0.0.100\n"
      "cluster.instance0.cache.port = 4500\n";
  // Listed out of order, with gaps at 4 and 13.
  for (int n = 20; n >= 1; --n) {
    if (n == 4 || n == 13) continue;
    absl::StrAppend(&text, "cluster.instance", n, ".hostname = 10.0.0.", n,
                    "\n");
    if (n % 2 == 0) {
      absl::StrAppend(&text, "cluster.instance", n, ".cache.port = ", 4000 + n,
                      "\n");
    }
  }
  const Config config = Valid(text);
  EXPECT_EQ(config.self.endpoint(), "tcp://10.0.0.100:4500");
  ASSERT_THAT(config.peers, SizeIs(18));
  std::vector<std::string> expected;
  for (int n = 1; n <= 20; ++n) {
    if (n == 4 || n == 13) continue;
    expected.push_back(
        absl::StrCat("tcp://10.0.0.", n, ":", n % 2 == 0 ? 4000 + n : 4001));
  }
  EXPECT_EQ(Endpoints(config.peers), expected);
  EXPECT_EQ(config.node.id, "10.0.0.100:4500");
  EXPECT_EQ(config.http_port, 5500);
}

TEST(ConfigTest, LegacyInstanceNumbersHaveNoLimit) {
  const Config config = Valid(
      "cluster.instance0.hostname = a\n"
      "cluster.instance123456789012345678901234567890.hostname = c\n"
      "cluster.instance99.hostname = b\n");
  EXPECT_THAT(Endpoints(config.peers),
              ElementsAre("tcp://b:4001", "tcp://c:4001"));
}

TEST(ConfigTest, LegacySelfOnly) {
  const Config config = Valid("cluster.instance0.hostname = solo\n");
  EXPECT_EQ(config.self.endpoint(), "tcp://solo:4001");
  EXPECT_THAT(config.peers, IsEmpty());
}

TEST(ConfigTest, LegacySettingsAreListed) {
  const Config config = Valid(
      "cluster.instance0.hostname = a\n"
      "cluster.instance2.hostname = b\n");
  const Setting* port = FindSetting(config, "cluster.instance2.cache.port");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->value, "4001");
  EXPECT_EQ(port->origin, "default");
  ASSERT_NE(FindSetting(config, "cluster.instance2.hostname"), nullptr);
  EXPECT_EQ(FindSetting(config, "cluster.instance2.hostname")->origin,
            "dhis.conf:2");
}

TEST(ConfigTest, RemoteObjectPortKeysAreAccepted) {
  Valid("cluster.hostname = a\ncluster.cache.remote.object.port = 5001\n");
  Valid(
      "cluster.instance0.hostname = a\n"
      "cluster.instance0.cache.remote.object.port = 5001\n");
}

TEST(ConfigTest, LegacyRemoteObjectPortDoesNotMixStyles) {
  Valid(
      "cluster.hostname = a\ncluster.instance0.cache.remote.object.port = 1\n");
}

// --- Which node, which style. ---

TEST(ConfigTest, NoClusterKeysIsAnError) {
  EXPECT_THAT(Errors("connection.url = jdbc:postgresql:dhis2\n"),
              ElementsAre("dhis.conf: cluster.hostname is not set: it must be "
                          "this node's address as its peers reach it (or use "
                          "the legacy cluster.instance0.hostname)"));
}

TEST(ConfigTest, MembersWithoutHostnameIsAnError) {
  EXPECT_THAT(
      Errors("cluster.members = b\n"),
      ElementsAre(StartsWith("dhis.conf: cluster.hostname is not set")));
}

TEST(ConfigTest, LegacyWithoutInstanceZeroIsAnError) {
  EXPECT_THAT(Errors("cluster.instance1.hostname = b\n"),
              ElementsAre(StartsWith(
                  "dhis.conf: cluster.instance0.hostname is not set")));
}

TEST(ConfigTest, LegacyPortWithoutHostnameIsAnError) {
  EXPECT_THAT(Errors("cluster.instance0.hostname = a\n"
                     "cluster.instance3.cache.port = 4003\n"),
              ElementsAre("dhis.conf:2: cluster.instance3.cache.port: is set "
                          "but cluster.instance3.hostname is not"));
}

TEST(ConfigTest, BothStylesAtOnceIsAnErrorNamingBothLines) {
  EXPECT_THAT(Errors("cluster.instance0.hostname = a\n"
                     "cluster.instance1.hostname = b\n"
                     "cluster.members = c\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:3: cluster.members: "
                                           "cannot be used together with "
                                           "cluster.instance0.hostname (line "
                                           "1)"),
                                HasSubstr("not both"))));
  EXPECT_THAT(
      Errors("cluster.hostname = a\n"
             "cluster.instance0.cache.port = 4001\n"),
      ElementsAre(StartsWith("dhis.conf:2: cluster.instance0.cache.port: "
                             "cannot be used together with "
                             "cluster.hostname (line 1)")));
}

// --- Hosts and ports. ---

TEST(ConfigTest, BadPortsAreErrors) {
  for (absl::string_view port : {"0", "65536", "abc", "-1", "40 01", "4001x",
                                 "999999", "", "1e3", "+4001"}) {
    EXPECT_THAT(
        Errors(absl::StrCat("cluster.hostname = a\n"
                            "cluster.cache.port = ",
                            port, "\n")),
        ElementsAre(AllOf(StartsWith("dhis.conf:2: cluster.cache.port: "),
                          HasSubstr("is not a port number (1..65535)"))))
        << port;
  }
  Valid("cluster.hostname = a\ncluster.cache.port = 1\n");
  Valid("cluster.hostname = a\ncluster.cache.port = 64535\n");
}

TEST(ConfigTest, BadMemberPortsAreErrors) {
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.members = b:4001, c:0\n"),
              ElementsAre(StartsWith("dhis.conf:2: cluster.members: item 2: "
                                     "\"0\" is not a port number")));
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.members = b:\n"),
              ElementsAre(HasSubstr("is not a port number")));
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.members = [::2]:x\n"),
              ElementsAre(HasSubstr("is not a port number")));
}

TEST(ConfigTest, BadLegacyPortIsAnError) {
  EXPECT_THAT(
      Errors("cluster.instance0.hostname = a\n"
             "cluster.instance1.hostname = b\n"
             "cluster.instance1.cache.port = 70000\n"),
      ElementsAre(StartsWith("dhis.conf:3: cluster.instance1.cache.port: "
                             "\"70000\" is not a port number")));
}

TEST(ConfigTest, EmptyHostnamesAreErrors) {
  EXPECT_THAT(
      Errors("cluster.hostname =\n"),
      ElementsAre("dhis.conf:1: cluster.hostname: the hostname is empty"));
  EXPECT_THAT(Errors("cluster.instance0.hostname = a\n"
                     "cluster.instance1.hostname =   \n"),
              ElementsAre("dhis.conf:2: cluster.instance1.hostname: the "
                          "hostname is empty"));
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.members = :4002\n"),
              ElementsAre("dhis.conf:2: cluster.members: item 1: the hostname "
                          "is empty"));
}

TEST(ConfigTest, EmptyMemberItemsAreErrors) {
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.members = b,,c,\n"),
              ElementsAre(StartsWith("dhis.conf:2: cluster.members: item 2 is "
                                     "empty"),
                          StartsWith("dhis.conf:2: cluster.members: item 4 is "
                                     "empty")));
}

TEST(ConfigTest, InvalidHostnamesAreErrors) {
  for (absl::string_view host : {"two words", "10.0.0.1:4001", "http://a",
                                 "a..b", "[::1", "[nope]", "a/b", "[]"}) {
    EXPECT_THAT(Errors(absl::StrCat("cluster.hostname = ", host, "\n")),
                ElementsAre(StartsWith("dhis.conf:1: cluster.hostname: ")))
        << host;
  }
}

TEST(ConfigTest, BareIpv6MemberMustUseBrackets) {
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.members = ::1\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:2: cluster.members: "),
                                HasSubstr("in brackets"))));
  EXPECT_THAT(
      Errors("cluster.hostname = a\ncluster.members = [::1]4001\n"),
      ElementsAre(StartsWith("dhis.conf:2: cluster.members: item 1: ")));
}

TEST(ConfigTest, DuplicateMembersAreErrors) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "cluster.members = b, c:4002, B:4001\n"),
              ElementsAre("dhis.conf:2: cluster.members: B:4001 is listed "
                          "twice"));
  EXPECT_THAT(Errors("cluster.instance0.hostname = a\n"
                     "cluster.instance1.hostname = b\n"
                     "cluster.instance2.cache.port = 4001\n"
                     "cluster.instance2.hostname = b\n"),
              ElementsAre("dhis.conf:4: cluster.instance2.hostname: b:4001 is "
                          "listed twice (also on line 2)"));
  // Same host, different ports: two members.
  EXPECT_THAT(Valid("cluster.hostname = a\ncluster.members = b:1, b:2\n").peers,
              SizeIs(2));
}

TEST(ConfigTest, SelfAsPeerIsAnError) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "cluster.members = b, A:4001\n"),
              ElementsAre("dhis.conf:2: cluster.members: A:4001 is this node "
                          "itself; list only its peers"));
  EXPECT_THAT(Errors("cluster.instance0.hostname = a\n"
                     "cluster.instance0.cache.port = 4002\n"
                     "cluster.instance5.hostname = a\n"
                     "cluster.instance5.cache.port = 4002\n"),
              ElementsAre(StartsWith("dhis.conf:3: cluster.instance5.hostname: "
                                     "a:4002 is this node itself")));
  // Same host, other port: a peer (two nodes on one machine).
  EXPECT_THAT(Valid("cluster.hostname = a\ncluster.members = a:4002\n").peers,
              SizeIs(1));
}

// --- Unknown and ignored keys. ---

TEST(ConfigTest, OtherDhis2KeysAreIgnored) {
  Valid(
      "connection.dialect = org.hibernate.dialect.PostgreSQLDialect\n"
      "connection.password = p${ss\n"
      "cluster.hostname = a\n");
}

TEST(ConfigTest, EscapeErrorsInIgnoredKeysStillCount) {
  // java.util.Properties (and so DHIS 2) would refuse the file too.
  EXPECT_THAT(Errors("cluster.hostname = a\nconnection.password = \\uZZZZ\n"),
              ElementsAre(StartsWith("dhis.conf:2: connection.password: "
                                     "invalid escape")));
}

TEST(ConfigTest, NotExpandedOutsideClusterAndCachemeshKeys) {
  const std::string path = WriteTempFile("ignored.conf",
                                         "cluster.hostname = a\n"
                                         "connection.password = ${NOT_SET}\n"
                                         "redis.host = ${ALSO_NOT_SET\n"
                                         "server.base.url = x\n"
                                         "clusterfoo = 1\n"
                                         "cachemesh = 2\n");
  const absl::StatusOr<Config> config = LoadConfig(path, FixedEnvironment({}));
  EXPECT_TRUE(config.ok()) << config.status();
}

TEST(ConfigTest, UnknownCachemeshKeyHasAHint) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "cachemesh.hearbeat.interval.ms = 100\n"),
              ElementsAre("dhis.conf:2: cachemesh.hearbeat.interval.ms: "
                          "unknown key; did you mean "
                          "`cachemesh.heartbeat.interval.ms`?"));
  EXPECT_THAT(Errors("cluster.hostname = a\ncachemesh.http.tokn = x\n"),
              ElementsAre(HasSubstr("did you mean `cachemesh.http.token`?")));
}

TEST(ConfigTest, UnknownClusterKeyHasAHint) {
  EXPECT_THAT(Errors("cluster.hostnme = a\n"),
              ElementsAre("dhis.conf: cluster.hostname is not set: it must be "
                          "this node's address as its peers reach it (or use "
                          "the legacy cluster.instance0.hostname)",
                          "dhis.conf:1: cluster.hostnme: unknown key; did you "
                          "mean `cluster.hostname`?"));
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.member = b\n"),
              ElementsAre(HasSubstr("did you mean `cluster.members`?")));
}

TEST(ConfigTest, UnknownLegacyKeyHintsAtThePattern) {
  EXPECT_THAT(Errors("cluster.instance0.hostname = a\n"
                     "cluster.instance7.cache.prot = 1\n"),
              ElementsAre("dhis.conf:2: cluster.instance7.cache.prot: unknown "
                          "key; did you mean `cluster.instance7.cache.port`?"));
  EXPECT_THAT(
      Errors("cluster.instance0.hostname = a\n"
             "cluster.instance01.hostname = b\n"),
      ElementsAre(HasSubstr("did you mean `cluster.instance1.hostname`?")));
  EXPECT_THAT(
      Errors("cluster.instance0.hostname = a\n"
             "cluster.instance.hostname = b\n"),
      ElementsAre(HasSubstr("did you mean `cluster.instanceN.hostname`?")));
  EXPECT_THAT(
      Errors("cluster.instance0.hostname = a\n"
             "cluster.instance1.port = 4001\n"),
      ElementsAre(HasSubstr("did you mean `cluster.instance1.cache.port`?")));
}

TEST(ConfigTest, FarOffUnknownKeyHasNoHint) {
  EXPECT_THAT(
      Errors("cluster.hostname = a\ncachemesh.completely.different = 1\n"),
      ElementsAre("dhis.conf:2: cachemesh.completely.different: "
                  "unknown key"));
  const std::string long_key =
      absl::StrCat("cachemesh.", std::string(100000, 'x'));
  EXPECT_THAT(
      Errors(absl::StrCat("cluster.hostname = a\n", long_key, " = 1\n")),
      ElementsAre(
          AllOf(HasSubstr("unknown key"), Not(HasSubstr("did you mean")))));
}

// --- cachemesh.* settings. ---

TEST(ConfigTest, EverySettingCanBeSet) {
  const Config config = Valid(
      "cluster.hostname = app1\n"
      "cachemesh.cluster.name = prod\n"
      "cachemesh.node.id = node-a\n"
      "cachemesh.bind.address = 10.0.0.1\n"
      "cachemesh.http.address = 127.0.0.1\n"
      "cachemesh.http.port = 9000\n"
      "cachemesh.http.token = s3cret\n"
      "cachemesh.app.health.url = http://127.0.0.1:8080/dhis/api/ping\n"
      "cachemesh.app.health.interval.ms = 2000\n"
      "cachemesh.app.health.timeout.ms = 700\n"
      "cachemesh.heartbeat.interval.ms = 50\n"
      "cachemesh.failure.phi.threshold = 10.5\n"
      "cachemesh.failure.acceptable.pause.ms = 0\n"
      "cachemesh.failure.min.stddev.ms = 30\n"
      "cachemesh.suspicion.min.ms = 300\n"
      "cachemesh.suspicion.max.ms = 300\n"
      "cachemesh.reap.after.ms = 1000\n"
      "cachemesh.batch.max.delay.us = 0\n"
      "cachemesh.batch.max.size = 64\n"
      "cachemesh.recovery.buffer = 64\n"
      "cachemesh.startup.sync.timeout.ms = 0\n"
      "cachemesh.client.endpoint = ipc:///run/cachemesh/app.sock\n"
      "cachemesh.events.buffer = 10\n"
      "cachemesh.log.level = DEBUG\n"
      "cachemesh.zmq.send.hwm = 0\n"
      "cachemesh.zmq.receive.hwm = 5\n"
      "cachemesh.zmq.heartbeat.interval.ms = 0\n"
      "cachemesh.zmq.heartbeat.timeout.ms = 0\n"
      "cachemesh.zmq.heartbeat.ttl.ms = 64999\n");
  EXPECT_EQ(config.node.cluster, "prod");
  EXPECT_EQ(config.node.id, "node-a");
  EXPECT_EQ(config.bind_address, "10.0.0.1");
  EXPECT_EQ(config.http_address, "127.0.0.1");
  EXPECT_EQ(config.http_port, 9000);
  EXPECT_EQ(config.http_token, "s3cret");
  EXPECT_EQ(config.app_health_url, "http://127.0.0.1:8080/dhis/api/ping");
  EXPECT_EQ(config.app_health_interval, absl::Milliseconds(2000));
  EXPECT_EQ(config.app_health_timeout, absl::Milliseconds(700));
  EXPECT_EQ(config.node.heartbeat_interval, absl::Milliseconds(50));
  EXPECT_EQ(config.node.failure_detector.phi_threshold, 10.5);
  EXPECT_EQ(config.node.failure_detector.acceptable_pause,
            absl::ZeroDuration());
  EXPECT_EQ(config.node.failure_detector.min_stddev, absl::Milliseconds(30));
  EXPECT_EQ(config.node.suspicion.min, absl::Milliseconds(300));
  EXPECT_EQ(config.node.suspicion.max, absl::Milliseconds(300));
  EXPECT_EQ(config.node.reap_after, absl::Milliseconds(1000));
  EXPECT_EQ(config.node.streams.batch_max_delay, absl::ZeroDuration());
  EXPECT_EQ(config.node.streams.batch_max_size, 64);
  EXPECT_EQ(config.node.streams.recovery_buffer, 64);
  EXPECT_EQ(config.node.startup_sync_timeout, absl::ZeroDuration());
  EXPECT_EQ(config.client_endpoint, "ipc:///run/cachemesh/app.sock");
  EXPECT_EQ(config.events_buffer, 10);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.mesh.send_hwm, 0);
  EXPECT_EQ(config.mesh.receive_hwm, 5);
  EXPECT_EQ(config.mesh.zmtp_heartbeat_interval, absl::ZeroDuration());
  EXPECT_EQ(config.mesh.zmtp_heartbeat_timeout, absl::ZeroDuration());
  EXPECT_EQ(config.mesh.zmtp_heartbeat_ttl, absl::Milliseconds(64999));
  EXPECT_EQ(FindSetting(config, "cachemesh.zmq.heartbeat.ttl.ms")->origin,
            "dhis.conf:29");
}

TEST(ConfigTest, EverySettingIsListedOnceWithItsOrigin) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "cachemesh.batch.max.size = 8\n");
  std::vector<std::string> keys;
  for (const Setting& setting : config.settings) keys.push_back(setting.key);
  // 3 cluster keys, every cachemesh key, then the 6 DHIS 2 redis.* keys.
  const size_t cachemesh_keys = Settings().size();
  ASSERT_THAT(keys, SizeIs(3 + cachemesh_keys + 6));
  EXPECT_EQ(keys[0], "cluster.hostname");
  EXPECT_EQ(keys[1], "cluster.cache.port");
  EXPECT_EQ(keys[2], "cluster.members");
  for (size_t i = 3; i < keys.size(); ++i) {
    EXPECT_THAT(keys[i], StartsWith(i < 3 + cachemesh_keys ? "cachemesh."
                                                           : "redis."))
        << i;
    for (size_t j = 0; j < i; ++j) EXPECT_NE(keys[i], keys[j]);
  }
  EXPECT_EQ(FindSetting(config, "cachemesh.batch.max.size")->value, "8");
  EXPECT_EQ(FindSetting(config, "cachemesh.batch.max.size")->origin,
            "dhis.conf:2");
  EXPECT_EQ(FindSetting(config, "cachemesh.failure.phi.threshold")->value, "8");
  EXPECT_EQ(FindSetting(config, "cachemesh.failure.phi.threshold")->origin,
            "default");
  EXPECT_EQ(FindSetting(config, "cachemesh.node.id")->value, "a:4001");
}

TEST(ConfigTest, OriginsNameEnvironmentVariables) {
  const Config config = Valid(
      "cluster.hostname = ${HOST}\n"
      "cachemesh.app.health.url = ${URL:-}\n"
      "cachemesh.cluster.name = ${PREFIX:-x}-${SUFFIX}\n",
      {{"HOST", "10.1.1.1"}, {"SUFFIX", "b"}});
  EXPECT_EQ(config.self.host, "10.1.1.1");
  EXPECT_EQ(config.node.cluster, "x-b");
  EXPECT_EQ(FindSetting(config, "cluster.hostname")->origin,
            "dhis.conf:1, environment ${HOST}");
  EXPECT_EQ(FindSetting(config, "cachemesh.app.health.url")->origin,
            "dhis.conf:2, ${URL} unset: its default");
  EXPECT_EQ(FindSetting(config, "cachemesh.cluster.name")->origin,
            "dhis.conf:3, ${PREFIX} unset: its default, environment ${SUFFIX}");
}

TEST(ConfigTest, MalformedNumbersAreErrors) {
  struct Case {
    const char* key;
    const char* value;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"cachemesh.heartbeat.interval.ms", "abc",
            "\"abc\" is not a whole number of milliseconds"},
           {"cachemesh.heartbeat.interval.ms", "100ms",
            "(the unit is part of the key name: write the number only)"},
           {"cachemesh.heartbeat.interval.ms", "1.5", "is not a whole number"},
           {"cachemesh.heartbeat.interval.ms", "", "is not a whole number"},
           {"cachemesh.heartbeat.interval.ms", "0",
            "\"0\" is out of range: must be from 1 to 86400000 milliseconds"},
           {"cachemesh.reap.after.ms", "86400001", "is out of range"},
           {"cachemesh.reap.after.ms", "99999999999999999999",
            "is not a whole number"},
           {"cachemesh.failure.acceptable.pause.ms", "-1", "is out of range"},
           {"cachemesh.batch.max.delay.us", "1000001",
            "must be from 0 to 1000000 microseconds"},
           {"cachemesh.batch.max.size", "0", "must be from 1 to 2147483647"},
           {"cachemesh.events.buffer", "2147483648", "is out of range"},
           {"cachemesh.zmq.send.hwm", "lots", "is not a whole number"},
           {"cachemesh.failure.phi.threshold", "high", "is not a number"},
           {"cachemesh.failure.phi.threshold", "inf", "is not a number"},
           {"cachemesh.failure.phi.threshold", "nan", "is not a number"},
           {"cachemesh.failure.phi.threshold", "0", "must be greater than 0"},
           {"cachemesh.failure.phi.threshold", "-2", "must be greater than 0"},
           {"cachemesh.http.port", "0", "is not a port number"},
           {"cachemesh.log.level", "verbose", "is not a log level"},
           {"cachemesh.cluster.name", "", "must not be empty"},
           {"cachemesh.node.id", "a b", "must not contain whitespace"},
           {"cachemesh.bind.address", "not an address", "is not a valid"},
           {"cachemesh.http.address", "*", "write 0.0.0.0"},
           {"cachemesh.app.health.url", "ftp://x/", "http:// or https://"},
           {"cachemesh.app.health.url", "http://", "no host"},
           {"cachemesh.app.health.url", "http://a b/", "whitespace"},
           {"cachemesh.client.endpoint", "ipc://", "has no socket path"},
           {"cachemesh.client.endpoint", "tcp://127.0.0.1",
            "must be ipc://PATH"},
           {"cachemesh.client.endpoint", "inproc://x", "must be ipc://PATH"},
       }) {
    EXPECT_THAT(Errors(absl::StrCat("cluster.hostname = a\n", c.key, " = ",
                                    c.value, "\n")),
                ElementsAre(AllOf(
                    StartsWith(absl::StrCat("dhis.conf:2: ", c.key, ": ")),
                    HasSubstr(c.message))))
        << c.key << " = " << c.value;
  }
}

TEST(ConfigTest, AddressesAcceptIpv6WithOrWithoutBrackets) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "cachemesh.bind.address = [::]\n"
      "cachemesh.http.address = ::1\n"
      "cachemesh.app.health.url = https://[::1]:8443/api/ping\n");
  EXPECT_EQ(config.bind_address, "::");
  EXPECT_EQ(config.http_address, "::1");
}

// The app channel is local and unauthenticated: start-up refuses tcp://, so
// the reader does too, with the channel's own words.
TEST(ConfigTest, TcpAppEndpointIsRefused) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "cachemesh.client.endpoint = tcp://127.0.0.1:7000\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:2: "
                                           "cachemesh.client.endpoint: "),
                                HasSubstr("must be ipc://"),
                                HasSubstr("unauthenticated"))));
}

TEST(ConfigTest, IpcPathMustFitASocketAddress) {
  const std::string path(108, 'p');
  EXPECT_THAT(Errors(absl::StrCat("cluster.hostname = a\n"
                                  "cachemesh.client.endpoint = ipc:///",
                                  path, "\n")),
              ElementsAre(HasSubstr("the limit is 107")));
  Valid(absl::StrCat("cluster.hostname = a\ncachemesh.client.endpoint = ipc://",
                     std::string(107, 'p'), "\n"));
}

TEST(ConfigTest, ZmqHeartbeatTtlMustStayBelow65000) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "cachemesh.zmq.heartbeat.ttl.ms = 65000\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:2: "
                                           "cachemesh.zmq.heartbeat.ttl.ms: "),
                                HasSubstr("#4226"))));
  EXPECT_EQ(Valid("cluster.hostname = a\ncachemesh.zmq.heartbeat.ttl.ms = 0\n")
                .mesh.zmtp_heartbeat_ttl,
            absl::ZeroDuration());
}

TEST(ConfigTest, SuspicionMinMustNotExceedMax) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "cachemesh.suspicion.min.ms = 900\n"),
              ElementsAre("dhis.conf:2: cachemesh.suspicion.min.ms: 900 "
                          "exceeds cachemesh.suspicion.max.ms (600)"));
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "cachemesh.suspicion.max.ms = 100\n"),
              ElementsAre("dhis.conf:2: cachemesh.suspicion.max.ms: 100 is "
                          "below cachemesh.suspicion.min.ms (150)"));
}

TEST(ConfigTest, RecoveryBufferMustHoldABatch) {
  EXPECT_THAT(Errors("cluster.hostname = a\ncachemesh.recovery.buffer = 100\n"),
              ElementsAre(StartsWith("dhis.conf:2: cachemesh.recovery.buffer: "
                                     "100 is below cachemesh.batch.max.size "
                                     "(512)")));
  EXPECT_THAT(
      Errors("cluster.hostname = a\ncachemesh.batch.max.size = 9000\n"),
      ElementsAre(StartsWith("dhis.conf:2: cachemesh.batch.max.size: "
                             "9000 exceeds cachemesh.recovery.buffer")));
}

TEST(ConfigTest, HttpPortMustDifferFromTheCachePort) {
  EXPECT_THAT(Errors("cluster.hostname = a\ncachemesh.http.port = 4001\n"),
              ElementsAre("dhis.conf:2: cachemesh.http.port: 4001 is also "
                          "this node's cache port"));
}

TEST(ConfigTest, HttpPortDefaultMustBeAPort) {
  EXPECT_THAT(Errors("cluster.hostname = a\ncluster.cache.port = 65000\n"),
              ElementsAre("dhis.conf: cachemesh.http.port is not set and its "
                          "default, the cache port 65000 + 1000 = 66000, is "
                          "not a port number: set it"));
  EXPECT_EQ(Valid("cluster.hostname = a\ncluster.cache.port = 65000\n"
                  "cachemesh.http.port = 8080\n")
                .http_port,
            8080);
}

TEST(ConfigTest, HealthTimeoutAboveIntervalIsAWarning) {
  const Config config =
      Valid("cluster.hostname = a\ncachemesh.app.health.timeout.ms = 1500\n");
  ASSERT_THAT(config.warnings, SizeIs(1));
  EXPECT_THAT(config.warnings[0],
              StartsWith("dhis.conf:2: cachemesh.app.health.timeout.ms (1500) "
                         "exceeds cachemesh.app.health.interval.ms (1000)"));
}

TEST(ConfigTest, DuplicateKeysAreWarningsAndTheLastWins) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "cachemesh.cluster.name = one\n"
      "cachemesh.cluster.name = two\n");
  EXPECT_EQ(config.node.cluster, "two");
  EXPECT_EQ(FindSetting(config, "cachemesh.cluster.name")->origin,
            "dhis.conf:3");
  EXPECT_THAT(config.warnings,
              ElementsAre(AllOf(StartsWith("dhis.conf:3: duplicate key "
                                           "cachemesh.cluster.name"),
                                HasSubstr("line 2"))));
}

// --- All errors at once. ---

TEST(ConfigTest, EveryErrorIsReportedInLineOrder) {
  const std::vector<std::string> errors = Errors(
      "cachemesh.log.level = loud\n"                 // 1
      "cluster.hostname = a\n"                       // 2
      "cluster.cache.port = 99999\n"                 // 3
      "cluster.members = b, b, c:0\n"                // 4
      "cachemesh.batch.max.size = many\n"            // 5
      "cachemesh.frobnicate = yes\n"                 // 6
      "cachemesh.app.health.url = nope\n"            // 7
      "cachemesh.zmq.heartbeat.ttl.ms = 100000\n");  // 8
  ASSERT_THAT(errors, SizeIs(8));
  EXPECT_THAT(errors[0], StartsWith("dhis.conf:1: cachemesh.log.level: "));
  EXPECT_THAT(errors[1], StartsWith("dhis.conf:3: cluster.cache.port: "));
  EXPECT_THAT(errors[2], StartsWith("dhis.conf:4: cluster.members: b:4001 is "
                                    "listed twice"));
  EXPECT_THAT(errors[3], StartsWith("dhis.conf:4: cluster.members: item 3: "));
  EXPECT_THAT(errors[4], StartsWith("dhis.conf:5: cachemesh.batch.max.size: "));
  EXPECT_THAT(errors[5], StartsWith("dhis.conf:6: cachemesh.frobnicate: "));
  EXPECT_THAT(errors[6], StartsWith("dhis.conf:7: cachemesh.app.health.url: "));
  EXPECT_THAT(errors[7],
              StartsWith("dhis.conf:8: cachemesh.zmq.heartbeat.ttl.ms: "));
}

TEST(ConfigTest, ParseAndResolveErrorsComeTogetherFromLoadConfig) {
  const std::string path =
      WriteTempFile("mixed-errors.conf",
                    "cluster.hostname = a\n"
                    "cluster.cache.port = ${CACHE_PORT}\n"
                    "cachemesh.heartbeat.interval.ms = \\u00\n"
                    "cachemesh.reap.after.ms = soon\n");
  const absl::StatusOr<Config> config = LoadConfig(path, FixedEnvironment({}));
  ASSERT_FALSE(config.ok());
  const std::vector<std::string> errors =
      absl::StrSplit(config.status().message(), '\n');
  // Each malformed value is reported once, by the parser.
  ASSERT_THAT(errors, SizeIs(3));
  EXPECT_THAT(errors[0], StartsWith(absl::StrCat(path,
                                                 ":2: cluster.cache.port: "
                                                 "environment variable "
                                                 "${CACHE_PORT} is not "
                                                 "set")));
  EXPECT_THAT(errors[1],
              StartsWith(absl::StrCat(path,
                                      ":3: cachemesh.heartbeat.interval.ms: "
                                      "invalid escape")));
  EXPECT_THAT(errors[2],
              StartsWith(absl::StrCat(path, ":4: cachemesh.reap.after.ms: ")));
}

TEST(ConfigTest, LoadConfigReadsAFile) {
  const std::string path = WriteTempFile("good.conf",
                                         "\xEF\xBB\xBF# A DHIS 2 node\r\n"
                                         "cluster.hostname = ${HOST}\r\n"
                                         "cluster.members = b:4002");
  const absl::StatusOr<Config> config =
      LoadConfig(path, FixedEnvironment({{"HOST", "a"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->file, path);
  EXPECT_EQ(config->self.endpoint(), "tcp://a:4001");
  EXPECT_THAT(Endpoints(config->peers), ElementsAre("tcp://b:4002"));
}

TEST(ConfigTest, LoadConfigReportsAnUnreadableFile) {
  const std::string path = TempPath("missing/dhis.conf");
  const absl::StatusOr<Config> config = LoadConfig(path, FixedEnvironment({}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            absl::StrCat(path, ": cannot read: No such file or directory"));
}

// Random lines made of real keys and odd values: errors or a config, never a
// crash.
TEST(ConfigTest, RandomConfigurationsNeverCrash) {
  const std::vector<std::string> keys = {"cluster.hostname",
                                         "cluster.cache.port",
                                         "cluster.members",
                                         "cluster.instance0.hostname",
                                         "cluster.instance1.hostname",
                                         "cluster.instance1.cache.port",
                                         "cachemesh.http.port",
                                         "cachemesh.suspicion.min.ms",
                                         "cachemesh.bind.address",
                                         "cachemesh.client.endpoint",
                                         "cachemesh.app.health.url",
                                         "cachemesh.failure.phi.threshold",
                                         "cachemesh.heartbeat.intervl.ms"};
  const std::vector<std::string> values = {
      "",        "a",          "4001",        "0",        "65536",
      "[::1]",   "[::1]:4002", "a,b,,",       "::1",      "${X}",
      "${X:-1}", "\\u12",      "http://a:1/", "ipc:///x", "-5",
      "1e9",     "b:4001, b",  "[",           "]:1",      "a:b:c",
      "\xff\xfe"};
  std::mt19937 random(4001);
  std::uniform_int_distribution<size_t> pick_key(0, keys.size() - 1);
  std::uniform_int_distribution<size_t> pick_value(0, values.size() - 1);
  std::uniform_int_distribution<int> lines(0, 8);
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::string text;
    const int count = lines(random);
    for (int i = 0; i < count; ++i) {
      absl::StrAppend(&text, keys[pick_key(random)], " = ",
                      values[pick_value(random)], "\n");
    }
    const absl::StatusOr<Config> config = Resolve(text, {{"X", "x"}});
    if (config.ok()) {
      ASSERT_FALSE(config->self.host.empty()) << text;
      ASSERT_GE(config->self.port, 1);
    } else {
      for (absl::string_view line :
           absl::StrSplit(config.status().message(), '\n')) {
        ASSERT_THAT(std::string(line), StartsWith("dhis.conf")) << text;
      }
    }
  }
}

// --- The --check_config report. ---

TEST(FormatConfigTest, ShowsNodePeersAndEverySetting) {
  const Config config = Valid(
      "cluster.hostname = 10.0.0.1\n"
      "cluster.members = 10.0.0.2, [::2]:4003\n"
      "cachemesh.cluster.name = prod\n");
  const std::string report = FormatConfig(config);
  EXPECT_THAT(report, StartsWith("cachemesh configuration from dhis.conf\n"));
  EXPECT_THAT(report, HasSubstr("this node  tcp://10.0.0.1:4001  (node id "
                                "10.0.0.1:4001, cluster prod)\n"));
  EXPECT_THAT(report, HasSubstr("peers (2)  tcp://10.0.0.2:4001\n"
                                "           tcp://[::2]:4003\n"));
  for (const Setting& setting : config.settings) {
    EXPECT_THAT(report, HasSubstr(setting.key));
  }
}

TEST(FormatConfigTest, ColumnsAreAligned) {
  const Config config = Valid("cluster.hostname = a\n");
  const std::string report = FormatConfig(config);
  const std::vector<std::string> lines = absl::StrSplit(report, '\n');
  size_t header = 0;
  while (header < lines.size() && !absl::StartsWith(lines[header], "KEY ")) {
    ++header;
  }
  ASSERT_LT(header, lines.size());
  const size_t value_column = lines[header].find("VALUE");
  const size_t from_column = lines[header].find("FROM");
  ASSERT_EQ(lines.size(), header + 1 + config.settings.size() + 1);
  for (size_t i = 0; i < config.settings.size(); ++i) {
    const std::string& line = lines[header + 1 + i];
    EXPECT_EQ(line.substr(value_column - 2, 2), "  ") << line;
    EXPECT_NE(line[value_column], ' ') << line;
    EXPECT_EQ(line.substr(from_column), config.settings[i].origin) << line;
  }
}

TEST(FormatConfigTest, SingleNodeAndHiddenToken) {
  const Config config =
      Valid("cluster.hostname = a\ncachemesh.http.token = hunter2\n");
  const std::string report = FormatConfig(config);
  EXPECT_THAT(report, HasSubstr("peers      none (a single-node cluster)\n"));
  EXPECT_THAT(report, Not(HasSubstr("hunter2")));
  EXPECT_THAT(report, HasSubstr("(set, hidden)"));
}

TEST(FormatConfigTest, ShowsWarnings) {
  const Config config = Valid("cluster.hostname = a\ncluster.hostname = b\n");
  EXPECT_THAT(FormatConfig(config),
              HasSubstr("\nwarnings (1)\n  dhis.conf:2: duplicate key "
                        "cluster.hostname"));
}

TEST(FormatConfigTest, EmptyValuesAreQuoted) {
  const std::string report =
      FormatConfig(Valid("cluster.hostname = a\ncachemesh.http.token =\n"));
  const size_t line_start = report.find("\ncachemesh.http.token ");
  ASSERT_NE(line_start, std::string::npos);
  const std::string line = report.substr(
      line_start + 1, report.find('\n', line_start + 1) - line_start - 1);
  EXPECT_THAT(line, HasSubstr(" \"\" "));
  EXPECT_THAT(line, HasSubstr("dhis.conf:2"));
}

}  // namespace
}  // namespace cachemesh

namespace cachemesh {
namespace {

// --- The Redis-protocol endpoint: DHIS 2's redis.* keys. ---

TEST(RedisEndpointTest, OffUnlessDhis2TurnsInvalidationOn) {
  const Config config = Valid("cluster.hostname = a\n");
  EXPECT_FALSE(config.redis.enabled);
  EXPECT_EQ(config.redis.because,
            "redis.cache.invalidation.enabled is off");
}

TEST(RedisEndpointTest, ServesDhis2sLocalhostRedisWithItsDefaults) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "redis.cache.invalidation.enabled = on\n");  // 2
  EXPECT_TRUE(config.redis.enabled);
  EXPECT_THAT(config.redis.addresses, ElementsAre("127.0.0.1", "::1"));
  EXPECT_EQ(config.redis.port, 6379);
  EXPECT_EQ(config.redis.password, "");
  EXPECT_EQ(config.redis.because,
            "redis.cache.invalidation.enabled = on (dhis.conf:2)");
  EXPECT_THAT(FormatConfig(config),
              HasSubstr("serves the Redis protocol on 127.0.0.1:6379 and "
                        "[::1]:6379"));
}

TEST(RedisEndpointTest, ReadsTheValuesAsDhis2Does) {
  // DHIS 2 keeps an unset ${VAR} as text (commons-text StrSubstitutor), so
  // the password it sends is the literal text, and so is cachemesh's.
  const Config config = Valid(
      "cluster.hostname = a\n"
      "redis.cache.invalidation.enabled = TRUE\n"
      "redis.host = 127.0.0.1\n"
      "redis.port = ${REDIS_PORT}\n"
      "redis.password = p${UNSET}w\\u0021 ${X\n",
      {{"REDIS_PORT", "6380"}});
  EXPECT_TRUE(config.redis.enabled);
  EXPECT_THAT(config.redis.addresses, ElementsAre("127.0.0.1"));
  EXPECT_EQ(config.redis.port, 6380);
  EXPECT_EQ(config.redis.password, "p${UNSET}w! ${X");
  EXPECT_THAT(FormatConfig(config), Not(HasSubstr("p${UNSET}")));
}

TEST(RedisEndpointTest, AnotherMachinesRedisIsLeftAlone) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "redis.cache.invalidation.enabled = on\n"
      "redis.host = redis.example.org\n"
      "redis.enabled = on\n");
  EXPECT_FALSE(config.redis.enabled);
  EXPECT_THAT(config.redis.because, HasSubstr("is another machine"));
}

TEST(RedisEndpointTest, RefusesWhatOnlyARealRedisCanDo) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "redis.cache.invalidation.enabled = on\n"
                     "redis.enabled = on\n"
                     "redis.use.ssl = on\n"),
              ElementsAre(AllOf(StartsWith("dhis.conf:3: redis.enabled: is on"),
                                HasSubstr("sessions, leader election")),
                          AllOf(StartsWith("dhis.conf:4: redis.use.ssl: is on"),
                                HasSubstr("plain text on loopback"))));
}

TEST(RedisEndpointTest, PortMustBeFreeOfTheOthers) {
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "redis.cache.invalidation.enabled = on\n"
                     "redis.port = 4001\n"),
              ElementsAre("dhis.conf:3: redis.port: 4001 is also this node's "
                          "cache port"));
  EXPECT_THAT(Errors("cluster.hostname = a\n"
                     "redis.cache.invalidation.enabled = on\n"
                     "redis.port = 63 79\n"),
              ElementsAre(StartsWith("dhis.conf:3: redis.port: \"63 79\" is "
                                     "not a port number")));
}

TEST(RedisEndpointTest, CachemeshKeyTurnsItOnOrOff) {
  const Config on = Valid("cluster.hostname = a\ncachemesh.redis.enabled = on\n");
  EXPECT_TRUE(on.redis.enabled);
  EXPECT_EQ(on.redis.because, "cachemesh.redis.enabled = on (dhis.conf:2)");
  const Config off = Valid(
      "cluster.hostname = a\nredis.cache.invalidation.enabled = on\n"
      "cachemesh.redis.enabled = off\n");
  EXPECT_FALSE(off.redis.enabled);
  EXPECT_THAT(Errors("cluster.hostname = a\nredis.host = db1\n"
                     "cachemesh.redis.enabled = on\n"),
              ElementsAre(StartsWith("dhis.conf:3: cachemesh.redis.enabled: is "
                                     "on, but redis.host = db1 is not this "
                                     "machine's loopback")));
}

TEST(RedisEndpointTest, WarnsWhenNothingCanFlushTheApp) {
  const Config config = Valid(
      "cluster.hostname = a\nredis.cache.invalidation.enabled = on\n");
  EXPECT_THAT(config.warnings,
              ElementsAre(HasSubstr("cachemesh.flush.url is not set")));
}

TEST(RedisEndpointTest, AnErrorInThePasswordQuotesNothingOfIt) {
  const absl::StatusOr<Config> config =
      Resolve("cluster.hostname = a\nredis.password = pa\\u12ss\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("redis.password: invalid escape (in a secret value)"));
  EXPECT_THAT(config.status().message(), Not(HasSubstr("12ss")));
}

TEST(FlushActionConfigTest, WarnsWhenTheUrlIsAnotherMachine) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "cachemesh.flush.url = http://db.example.org:8080/api/x\n");
  EXPECT_THAT(config.warnings,
              ElementsAre(HasSubstr("names another machine")));
  EXPECT_THAT(Valid("cluster.hostname = a\n"
                    "cachemesh.flush.url = http://[::1]:8080/x\n")
                  .warnings,
              IsEmpty());
}

TEST(FlushActionConfigTest, TokenComesFromTheEnvironmentAndIsNeverShown) {
  const Config config = Valid(
      "cluster.hostname = a\n"
      "cachemesh.flush.url = http://127.0.0.1:8080/api/maintenance/cacheClear\n",
      {{"CACHEMESH_FLUSH_TOKEN", "d2p_secret"}});
  EXPECT_EQ(config.flush_authorization, "ApiToken d2p_secret");
  EXPECT_EQ(config.flush_method, "POST");
  const std::string report = FormatConfig(config);
  EXPECT_THAT(report, HasSubstr("POST http://127.0.0.1:8080/api/maintenance/"
                                "cacheClear, token from $CACHEMESH_FLUSH_TOKEN "
                                "(hidden)"));
  EXPECT_THAT(report, Not(HasSubstr("d2p_secret")));
  EXPECT_THAT(Errors("cluster.hostname = a\ncachemesh.flush.token.env = 1X\n"),
              ElementsAre(HasSubstr("is not an environment variable name")));
}

}  // namespace
}  // namespace cachemesh
