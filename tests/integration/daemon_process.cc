#include "tests/integration/daemon_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/subprocess.h"

namespace cachemesh::testing {
namespace {

std::string DaemonBinary() {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "cachemesh",
                      "/service/cachemeshd");
}

std::string MakeTempDir(const std::string& name) {
  const char* base = getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base ? base : "/tmp", "/", name, ".XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << strerror(errno);
  }
  return pattern;
}

httplib::Client MakeClient(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(2, 0);
  return client;
}

DaemonProcess::Reply ToReply(const httplib::Result& result) {
  if (!result) return {};
  return {result->status, result->body};
}

}  // namespace

int PickFreePort() {
  // The kernel may hand a released port out again at once; a port given to
  // one daemon of this test must not go to another.
  static absl::Mutex mutex;
  static auto* const given = new absl::flat_hash_set<int>();
  absl::MutexLock lock(&mutex);
  for (;;) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
            0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "no free port: " << strerror(errno);
    }
    close(fd);
    const int port = ntohs(address.sin_port);
    if (given->insert(port).second) return port;
  }
}

DaemonProcess::DaemonProcess(DaemonSpec spec)
    : spec_(std::move(spec)), dir_(MakeTempDir(spec_.id)) {}

DaemonProcess::~DaemonProcess() {
  process_.reset();
  unlink(IpcPath().c_str());
  unlink((IpcPath() + ".events").c_str());
}

std::string DaemonProcess::IpcPath() const {
  // Short, under /tmp: TEST_TMPDIR is longer than an ipc path may be.
  return absl::StrCat("/tmp/cachemesh-it-", getpid(), "-", spec_.cache_port,
                      ".sock");
}

std::string DaemonProcess::address() const {
  return absl::StrCat(spec_.host, ":", spec_.cache_port);
}

std::string DaemonProcess::config_path() const { return dir_ + "/dhis.conf"; }

void DaemonProcess::WriteConfig() const {
  {
    std::ofstream config(config_path());
    config << "# Written by the integration test.\n"
           << "cluster.hostname = " << spec_.host << "\n"
           << "cluster.cache.port = " << spec_.cache_port << "\n";
    if (!spec_.members.empty()) {
      config << "cluster.members = " << absl::StrJoin(spec_.members, ",")
             << "\n";
    }
    config << "cachemesh.cluster.name = " << spec_.cluster << "\n"
           << "cachemesh.node.id = " << spec_.id << "\n"
           << "cachemesh.bind.address = " << spec_.host << "\n"
           << "cachemesh.http.address = 127.0.0.1\n"
           << "cachemesh.http.port = " << spec_.http_port << "\n"
           << "cachemesh.client.endpoint = ipc://" << IpcPath() << "\n"
           << "cachemesh.log.level = debug\n";
    for (const std::string& line : spec_.extra_lines) config << line << "\n";
  }
}

void DaemonProcess::SetExtraLines(std::vector<std::string> extra_lines) {
  spec_.extra_lines = std::move(extra_lines);
  WriteConfig();
}

DaemonProcess::Exit DaemonProcess::CheckConfig() const {
  WriteConfig();
  const std::string output_path = dir_ + "/check_config.out";
  const std::string command =
      absl::StrCat(DaemonBinary(), " --config=", config_path(),
                   " --check_config >", output_path, " 2>&1");
  const int status = std::system(command.c_str());
  std::ifstream in(output_path);
  std::stringstream output;
  output << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output.str()};
}

std::optional<int> DaemonProcess::WaitForExit(absl::Duration timeout) {
  if (!running()) return std::nullopt;
  const std::optional<int> code = process_->WaitForExit(timeout);
  if (code.has_value()) process_.reset();
  return code;
}

void DaemonProcess::Start() {
  WriteConfig();
  std::vector<std::string> arguments = {DaemonBinary(),
                                        "--config=" + config_path()};
  arguments.insert(arguments.end(), spec_.flags.begin(), spec_.flags.end());
  process_ = std::make_unique<Subprocess>(std::move(arguments), dir_ + "/log");
}

std::optional<absl::Duration> DaemonProcess::Signal(int signal,
                                                    absl::Duration timeout) {
  if (!running()) return std::nullopt;
  const absl::Time sent = absl::Now();
  process_->Signal(signal);
  if (signal != SIGTERM && signal != SIGKILL && signal != SIGINT) {
    return std::nullopt;
  }
  const std::optional<int> code = process_->WaitForExit(timeout);
  const std::optional<absl::Duration> took =
      code.has_value() ? std::optional<absl::Duration>(absl::Now() - sent)
                       : std::nullopt;
  exit_code_ = code.value_or(-1);
  process_.reset();  // Kills it with -9 if it is still running.
  return took;
}

std::string DaemonProcess::log() const { return ReadFile(dir_ + "/log"); }

DaemonProcess::Reply DaemonProcess::Get(const std::string& path) const {
  httplib::Client client = MakeClient(spec_.http_port);
  return ToReply(client.Get(path.c_str()));
}

DaemonProcess::Reply DaemonProcess::Post(const std::string& path,
                                         const std::string& body) const {
  httplib::Client client = MakeClient(spec_.http_port);
  return ToReply(client.Post(path.c_str(), body, "application/json"));
}

DaemonProcess::Reply DaemonProcess::Delete(const std::string& path) const {
  httplib::Client client = MakeClient(spec_.http_port);
  return ToReply(client.Delete(path.c_str()));
}

std::optional<v1::MemberList> DaemonProcess::Members() const {
  const Reply reply = Get("/v1/members");
  v1::MemberList members;
  if (reply.status != 200 ||
      !google::protobuf::util::JsonStringToMessage(reply.body, &members)
           .ok()) {
    return std::nullopt;
  }
  return members;
}

v1::MemberState DaemonProcess::StateOf(const std::string& id) const {
  std::optional<v1::MemberList> members = Members();
  if (!members.has_value()) return v1::MEMBER_STATE_UNSPECIFIED;
  for (const v1::MemberView& member : members->members()) {
    if (member.id() == id) return member.state();
  }
  return v1::MEMBER_STATE_UNSPECIFIED;
}

SseReader::SseReader(int http_port, uint64_t last_event_id)
    : thread_([this, http_port, last_event_id] {
        Run(http_port, last_event_id);
      }) {
  WaitUntil([this] { return connected(); }, absl::Seconds(5));
}

SseReader::~SseReader() {
  stop_ = true;
  {
    absl::MutexLock lock(&mutex_);
    if (client_ != nullptr) client_->stop();
  }
  thread_.join();
}

void SseReader::Run(int http_port, uint64_t last_event_id) {
  httplib::Client client("127.0.0.1", http_port);
  client.set_read_timeout(60, 0);
  {
    absl::MutexLock lock(&mutex_);
    client_ = &client;
  }
  httplib::Headers headers;
  if (last_event_id != 0) {
    headers.emplace("Last-Event-ID", absl::StrCat(last_event_id));
  }
  std::string buffer;
  client.Get("/v1/invalidations/stream", headers,
             [&](const char* data, size_t length) {
               absl::MutexLock lock(&mutex_);
               connected_ = true;  // The server greets with a comment.
               buffer.append(data, length);
               ParseEvents(buffer);
               return !stop_;
             });
  absl::MutexLock lock(&mutex_);
  client_ = nullptr;
}

void SseReader::ParseEvents(std::string& buffer) {
  size_t end;
  while ((end = buffer.find("\n\n")) != std::string::npos) {
    Event event;
    std::string data_line;
    for (absl::string_view line :
         absl::StrSplit(buffer.substr(0, end), '\n')) {
      if (absl::ConsumePrefix(&line, "id: ")) {
        (void)absl::SimpleAtoi(line, &event.id);
      } else if (absl::ConsumePrefix(&line, "event: ")) {
        event.type = std::string(line);
      } else if (absl::ConsumePrefix(&line, "data: ")) {
        data_line = std::string(line);
      }
    }
    buffer.erase(0, end + 2);
    if (data_line.empty()) continue;  // A comment: greeting or heartbeat.
    if (google::protobuf::util::JsonStringToMessage(data_line, &event.event)
            .ok()) {
      events_.push_back(std::move(event));
    }
  }
}

std::vector<SseReader::Event> SseReader::events() const {
  absl::MutexLock lock(&mutex_);
  return events_;
}

bool SseReader::connected() const {
  absl::MutexLock lock(&mutex_);
  return connected_;
}

bool SseReader::WaitForCount(size_t count, absl::Duration timeout) const {
  return WaitUntil(
      [&] {
        absl::MutexLock lock(&mutex_);
        return events_.size() >= count;
      },
      timeout);
}

}  // namespace cachemesh::testing
