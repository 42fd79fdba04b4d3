// Tests of the app health prober against a small httplib server on port 0.
#include "service/app_health.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures.h"
#include "httplib.h"

namespace cachemesh {
namespace {

using ::testing::HasSubstr;

// Answers GET /api/system/ping with a settable status, on 127.0.0.1:<any>.
class FakeApp {
 public:
  FakeApp() {
    server_.Get("/api/system/ping",
                [this](const httplib::Request&, httplib::Response& response) {
                  if (hang_.load()) release_.WaitForNotification();
                  response.status = status_.load();
                  response.set_content("pong", "text/plain");
                });
    server_.new_task_queue = [this] {
      listening_.Notify();
      return new httplib::ThreadPool(2);
    };
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    listening_.WaitForNotification();
  }
  ~FakeApp() {
    release_.Notify();
    server_.stop();
    thread_.join();
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/api/system/ping");
  }
  void set_status(int status) { status_.store(status); }
  // Requests wait until the app is destroyed.
  void Hang() { hang_.store(true); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<bool> hang_{false};
  absl::Notification release_;
  absl::Notification listening_;
  std::thread thread_;
};

// Records every probe a prober's thread reports.
class ProbeLog {
 public:
  void Record(const AppHealthState& state) {
    absl::MutexLock lock(&mutex_);
    last_ = state;
    ++count_;
  }
  // Waits until a probe reports `status`; false after 10 s.
  bool AwaitStatus(AppHealthState::Status status) {
    absl::MutexLock lock(&mutex_);
    auto reported = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return count_ > 0 && last_.status == status;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&reported),
                                   absl::Seconds(10));
  }

 private:
  absl::Mutex mutex_;
  AppHealthState last_ ABSL_GUARDED_BY(mutex_);
  int count_ ABSL_GUARDED_BY(mutex_) = 0;
};

std::unique_ptr<AppHealthProber> MakeProber(AppHealthOptions options) {
  absl::StatusOr<std::unique_ptr<AppHealthProber>> prober =
      AppHealthProber::Create(std::move(options));
  EXPECT_TRUE(prober.ok()) << prober.status();
  return *std::move(prober);
}

AppHealthOptions Options(const std::string& url) {
  AppHealthOptions options;
  options.url = url;
  options.timeout = absl::Seconds(5);
  options.now = [] { return absl::FromUnixSeconds(1000); };
  return options;
}

TEST(ParseHealthUrlTest, SplitsUrlsForHttplib) {
  absl::StatusOr<HealthUrl> url =
      ParseHealthUrl("http://127.0.0.1:8080/api/system/ping");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme_host_port, "http://127.0.0.1:8080");
  EXPECT_EQ(url->path, "/api/system/ping");

  url = ParseHealthUrl("http://app");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->scheme_host_port, "http://app");
  EXPECT_EQ(url->path, "/");

  url = ParseHealthUrl("HTTPS://[::1]:8443?deep=1#ignored");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme_host_port, "https://[::1]:8443");
  EXPECT_EQ(url->path, "/?deep=1");
}

TEST(ParseHealthUrlTest, NamesTheSettingAndTheProblem) {
  const struct {
    const char* url;
    const char* problem;
  } kCases[] = {
      {"", "is empty"},
      {"ftp://app/x", "must start with http:// or https://"},
      {"app:8080/ping", "must start with http:// or https://"},
      {"http://", "no host"},
      {"http://:8080/ping", "no host"},
      {"http://app:0/", "bad port '0'"},
      {"http://app:65536/", "bad port '65536'"},
      {"http://app:http/", "bad port 'http'"},
      {"http://user:pw@app/", "credentials in the URL are not supported"},
      {"http://[::1/", "bad IPv6 host"},
  };
  for (const auto& test_case : kCases) {
    const absl::Status status = ParseHealthUrl(test_case.url).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << test_case.url;
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat("\"", test_case.url, "\"")));
    EXPECT_THAT(status.message(), HasSubstr(test_case.problem))
        << test_case.url;
  }
}

TEST(AppHealthProberTest, RejectsNonPositiveIntervalsAndTimeouts) {
  AppHealthOptions options = Options("http://127.0.0.1:1/");
  options.interval = absl::ZeroDuration();
  EXPECT_FALSE(AppHealthProber::Create(options).ok());
  options = Options("http://127.0.0.1:1/");
  options.timeout = -absl::Seconds(1);
  EXPECT_FALSE(AppHealthProber::Create(options).ok());
  EXPECT_FALSE(AppHealthProber::Create(Options("not a url")).ok());
}

TEST(AppHealthProberTest, UnknownBeforeTheFirstProbe) {
  FakeApp app;
  std::unique_ptr<AppHealthProber> prober = MakeProber(Options(app.url()));
  const AppHealthState state = prober->Current();
  EXPECT_TRUE(state.configured);
  EXPECT_EQ(state.status, AppHealthState::Status::kUnknown);
  EXPECT_EQ(state.reason, "app health " + app.url() + ": not checked yet");
}

TEST(AppHealthProberTest, UpOn2xx) {
  FakeApp app;
  app.set_status(204);
  std::unique_ptr<AppHealthProber> prober = MakeProber(Options(app.url()));
  const AppHealthState state = prober->ProbeOnce();
  EXPECT_EQ(state.status, AppHealthState::Status::kUp);
  EXPECT_EQ(state.reason, "");
  EXPECT_EQ(state.checked_at, absl::FromUnixSeconds(1000));
  EXPECT_EQ(prober->Current().status, AppHealthState::Status::kUp);
}

TEST(AppHealthProberTest, DownOnAnErrorStatus) {
  FakeApp app;
  app.set_status(500);
  std::unique_ptr<AppHealthProber> prober = MakeProber(Options(app.url()));
  const AppHealthState state = prober->ProbeOnce();
  EXPECT_EQ(state.status, AppHealthState::Status::kDown);
  EXPECT_EQ(state.reason, "app health " + app.url() + ": HTTP 500");
  EXPECT_EQ(prober->Current().reason, state.reason);

  app.set_status(302);  // Redirects are not followed: not healthy either.
  EXPECT_EQ(prober->ProbeOnce().reason,
            "app health " + app.url() + ": HTTP 302");
}

TEST(AppHealthProberTest, DownWhenNothingListens) {
  test::ClosedPort closed;
  const std::string url =
      absl::StrCat("http://127.0.0.1:", closed.port(), "/api/system/ping");
  std::unique_ptr<AppHealthProber> prober = MakeProber(Options(url));
  const AppHealthState state = prober->ProbeOnce();
  EXPECT_EQ(state.status, AppHealthState::Status::kDown);
  EXPECT_EQ(state.reason,
            "app health " + url + ": connection refused or unreachable");
}

TEST(AppHealthProberTest, DownWhenTheAppDoesNotAnswerInTime) {
  FakeApp app;
  app.Hang();
  AppHealthOptions options = Options(app.url());
  options.timeout = absl::Milliseconds(200);
  std::unique_ptr<AppHealthProber> prober = MakeProber(options);
  const AppHealthState state = prober->ProbeOnce();
  EXPECT_EQ(state.status, AppHealthState::Status::kDown);
  EXPECT_THAT(state.reason, HasSubstr("no complete answer within 200ms"));
}

TEST(AppHealthProberTest, ThreadFollowsTheApp) {
  FakeApp app;
  ProbeLog log;
  AppHealthOptions options = Options(app.url());
  options.interval = absl::Milliseconds(5);
  options.on_probe = [&log](const AppHealthState& state) { log.Record(state); };
  std::unique_ptr<AppHealthProber> prober = MakeProber(options);

  prober->Start();
  ASSERT_TRUE(log.AwaitStatus(AppHealthState::Status::kUp));
  app.set_status(503);
  ASSERT_TRUE(log.AwaitStatus(AppHealthState::Status::kDown));
  EXPECT_EQ(prober->Current().reason, "app health " + app.url() + ": HTTP 503");
  prober->Stop();
}

TEST(AppHealthProberTest, StopDoesNotWaitForTheInterval) {
  FakeApp app;
  ProbeLog log;
  AppHealthOptions options = Options(app.url());
  options.interval = absl::Hours(1);
  options.on_probe = [&log](const AppHealthState& state) { log.Record(state); };
  std::unique_ptr<AppHealthProber> prober = MakeProber(options);

  prober->Start();
  ASSERT_TRUE(log.AwaitStatus(AppHealthState::Status::kUp));
  // Would block for an hour (and time the test out) if Stop slept.
  prober->Stop();
  prober->Stop();  // Idempotent.
}

}  // namespace
}  // namespace cachemesh
