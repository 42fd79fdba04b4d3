#include "service/app_health.h"

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "httplib.h"
#include "service/app_client.h"
#include "service/sigpipe.h"

namespace cachemesh {
absl::StatusOr<std::unique_ptr<AppHealthProber>> AppHealthProber::Create(
    AppHealthOptions options) {
  absl::StatusOr<HealthUrl> url = ParseHealthUrl(options.url);
  if (!url.ok()) return url.status();
  if (options.interval <= absl::ZeroDuration() ||
      options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "app health interval and timeout must be positive");
  }
  IgnoreSigpipe();
  return std::unique_ptr<AppHealthProber>(
      new AppHealthProber(std::move(options), *std::move(url)));
}

AppHealthProber::AppHealthProber(AppHealthOptions options, HealthUrl url)
    : options_(std::move(options)), url_(std::move(url)) {
  current_.configured = true;
  current_.reason = Describe("not checked yet");
}

AppHealthProber::~AppHealthProber() { Stop(); }

std::string AppHealthProber::Describe(absl::string_view what) const {
  return absl::StrCat("app health ", options_.url, ": ", what);
}

AppHealthState AppHealthProber::ProbeOnce() {
  const std::unique_ptr<httplib::Client> client =
      MakeAppClient(url_, options_.timeout);
  client->set_follow_location(false);
  const httplib::Result result = client->Get(url_.path);

  AppHealthState state;
  state.configured = true;
  state.checked_at = options_.now();
  if (!result) {
    state.status = AppHealthState::Status::kDown;
    state.reason = Describe(DescribeRequestError(result.error(), options_.timeout));
  } else if (result->status >= 200 && result->status < 300) {
    state.status = AppHealthState::Status::kUp;
  } else {
    state.status = AppHealthState::Status::kDown;
    state.reason = Describe(absl::StrCat("HTTP ", result->status));
  }
  {
    absl::MutexLock lock(&mutex_);
    current_ = state;
  }
  if (options_.on_probe) options_.on_probe(state);
  return state;
}

AppHealthState AppHealthProber::Current() const {
  absl::MutexLock lock(&mutex_);
  return current_;
}

void AppHealthProber::Start() {
  thread_ = std::thread([this] { Run(); });
}

void AppHealthProber::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AppHealthProber::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
    }
    ProbeOnce();
    absl::MutexLock lock(&mutex_);
    if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_),
                                options_.interval)) {
      return;
    }
  }
}

}  // namespace cachemesh
