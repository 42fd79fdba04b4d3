// Tests of the flush action against a small httplib app on 127.0.0.1:<any>
// that records each request and answers when and how the test says.
#include "service/flush_action.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/fixtures.h"

namespace cachemesh {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPath[] = "/api/maintenance/cacheClear";
constexpr char kSecret[] = "d2p_S3cr3tT0k3n";
// How long any wait for the worker may take before the test fails.
constexpr absl::Duration kPatience = absl::Seconds(10);

// What the app saw of one request.
struct Received {
  std::string method;
  std::string path;
  std::string authorization;
  std::string content_length;
};

// The app's flush URL. Answers with a settable status; once held, each answer
// waits for a permit (or for the app's end).
class FakeApp {
 public:
  FakeApp() {
    const auto handler = [this](const httplib::Request& request,
                                httplib::Response& response) {
      Handle(request, response);
    };
    server_.Post(kPath, handler);
    server_.Put(kPath, handler);
    server_.Get(kPath, handler);
    server_.new_task_queue = [this] {
      listening_.Notify();
      return new httplib::ThreadPool(2);
    };
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    listening_.WaitForNotification();
  }
  ~FakeApp() {
    {
      absl::MutexLock lock(&mutex_);
      closing_ = true;
    }
    server_.stop();
    thread_.join();
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, kPath);
  }
  void set_status(int status) {
    absl::MutexLock lock(&mutex_);
    status_ = status;
  }
  // From now on each answer waits for a permit from Allow.
  void Hold() {
    absl::MutexLock lock(&mutex_);
    held_ = true;
  }
  // Lets `answers` more held answers go.
  void Allow(int answers) {
    absl::MutexLock lock(&mutex_);
    permits_ += answers;
  }
  // Waits until `count` requests have arrived; false after kPatience.
  bool AwaitReceived(size_t count) {
    absl::MutexLock lock(&mutex_);
    auto arrived = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return received_.size() >= count;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&arrived), kPatience);
  }
  std::vector<Received> received() const {
    absl::MutexLock lock(&mutex_);
    return received_;
  }

 private:
  void Handle(const httplib::Request& request, httplib::Response& response) {
    absl::MutexLock lock(&mutex_);
    received_.push_back({request.method, request.path,
                         request.get_header_value("Authorization"),
                         request.get_header_value("Content-Length")});
    auto may_answer = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return closing_ || !held_ || permits_ > 0;
    };
    mutex_.Await(absl::Condition(&may_answer));
    if (held_ && permits_ > 0) --permits_;
    response.status = status_;
    response.set_content("ok", "text/plain");
  }

  httplib::Server server_;
  int port_ = 0;
  mutable absl::Mutex mutex_;
  int status_ ABSL_GUARDED_BY(mutex_) = 200;
  bool held_ ABSL_GUARDED_BY(mutex_) = false;
  int permits_ ABSL_GUARDED_BY(mutex_) = 0;
  bool closing_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<Received> received_ ABSL_GUARDED_BY(mutex_);
  absl::Notification listening_;
  std::thread thread_;
};

// The flush URL on a port that refuses connections: no app is running.
std::string RefusingUrl(const test::ClosedPort& closed) {
  return absl::StrCat("http://127.0.0.1:", closed.port(), kPath);
}

// Collects the action's log lines, and waits on its state: the worker logs
// after every change it makes, and each log line re-checks the wait.
class Recorder {
 public:
  std::function<void(const std::string&)> Callback() {
    return [this](const std::string& line) {
      absl::MutexLock lock(&mutex_);
      lines_.push_back(line);
    };
  }
  // Waits until `done(action.state())`; false after kPatience.
  bool AwaitState(const FlushAction& action,
                  const std::function<bool(const FlushAction::State&)>& done) {
    const absl::Time deadline = absl::Now() + kPatience;
    while (true) {
      // Counted before the check, so a change after it still wakes us.
      const size_t seen = line_count();
      if (done(action.state())) return true;
      absl::MutexLock lock(&mutex_);
      auto logged = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return lines_.size() > seen;
      };
      if (!mutex_.AwaitWithDeadline(absl::Condition(&logged), deadline)) {
        return false;
      }
    }
  }
  std::vector<std::string> lines() const {
    absl::MutexLock lock(&mutex_);
    return lines_;
  }
  size_t line_count() const {
    absl::MutexLock lock(&mutex_);
    return lines_.size();
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mutex_);
};

bool NotPending(const FlushAction::State& state) { return !state.pending; }

// Options for tests: quick retries, no coalescing window, a clock that reads
// 1000 s, 1001 s, ... on successive calls (only Request reads it).
FlushActionOptions Options(const std::string& url, Recorder* recorder) {
  FlushActionOptions options;
  options.url = url;
  options.authorization = absl::StrCat("ApiToken ", kSecret);
  options.retry_interval = absl::Milliseconds(20);
  options.timeout = absl::Seconds(5);
  options.coalesce = absl::ZeroDuration();
  auto calls = std::make_shared<std::atomic<int>>(0);
  options.now = [calls] { return absl::FromUnixSeconds(1000 + (*calls)++); };
  options.log = recorder->Callback();
  return options;
}

std::unique_ptr<FlushAction> MakeAction(FlushActionOptions options) {
  absl::StatusOr<std::unique_ptr<FlushAction>> action =
      FlushAction::Create(std::move(options));
  EXPECT_TRUE(action.ok()) << action.status();
  return *std::move(action);
}

TEST(FlushActionTest, CreateNamesWhatIsWrong) {
  Recorder recorder;
  const struct {
    const char* url;
    const char* method;
    const char* problem;
  } kCases[] = {
      {"", "POST", "flush action URL \"\": is empty"},
      {"ftp://app/x", "POST", "must start with http:// or https://"},
      {"http://user:pw@app/", "POST", "credentials in the URL"},
      {"http://app:0/", "POST", "bad port '0'"},
      {"http://app/", "DELETE", "method \"DELETE\": must be POST, PUT or GET"},
      {"http://app/", "post", "method \"post\": must be POST, PUT or GET"},
  };
  for (const auto& test_case : kCases) {
    FlushActionOptions options = Options(test_case.url, &recorder);
    options.method = test_case.method;
    const absl::Status status = FlushAction::Create(options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << test_case.url;
    EXPECT_THAT(status.message(), HasSubstr(test_case.problem))
        << test_case.url;
  }

  FlushActionOptions options = Options("http://app/", &recorder);
  options.retry_interval = absl::ZeroDuration();
  EXPECT_THAT(FlushAction::Create(options).status().message(),
              HasSubstr("retry interval and timeout must be positive"));
  options = Options("http://app/", &recorder);
  options.timeout = -absl::Seconds(1);
  EXPECT_FALSE(FlushAction::Create(options).ok());
  options = Options("http://app/", &recorder);
  options.coalesce = -absl::Seconds(1);
  EXPECT_THAT(FlushAction::Create(options).status().message(),
              HasSubstr("coalesce time must not be negative"));
}

TEST(FlushActionTest, SendsMethodPathAndTokenAndIsPendingUntil2xx) {
  FakeApp app;
  Recorder recorder;
  app.Hold();
  std::unique_ptr<FlushAction> action =
      MakeAction(Options(app.url(), &recorder));
  EXPECT_FALSE(action->state().pending);

  action->Request("FLUSH seq 4..9 from n1");
  ASSERT_TRUE(app.AwaitReceived(1));
  FlushAction::State state = action->state();
  EXPECT_TRUE(state.pending);
  EXPECT_EQ(state.reason,
            "flush action pending since 1970-01-01T00:16:40.000Z: "
            "FLUSH seq 4..9 from n1");
  EXPECT_EQ(state.pending_since, absl::FromUnixSeconds(1000));
  EXPECT_EQ(state.requested, 1u);
  EXPECT_EQ(state.runs, 1u);
  EXPECT_EQ(state.succeeded, 0u);

  app.Allow(1);
  ASSERT_TRUE(recorder.AwaitState(*action, NotPending));
  state = action->state();
  EXPECT_EQ(state.reason, "");
  EXPECT_EQ(state.pending_since, absl::InfinitePast());
  EXPECT_EQ(state.runs, 1u);
  EXPECT_EQ(state.succeeded, 1u);
  EXPECT_EQ(state.failed, 0u);

  const std::vector<Received> received = app.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].path, kPath);
  EXPECT_EQ(received[0].authorization, absl::StrCat("ApiToken ", kSecret));
  EXPECT_EQ(received[0].content_length, "0");
  EXPECT_THAT(
      recorder.lines(),
      ::testing::ElementsAre(
          "flush action started (FLUSH seq 4..9 from n1): POST " + app.url(),
          "flush action succeeded: HTTP 200 from " + app.url()));
}

TEST(FlushActionTest, SendsPutAndGetToo) {
  FakeApp app;
  for (const char* method : {"PUT", "GET"}) {
    Recorder recorder;
    FlushActionOptions options = Options(app.url(), &recorder);
    options.method = method;
    options.authorization = "";
    std::unique_ptr<FlushAction> action = MakeAction(options);
    action->Request("CLEAR_ALL");
    ASSERT_TRUE(recorder.AwaitState(*action, NotPending)) << method;
    const std::vector<Received> received = app.received();
    ASSERT_FALSE(received.empty());
    EXPECT_EQ(received.back().method, method);
    EXPECT_EQ(received.back().path, kPath);
    EXPECT_EQ(received.back().authorization, "");
  }
}

TEST(FlushActionTest, RetriesAFailureUntilItSucceeds) {
  FakeApp app;
  Recorder recorder;
  app.set_status(401);
  std::unique_ptr<FlushAction> action =
      MakeAction(Options(app.url(), &recorder));

  action->Request("FLUSH seq 4..9 from n1");
  ASSERT_TRUE(recorder.AwaitState(
      *action, [](const FlushAction::State& s) { return s.failed >= 2; }));
  FlushAction::State state = action->state();
  EXPECT_TRUE(state.pending);
  EXPECT_EQ(state.reason,
            "flush action pending since 1970-01-01T00:16:40.000Z: "
            "FLUSH seq 4..9 from n1; last attempt: HTTP 401 from " +
                app.url());
  EXPECT_EQ(state.succeeded, 0u);
  EXPECT_THAT(recorder.lines(), Contains("flush action failed: HTTP 401 from " +
                                         app.url() + "; retrying in 20ms"));

  app.set_status(204);
  ASSERT_TRUE(recorder.AwaitState(*action, NotPending));
  state = action->state();
  EXPECT_EQ(state.requested, 1u);
  EXPECT_EQ(state.succeeded, 1u);
  EXPECT_EQ(state.runs, state.failed + 1);
  EXPECT_EQ(app.received().size(), state.runs);
}

TEST(FlushActionTest, ABurstCostsAtMostTwoRequests) {
  FakeApp app;
  Recorder recorder;
  // Nothing can finish before the whole burst is in.
  app.Hold();
  FlushActionOptions options = Options(app.url(), &recorder);
  options.coalesce = absl::Milliseconds(100);
  std::unique_ptr<FlushAction> action = MakeAction(options);

  for (int i = 0; i < 10; ++i) action->Request(absl::StrCat("FLUSH ", i));
  EXPECT_TRUE(action->state().pending);
  app.Allow(10);
  ASSERT_TRUE(recorder.AwaitState(*action, NotPending));
  const FlushAction::State state = action->state();
  EXPECT_EQ(state.requested, 10u);
  EXPECT_GE(state.runs, 1u);
  EXPECT_LE(state.runs, 2u);
  EXPECT_EQ(state.succeeded, state.runs);
  EXPECT_EQ(app.received().size(), state.runs);
}

TEST(FlushActionTest, RequestsDuringARunShareOneFollowUp) {
  FakeApp app;
  Recorder recorder;
  app.Hold();
  std::unique_ptr<FlushAction> action =
      MakeAction(Options(app.url(), &recorder));

  action->Request("FLUSH seq 4..9 from n1");  // now() = 1000 s
  ASSERT_TRUE(app.AwaitReceived(1));
  action->Request("CLEAR_ALL from n2");  // 1001 s
  action->Request("FLUSH seq 12..14 from n3");
  app.Allow(1);
  // The first run served only the first request.
  ASSERT_TRUE(recorder.AwaitState(
      *action, [](const FlushAction::State& s) { return s.succeeded >= 1; }));
  FlushAction::State state = action->state();
  EXPECT_TRUE(state.pending);
  EXPECT_EQ(state.pending_since, absl::FromUnixSeconds(1001));
  EXPECT_EQ(state.reason,
            "flush action pending since 1970-01-01T00:16:41.000Z: "
            "CLEAR_ALL from n2 (and 1 more requests)");

  ASSERT_TRUE(app.AwaitReceived(2));
  app.Allow(1);
  ASSERT_TRUE(recorder.AwaitState(*action, NotPending));
  state = action->state();
  EXPECT_EQ(state.requested, 3u);
  EXPECT_EQ(state.runs, 2u);
  EXPECT_EQ(state.succeeded, 2u);
  EXPECT_EQ(app.received().size(), 2u);
  EXPECT_THAT(recorder.lines(),
              Contains("flush action started (CLEAR_ALL from n2 and 1 more "
                       "requests): POST " +
                       app.url()));
}

TEST(FlushActionTest, NoAppListeningSatisfiesOnlyIfAppAnswers) {
  test::ClosedPort closed;
  const std::string closed_url = RefusingUrl(closed);
  Recorder recorder;
  std::unique_ptr<FlushAction> action =
      MakeAction(Options(closed_url, &recorder));

  action->Request("daemon start", /*only_if_app_answers=*/true);
  ASSERT_TRUE(recorder.AwaitState(*action, NotPending));
  // Nothing is owed, so nothing may be retried: a wrong retry (every 20 ms)
  // has five intervals to show up.
  absl::SleepFor(absl::Milliseconds(100));
  const FlushAction::State state = action->state();
  EXPECT_FALSE(state.pending);
  EXPECT_EQ(state.runs, 1u);
  EXPECT_EQ(state.succeeded, 1u);
  EXPECT_EQ(state.failed, 0u);
  EXPECT_THAT(recorder.lines(),
              Contains("flush action done, app not running (nothing to "
                       "flush): connection refused or unreachable from " +
                       closed_url));
}

TEST(FlushActionTest, AnErrorStatusIsRetriedEvenIfOnlyIfAppAnswers) {
  FakeApp app;
  Recorder recorder;
  app.set_status(500);
  std::unique_ptr<FlushAction> action =
      MakeAction(Options(app.url(), &recorder));

  action->Request("daemon start", /*only_if_app_answers=*/true);
  ASSERT_TRUE(recorder.AwaitState(
      *action, [](const FlushAction::State& s) { return s.failed >= 2; }));
  const FlushAction::State state = action->state();
  EXPECT_TRUE(state.pending);
  EXPECT_THAT(state.reason, HasSubstr("last attempt: HTTP 500 from"));
  EXPECT_EQ(state.succeeded, 0u);
}

TEST(FlushActionTest, ATimeoutIsRetriedEvenIfOnlyIfAppAnswers) {
  FakeApp app;
  Recorder recorder;
  app.Hold();  // Never answers.
  FlushActionOptions options = Options(app.url(), &recorder);
  options.timeout = absl::Milliseconds(200);
  options.retry_interval = absl::Hours(1);
  std::unique_ptr<FlushAction> action = MakeAction(options);

  action->Request("daemon start", /*only_if_app_answers=*/true);
  ASSERT_TRUE(recorder.AwaitState(
      *action, [](const FlushAction::State& s) { return s.failed >= 1; }));
  const FlushAction::State state = action->state();
  EXPECT_TRUE(state.pending);
  EXPECT_THAT(state.reason,
              HasSubstr("last attempt: no complete answer within 200ms from " +
                        app.url()));
}

TEST(FlushActionTest, AStrictRequestMergedWithALenientOneIsStrict) {
  // Either order, whichever runs the requests share: a connection failure
  // on a run that serves the strict request is a failure, and retried.
  for (const bool strict_first : {false, true}) {
    test::ClosedPort closed;
    const std::string closed_url = RefusingUrl(closed);
    Recorder recorder;
    std::unique_ptr<FlushAction> action =
        MakeAction(Options(closed_url, &recorder));
    action->Request("daemon start", /*only_if_app_answers=*/!strict_first);
    action->Request("FLUSH seq 4..9 from n1",
                    /*only_if_app_answers=*/strict_first);
    ASSERT_TRUE(recorder.AwaitState(
        *action, [](const FlushAction::State& s) { return s.failed >= 2; }));
    const FlushAction::State state = action->state();
    EXPECT_TRUE(state.pending) << strict_first;
    EXPECT_THAT(state.reason,
                HasSubstr("last attempt: connection refused or unreachable "
                          "from " +
                          closed_url));
  }
}

TEST(FlushActionTest, NeverShowsTheToken) {
  FakeApp app;
  Recorder recorder;
  app.set_status(401);
  std::unique_ptr<FlushAction> action =
      MakeAction(Options(app.url(), &recorder));

  action->Request("FLUSH seq 4..9 from n1");
  ASSERT_TRUE(recorder.AwaitState(
      *action, [](const FlushAction::State& s) { return s.failed >= 2; }));
  ASSERT_THAT(app.received(), Not(::testing::IsEmpty()));
  EXPECT_THAT(app.received()[0].authorization, HasSubstr(kSecret));
  EXPECT_THAT(action->state().reason,
              AllOf(HasSubstr("HTTP 401"), Not(HasSubstr(kSecret))));
  const std::vector<std::string> lines = recorder.lines();
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) {
    EXPECT_THAT(line, Not(HasSubstr(kSecret)));
  }

  FlushActionOptions options = Options(app.url(), &recorder);
  options.authorization = absl::StrCat("ApiToken ", kSecret, "\r\nX-Evil: 1");
  const absl::Status status = FlushAction::Create(options).status();
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("authorization must not contain a line break"),
                    Not(HasSubstr(kSecret))));
}

TEST(FlushActionTest, DestructorDoesNotWaitForTheRetry) {
  FakeApp app;
  Recorder recorder;
  app.set_status(500);
  FlushActionOptions options = Options(app.url(), &recorder);
  options.retry_interval = absl::Hours(1);
  std::unique_ptr<FlushAction> action = MakeAction(options);

  action->Request("FLUSH seq 4..9 from n1");
  ASSERT_TRUE(recorder.AwaitState(
      *action, [](const FlushAction::State& s) { return s.failed >= 1; }));
  const absl::Time start = absl::Now();
  action.reset();
  // Would take an hour if the destructor waited out the retry interval.
  EXPECT_LT(absl::Now() - start, kPatience);
}

}  // namespace
}  // namespace cachemesh
