// End-to-end tests of the HTTP API: a real HttpServer on 127.0.0.1:<any>
// with a fake backend, driven by httplib::Client.
#include "service/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/fixtures.h"
#include "httplib.h"
#include "proto/cachemesh.pb.h"
#include "service/event_log.h"
#include "service/health.h"
#include "service/http_backend.h"
#include "service/metrics.h"
#include "service/snapshot.h"

namespace cachemesh {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::Duration kAwait = absl::Seconds(10);
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

class FakeClock {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mutex_);
    return now_;
  }
  void Set(absl::Time now) {
    absl::MutexLock lock(&mutex_);
    now_ = now;
  }

 private:
  absl::Mutex mutex_;
  absl::Time now_ ABSL_GUARDED_BY(mutex_) = kNow;
};

class FakeBackend : public HttpBackend {
 public:
  std::shared_ptr<const NodeSnapshot> Snapshot() override {
    absl::MutexLock lock(&mutex_);
    return snapshot_;
  }
  absl::Status Publish(v1::InvalidationList list) override {
    absl::MutexLock lock(&mutex_);
    if (!publish_status_.ok()) return publish_status_;
    published_.push_back(std::move(list));
    return absl::OkStatus();
  }
  absl::Status SetDraining(bool draining) override {
    absl::MutexLock lock(&mutex_);
    if (!drain_status_.ok()) return drain_status_;
    draining_ = draining;
    return absl::OkStatus();
  }
  bool draining() override {
    absl::MutexLock lock(&mutex_);
    return draining_;
  }
  AppHealthState AppHealth() override {
    absl::MutexLock lock(&mutex_);
    return app_;
  }

  void set_snapshot(NodeSnapshot snapshot) {
    absl::MutexLock lock(&mutex_);
    snapshot_ = std::make_shared<const NodeSnapshot>(std::move(snapshot));
  }
  void set_publish_status(absl::Status status) {
    absl::MutexLock lock(&mutex_);
    publish_status_ = std::move(status);
  }
  void set_drain_status(absl::Status status) {
    absl::MutexLock lock(&mutex_);
    drain_status_ = std::move(status);
  }
  void set_app(AppHealthState app) {
    absl::MutexLock lock(&mutex_);
    app_ = std::move(app);
  }
  std::vector<v1::InvalidationList> published() {
    absl::MutexLock lock(&mutex_);
    return published_;
  }

 private:
  absl::Mutex mutex_;
  std::shared_ptr<const NodeSnapshot> snapshot_ ABSL_GUARDED_BY(mutex_);
  absl::Status publish_status_ ABSL_GUARDED_BY(mutex_);
  absl::Status drain_status_ ABSL_GUARDED_BY(mutex_);
  bool draining_ ABSL_GUARDED_BY(mutex_) = false;
  AppHealthState app_ ABSL_GUARDED_BY(mutex_);
  std::vector<v1::InvalidationList> published_ ABSL_GUARDED_BY(mutex_);
};

NodeSnapshot HealthySnapshot() {
  NodeSnapshot snapshot;
  snapshot.self_id = "app1:4001";
  snapshot.synced = true;
  snapshot.taken_at = kNow;
  v1::MemberView* self = snapshot.members.add_members();
  self->set_id("app1:4001");
  self->set_endpoint("tcp://10.0.0.1:4001");
  self->set_state(v1::ALIVE);
  self->set_incarnation(1);
  self->set_last_heard_ms(0);
  self->set_self(true);
  self->set_instance_id(1700000000000000);
  v1::MemberView* peer = snapshot.members.add_members();
  peer->set_id("app2:4001");
  peer->set_endpoint("tcp://10.0.0.2:4001");
  peer->set_state(v1::SUSPECT);
  peer->set_incarnation(3);
  peer->set_last_heard_ms(1200);
  return snapshot;
}


template <typename Message>
Message FromJson(const std::string& json) {
  Message message;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &message).ok())
      << json;
  return message;
}

// The message of an {"error":"..."} body (the tests' messages need no
// escaping; ErrorJson's escaping is tested in http_api_test).
std::string ErrorOf(const httplib::Result& result) {
  absl::string_view body = result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  if (!absl::ConsumePrefix(&body, R"({"error":")") ||
      !absl::ConsumeSuffix(&body, R"("})")) {
    ADD_FAILURE() << "not an error body: " << result->body;
  }
  return std::string(body);
}

struct SseEvent {
  std::string id;
  std::string type;
  std::string data;
};

// Reads /v1/invalidations/stream on its own thread until it has
// `stop_after` events, the server ends the stream, or it is destroyed.
class SseReader {
 public:
  SseReader(int port, httplib::Headers headers, std::string path,
            size_t stop_after = std::numeric_limits<size_t>::max())
      : stop_after_(stop_after) {
    thread_ = std::thread([this, port, headers = std::move(headers),
                           path = std::move(path)] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(std::chrono::seconds(30));
      const httplib::Result result = client.Get(
          path, headers,
          [this](const httplib::Response& response) {
            absl::MutexLock lock(&mutex_);
            status_ = response.status;
            content_type_ = response.get_header_value("Content-Type");
            content_encoding_ = response.get_header_value("Content-Encoding");
            return true;
          },
          [this](const char* data, size_t length) {
            return Receive(absl::string_view(data, length));
          });
      absl::MutexLock lock(&mutex_);
      ended_cleanly_ = result.error() == httplib::Error::Success;
      done_ = true;
    });
  }
  ~SseReader() {
    cancelled_.store(true);
    thread_.join();
  }

  // Each waits up to kAwait; false if that passed first.
  bool AwaitEvents(size_t count) {
    return Await([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return events_.size() >= count;
    });
  }
  bool AwaitGreeting() {
    return Await(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return greeted_; });
  }
  bool AwaitHeartbeat() {
    return Await([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return heartbeats_ > 0;
    });
  }
  bool AwaitDone() {
    return Await([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return done_; });
  }

  std::vector<SseEvent> events() {
    absl::MutexLock lock(&mutex_);
    return events_;
  }
  int status() {
    absl::MutexLock lock(&mutex_);
    return status_;
  }
  std::string content_type() {
    absl::MutexLock lock(&mutex_);
    return content_type_;
  }
  std::string content_encoding() {
    absl::MutexLock lock(&mutex_);
    return content_encoding_;
  }
  bool ended_cleanly() {
    absl::MutexLock lock(&mutex_);
    return ended_cleanly_;
  }

 private:
  template <typename Predicate>
  bool Await(Predicate predicate) {
    absl::MutexLock lock(&mutex_);
    return mutex_.AwaitWithTimeout(absl::Condition(&predicate), kAwait);
  }

  bool Receive(absl::string_view data) {
    absl::MutexLock lock(&mutex_);
    buffer_.append(data.data(), data.size());
    size_t end;
    while (events_.size() < stop_after_ &&
           (end = buffer_.find("\n\n")) != std::string::npos) {
      ParseFrame(buffer_.substr(0, end));
      buffer_.erase(0, end + 2);
    }
    return events_.size() < stop_after_ && !cancelled_.load();
  }

  void ParseFrame(const std::string& frame)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (frame == ":") {
      ++heartbeats_;
      return;
    }
    if (absl::StartsWith(frame, ": ")) {
      greeted_ = true;
      return;
    }
    SseEvent event;
    for (absl::string_view line : absl::StrSplit(frame, '\n')) {
      if (absl::ConsumePrefix(&line, "id: ")) event.id = std::string(line);
      if (absl::ConsumePrefix(&line, "event: ")) event.type = std::string(line);
      if (absl::ConsumePrefix(&line, "data: ")) event.data = std::string(line);
    }
    events_.push_back(std::move(event));
  }

  const size_t stop_after_;
  std::atomic<bool> cancelled_{false};
  absl::Mutex mutex_;
  std::string buffer_ ABSL_GUARDED_BY(mutex_);
  std::vector<SseEvent> events_ ABSL_GUARDED_BY(mutex_);
  bool greeted_ ABSL_GUARDED_BY(mutex_) = false;
  int heartbeats_ ABSL_GUARDED_BY(mutex_) = 0;
  int status_ ABSL_GUARDED_BY(mutex_) = 0;
  std::string content_type_ ABSL_GUARDED_BY(mutex_);
  std::string content_encoding_ ABSL_GUARDED_BY(mutex_);
  bool ended_cleanly_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

std::vector<std::string> Ids(const std::vector<SseEvent>& events) {
  std::vector<std::string> ids;
  for (const SseEvent& event : events) ids.push_back(event.id);
  return ids;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  HttpServerOptions DefaultOptions() {
    HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 8;
    options.max_stream_clients = 4;
    // Lets readers that stop listening notice soon; not used to synchronise.
    options.stream_heartbeat = absl::Milliseconds(100);
    options.now = [this] { return clock_.Now(); };
    return options;
  }

  void StartServer(HttpServerOptions options) {
    server_ = std::make_unique<HttpServer>(std::move(options), backend_,
                                           events_, metrics_);
    const absl::Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void StartServer() { StartServer(DefaultOptions()); }

  httplib::Result PostInvalidations(const std::string& body,
                                    httplib::Headers headers = {}) {
    return client_->Post("/v1/invalidations", headers, body,
                         "application/json");
  }

  FakeClock clock_;
  FakeBackend backend_;
  EventLog events_{/*capacity=*/4, /*first_id=*/1};
  MetricsRegistry metrics_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, HealthIsUpWhenReady) {
  backend_.set_snapshot(HealthySnapshot());
  StartServer();
  const httplib::Result result = client_->Get("/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  const v1::Health health = FromJson<v1::Health>(result->body);
  EXPECT_EQ(health.status(), "UP");
  EXPECT_EQ(health.id(), "app1:4001");
  EXPECT_EQ(health.alive(), 1u);
  EXPECT_EQ(health.suspect(), 1u);
  EXPECT_THAT(result->body, HasSubstr(R"("reasons":[])"));
}

TEST_F(HttpServerTest, HealthIsDownWithEveryReason) {
  NodeSnapshot snapshot = HealthySnapshot();
  snapshot.synced = false;
  backend_.set_snapshot(snapshot);
  AppHealthState app;
  app.configured = true;
  app.status = AppHealthState::Status::kDown;
  app.reason = "app health http://127.0.0.1:8080/api/system/ping: HTTP 500";
  backend_.set_app(app);
  StartServer();

  const httplib::Result result = client_->Get("/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  const v1::Health health = FromJson<v1::Health>(result->body);
  EXPECT_EQ(health.status(), "DOWN");
  EXPECT_THAT(
      health.reasons(),
      ElementsAre("starting up: not yet synced with the cluster", app.reason));
}

TEST_F(HttpServerTest, HealthIsDownBeforeTheFirstSnapshot) {
  StartServer();
  const httplib::Result result = client_->Get("/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(FromJson<v1::Health>(result->body).status(), "DOWN");
}

TEST_F(HttpServerTest, LivenessFollowsTheSnapshotAge) {
  StartServer();
  httplib::Result result = client_->Get("/health/live");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_THAT(FromJson<v1::Health>(result->body).reasons(),
              ElementsAre("the event loop has not published a snapshot yet"));

  backend_.set_snapshot(HealthySnapshot());
  clock_.Set(kNow + absl::Seconds(2));
  result = client_->Get("/health/live");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(FromJson<v1::Health>(result->body).status(), "UP");

  clock_.Set(kNow + absl::Milliseconds(3500));
  result = client_->Get("/health/live");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  const v1::Health live = FromJson<v1::Health>(result->body);
  EXPECT_EQ(live.status(), "DOWN");
  EXPECT_THAT(live.reasons(),
              ElementsAre("the event loop last published a snapshot 3.5s ago "
                          "(limit 2s)"));
}

TEST_F(HttpServerTest, ListsMembers) {
  StartServer();
  httplib::Result result = client_->Get("/v1/members");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);

  backend_.set_snapshot(HealthySnapshot());
  result = client_->Get("/v1/members");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_THAT(result->body, HasSubstr(R"("state":"SUSPECT")"));
  EXPECT_THAT(result->body, HasSubstr(R"("lastHeardMs":"1200")"));
  EXPECT_THAT(result->body, HasSubstr(R"("self":true)"));
  const v1::MemberList members = FromJson<v1::MemberList>(result->body);
  EXPECT_EQ(members.SerializeAsString(),
            HealthySnapshot().members.SerializeAsString());
}

TEST_F(HttpServerTest, AcceptsInvalidations) {
  StartServer();
  const httplib::Result result = PostInvalidations(R"({"invalidations":[
      {"op":"UPDATE","region":"org.hisp.dhis.dataelement.DataElement",
       "key":"fbfJHSPpUQD"},
      {"op":"CLEAR_ALL"}]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202);
  EXPECT_EQ(result->body, R"({"accepted":2})");
  const std::vector<v1::InvalidationList> published = backend_.published();
  ASSERT_THAT(published, SizeIs(1));
  ASSERT_EQ(published[0].invalidations_size(), 2);
  EXPECT_EQ(published[0].invalidations(0).key(), "fbfJHSPpUQD");
  EXPECT_EQ(published[0].invalidations(1).op(), v1::Invalidation::CLEAR_ALL);
}

// One kept-alive TCP connection, as a Java or Python app keeps it: each
// request goes out in one write, and the whole response is read before the
// next request. Returns the round trip of each request answered before the
// connection failed or closed.
std::vector<absl::Duration> KeptAliveRoundTrips(
    int port, const std::vector<std::string>& requests) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address))) {
    close(fd);
    return {};
  }
  std::vector<absl::Duration> round_trips;
  std::string buffer;
  for (const std::string& request : requests) {
    const absl::Time sent = absl::Now();
    if (write(fd, request.data(), request.size()) !=
        static_cast<ssize_t>(request.size())) {
      break;
    }
    // Headers, then Content-Length bytes of body.
    size_t end = std::string::npos;
    size_t length = 0;
    for (;;) {
      end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        const size_t at = buffer.find("Content-Length: ");
        if (at != std::string::npos && at < end) {
          length = std::stoul(buffer.substr(at + 16));
        }
        if (buffer.size() >= end + 4 + length) break;
      }
      char chunk[4096];
      const ssize_t got = read(fd, chunk, sizeof(chunk));
      if (got <= 0) {
        close(fd);
        return round_trips;
      }
      buffer.append(chunk, got);
    }
    round_trips.push_back(absl::Now() - sent);
    buffer.erase(0, end + 4 + length);
  }
  close(fd);
  return round_trips;
}

// Over a kept-alive connection every request is answered at once, not after
// a delayed ACK (about 40 ms each when a response leaves in several writes
// with Nagle's algorithm on).
TEST_F(HttpServerTest, KeptAliveConnectionsAreAnsweredAtOnce) {
  StartServer();
  backend_.set_snapshot(HealthySnapshot());
  const std::string body =
      R"({"invalidations":[{"op":"UPDATE","region":"r","key":"k"}]})";
  const std::string post = absl::StrCat(
      "POST /v1/invalidations HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\nContent-Length: ",
      body.size(), "\r\n\r\n", body);
  const std::string get = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
  std::vector<std::string> requests;
  for (int i = 0; i < 50; ++i) {
    requests.push_back(get);
    requests.push_back(post);
  }
  std::vector<absl::Duration> round_trips =
      KeptAliveRoundTrips(server_->port(), requests);
  ASSERT_EQ(round_trips.size(), requests.size());
  EXPECT_THAT(backend_.published(), SizeIs(50));
  std::sort(round_trips.begin(), round_trips.end());
  // Far below the 40 ms of a delayed ACK, with room for a busy machine.
  EXPECT_LT(round_trips[round_trips.size() / 2], absl::Milliseconds(5));
  EXPECT_LT(round_trips[round_trips.size() * 9 / 10], absl::Milliseconds(20));
}

TEST_F(HttpServerTest, RejectsBadInvalidationsNamingTheField) {
  StartServer();
  httplib::Result result = PostInvalidations(R"({"invalidations":[
      {"op":"UPDATE","region":"r"},{"op":"UPDATE","region":"r"},
      {"op":"UPDATE","key":"k"}]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(ErrorOf(result), "invalidations[2].region is empty");

  result = PostInvalidations("{not json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(ErrorOf(result), HasSubstr("not an InvalidationList"));
  EXPECT_THAT(backend_.published(), IsEmpty());
}

TEST_F(HttpServerTest, AnswersServiceUnavailableWhenTheQueueIsFull) {
  backend_.set_publish_status(
      absl::ResourceExhaustedError("command queue is full"));
  StartServer();
  const httplib::Result result =
      PostInvalidations(R"({"invalidations":[{"op":"CLEAR_ALL"}]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->get_header_value("Retry-After"), "1");
  EXPECT_EQ(ErrorOf(result), "command queue is full");
}

TEST_F(HttpServerTest, RejectsTooLargeBodies) {
  HttpServerOptions options = DefaultOptions();
  options.max_body_bytes = 64;
  StartServer(options);
  const httplib::Result result = PostInvalidations(
      absl::StrCat(R"({"invalidations":[{"op":"CLEAR_REGION","region":")",
                   std::string(100, 'r'), R"("}]})"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 413);
  EXPECT_EQ(ErrorOf(result), "request body too large");
}

TEST_F(HttpServerTest, WithATokenAWrongOneIsRefusedEvenFromLoopback) {
  HttpServerOptions options = DefaultOptions();
  options.token = "s3cret";
  StartServer(options);
  const std::string body = R"({"invalidations":[{"op":"CLEAR_ALL"}]})";

  httplib::Result result =
      PostInvalidations(body, {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_EQ(result->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_THAT(ErrorOf(result), HasSubstr("Authorization: Bearer"));

  result = PostInvalidations(body, {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202);
  result = PostInvalidations(body);  // Loopback needs no token.
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202);
  EXPECT_THAT(backend_.published(), SizeIs(2));

  result = client_->Post("/v1/drain", {{"Authorization", "Bearer nope"}}, "",
                         "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  EXPECT_FALSE(backend_.draining());
}

TEST_F(HttpServerTest, DrainsAndUndrains) {
  backend_.set_snapshot(HealthySnapshot());
  StartServer();
  httplib::Result result = client_->Post("/v1/drain", "", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(FromJson<v1::Health>(result->body).status(), "DRAINING");
  EXPECT_TRUE(backend_.draining());
  result = client_->Get("/health");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);

  result = client_->Delete("/v1/drain");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(FromJson<v1::Health>(result->body).status(), "UP");
  EXPECT_FALSE(backend_.draining());
}

TEST_F(HttpServerTest, DrainFailsWhenTheLoopCannotTakeIt) {
  backend_.set_drain_status(absl::ResourceExhaustedError("queue full"));
  StartServer();
  const httplib::Result result =
      client_->Post("/v1/drain", "", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(ErrorOf(result), "queue full");
}

TEST_F(HttpServerTest, ServesPrometheusText) {
  absl::StatusOr<Counter*> counter =
      metrics_.AddCounter("cachemesh_flushes_total", "Flushes.");
  ASSERT_TRUE(counter.ok());
  (*counter)->Increment(7);
  StartServer();
  const httplib::Result result = client_->Get("/metrics");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"),
            "text/plain; version=0.0.4");
  EXPECT_THAT(result->body, HasSubstr("# TYPE cachemesh_flushes_total counter\n"
                                      "cachemesh_flushes_total 7\n"));
}

TEST_F(HttpServerTest, UnknownPathsGetJson404) {
  StartServer();
  httplib::Result result = client_->Get("/nope");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(ErrorOf(result), "no such endpoint: GET /nope");

  result = client_->Get("/v1/drain");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
}

TEST_F(HttpServerTest, StreamResumesFromLastEventId) {
  for (int i = 1; i <= 4; ++i)
    events_.Append(test::UpdateDelivery(absl::StrCat("k", i)));
  StartServer();
  {
    SseReader reader(server_->port(), {{"Last-Event-ID", "0"}},
                     "/v1/invalidations/stream", /*stop_after=*/2);
    ASSERT_TRUE(reader.AwaitEvents(2));
    EXPECT_EQ(reader.status(), 200);
    EXPECT_EQ(reader.content_type(), "text/event-stream");
    const std::vector<SseEvent> events = reader.events();
    EXPECT_THAT(Ids(events), ElementsAre("1", "2"));
    EXPECT_EQ(events[0].type, "invalidation");
    const v1::AppEvent first = FromJson<v1::AppEvent>(events[0].data);
    EXPECT_EQ(first.invalidation().key(), "k1");
    EXPECT_EQ(first.event_id(), 1u);
  }
  // Reconnect where the first reader stopped: nothing lost, nothing repeated.
  SseReader reader(server_->port(), {{"Last-Event-ID", "2"}},
                   "/v1/invalidations/stream");
  ASSERT_TRUE(reader.AwaitEvents(2));
  EXPECT_THAT(Ids(reader.events()), ElementsAre("3", "4"));
  events_.Append(test::UpdateDelivery("k5"));
  ASSERT_TRUE(reader.AwaitEvents(3));
  EXPECT_THAT(Ids(reader.events()), ElementsAre("3", "4", "5"));
}

TEST_F(HttpServerTest, StreamTakesTheResumePointFromTheQueryToo) {
  for (int i = 1; i <= 3; ++i)
    events_.Append(test::UpdateDelivery(absl::StrCat("k", i)));
  StartServer();
  SseReader reader(server_->port(), {},
                   "/v1/invalidations/stream?lastEventId=1");
  ASSERT_TRUE(reader.AwaitEvents(2));
  EXPECT_THAT(Ids(reader.events()), ElementsAre("2", "3"));
}

TEST_F(HttpServerTest, StreamWithoutResumePointStartsLive) {
  events_.Append(test::UpdateDelivery("old1"));
  events_.Append(test::UpdateDelivery("old2"));
  StartServer();
  SseReader reader(server_->port(), {}, "/v1/invalidations/stream");
  ASSERT_TRUE(reader.AwaitGreeting());
  events_.Append(test::UpdateDelivery("new"));
  ASSERT_TRUE(reader.AwaitEvents(1));
  const std::vector<SseEvent> events = reader.events();
  EXPECT_THAT(Ids(events), ElementsAre("3"));
  EXPECT_EQ(FromJson<v1::AppEvent>(events[0].data).invalidation().key(), "new");
}

TEST_F(HttpServerTest, StreamFlushesFirstWhenTheResumePointIsGone) {
  for (int i = 1; i <= 6; ++i)
    events_.Append(test::UpdateDelivery(absl::StrCat("k", i)));
  StartServer();  // The log holds 4 events: 3..6.
  SseReader reader(server_->port(), {{"Last-Event-ID", "1"}},
                   "/v1/invalidations/stream");
  ASSERT_TRUE(reader.AwaitEvents(5));
  const std::vector<SseEvent> events = reader.events();
  EXPECT_THAT(Ids(events), ElementsAre("2", "3", "4", "5", "6"));
  EXPECT_EQ(events[0].type, "flush");
  const v1::AppEvent flush = FromJson<v1::AppEvent>(events[0].data);
  EXPECT_EQ(flush.kind(), v1::AppEvent::FLUSH);
  EXPECT_THAT(flush.reason(), HasSubstr("resume point 1 is gone"));
  EXPECT_EQ(events[1].type, "invalidation");
}

TEST_F(HttpServerTest, StreamFlushesFirstForAnIdFromAnotherDaemonRun) {
  events_.Append(test::UpdateDelivery("k1"));
  StartServer();
  SseReader reader(server_->port(), {{"Last-Event-ID", "900"}},
                   "/v1/invalidations/stream");
  ASSERT_TRUE(reader.AwaitEvents(1));
  EXPECT_EQ(reader.events()[0].type, "flush");
  EXPECT_EQ(reader.events()[0].id, "1");
  events_.Append(test::UpdateDelivery("k2"));
  ASSERT_TRUE(reader.AwaitEvents(2));
  EXPECT_EQ(reader.events()[1].id, "2");
}

TEST_F(HttpServerTest, StreamIsNeverCompressed) {
  // A compressor would hold events back until it has a block to send.
  StartServer();
  SseReader reader(server_->port(), {{"Accept-Encoding", "gzip, deflate, br"}},
                   "/v1/invalidations/stream");
  ASSERT_TRUE(reader.AwaitGreeting());
  events_.Append(test::UpdateDelivery("k1"));
  ASSERT_TRUE(reader.AwaitEvents(1));
  EXPECT_EQ(reader.content_encoding(), "");
}

TEST_F(HttpServerTest, StreamRejectsABadResumePoint) {
  StartServer();
  const httplib::Result result =
      client_->Get("/v1/invalidations/stream", {{"Last-Event-ID", "x"}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(ErrorOf(result), HasSubstr("Last-Event-ID 'x'"));
}

TEST_F(HttpServerTest, StreamSendsHeartbeatsWhenIdle) {
  StartServer();
  SseReader reader(server_->port(), {}, "/v1/invalidations/stream");
  ASSERT_TRUE(reader.AwaitHeartbeat());
  EXPECT_THAT(reader.events(), IsEmpty());
}

TEST_F(HttpServerTest, LimitsStreamClients) {
  HttpServerOptions options = DefaultOptions();
  options.max_stream_clients = 1;
  options.stream_heartbeat = absl::Hours(1);
  StartServer(options);
  SseReader first(server_->port(), {}, "/v1/invalidations/stream");
  ASSERT_TRUE(first.AwaitGreeting());

  const httplib::Result second = client_->Get("/v1/invalidations/stream");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 503);
  EXPECT_EQ(ErrorOf(second), "too many stream clients (limit 1)");
  // Other endpoints are still served.
  const httplib::Result health = client_->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);

  server_->Stop();  // Ends `first` although no heartbeat is due.
  ASSERT_TRUE(first.AwaitDone());
}

TEST_F(HttpServerTest, StopEndsStreamsCleanly) {
  HttpServerOptions options = DefaultOptions();
  options.stream_heartbeat = absl::Hours(1);
  StartServer(options);
  SseReader reader(server_->port(), {}, "/v1/invalidations/stream");
  ASSERT_TRUE(reader.AwaitGreeting());
  server_->Stop();
  ASSERT_TRUE(reader.AwaitDone());
  EXPECT_TRUE(reader.ended_cleanly());
  server_->Stop();  // Idempotent.
}

TEST_F(HttpServerTest, StartFailsWhenThePortIsTaken) {
  StartServer();
  HttpServerOptions options = DefaultOptions();
  options.port = server_->port();
  HttpServer second(options, backend_, events_, metrics_);
  const absl::Status status = second.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("127.0.0.1:", server_->port())));
}

TEST_F(HttpServerTest, StartRejectsMoreStreamClientsThanThreads) {
  HttpServerOptions options = DefaultOptions();
  options.threads = 4;
  options.max_stream_clients = 4;
  HttpServer server(options, backend_, events_, metrics_);
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cachemesh
