#include "service/flush_action.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "service/app_client.h"
#include "service/sigpipe.h"

namespace cachemesh {
namespace {

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<std::unique_ptr<FlushAction>> FlushAction::Create(
    FlushActionOptions options) {
  absl::StatusOr<HealthUrl> url = ParseHealthUrl(options.url);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flush action URL ", url.status().message()));
  }
  if (options.method != "POST" && options.method != "PUT" &&
      options.method != "GET") {
    return absl::InvalidArgumentError(
        absl::StrCat("flush action method \"", options.method,
                     "\": must be POST, PUT or GET"));
  }
  if (options.authorization.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        "flush action authorization must not contain a line break");
  }
  if (options.retry_interval <= absl::ZeroDuration() ||
      options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "flush action retry interval and timeout must be positive");
  }
  if (options.coalesce < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "flush action coalesce time must not be negative");
  }
  if (!options.now) {
    return absl::InvalidArgumentError("flush action needs a clock (now)");
  }
  IgnoreSigpipe();
  return std::unique_ptr<FlushAction>(
      new FlushAction(std::move(options), *std::move(url)));
}

FlushAction::FlushAction(FlushActionOptions options, HealthUrl url)
    : options_(std::move(options)), url_(std::move(url)) {
  worker_ = std::thread([this] { Run(); });
}

FlushAction::~FlushAction() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  worker_.join();
}

void FlushAction::Request(std::string reason, bool only_if_app_answers) {
  const absl::Time now = options_.now();
  absl::MutexLock lock(&mutex_);
  ++requested_;
  if (next_.count == 0) {
    next_.first_reason = std::move(reason);
    next_.since = now;
  }
  ++next_.count;
  next_.strict = next_.strict || !only_if_app_answers;
}

FlushAction::State FlushAction::state() const {
  absl::MutexLock lock(&mutex_);
  State state;
  state.requested = requested_;
  state.runs = runs_;
  state.succeeded = succeeded_;
  state.failed = failed_;
  const uint64_t count = owed_.count + next_.count;
  if (count == 0) return state;
  const Demand& oldest = owed_.count > 0 ? owed_ : next_;
  state.pending = true;
  state.pending_since = oldest.since;
  state.reason =
      absl::StrCat("flush action pending since ", FormatUtc(oldest.since), ": ",
                   oldest.first_reason);
  if (count > 1) {
    absl::StrAppend(&state.reason, " (and ", count - 1, " more requests)");
  }
  if (!last_failure_.empty()) {
    absl::StrAppend(&state.reason, "; last attempt: ", last_failure_);
  }
  return state;
}

void FlushAction::Run() {
  while (absl::optional<std::string> started = StartAttempt()) {
    Log(*started);
    Log(FinishAttempt(Attempt()));
  }
}

absl::optional<std::string> FlushAction::StartAttempt() {
  absl::MutexLock lock(&mutex_);
  auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return stopping_ || owed_.count > 0 || next_.count > 0;
  };
  mutex_.Await(absl::Condition(&has_work));
  absl::Time due = last_start_ + options_.coalesce;
  if (owed_.count > 0) due = std::max(due, retry_at_);
  if (mutex_.AwaitWithDeadline(absl::Condition(&stopping_), due)) {
    return absl::nullopt;
  }
  if (owed_.count == 0) {
    owed_ = std::move(next_);
  } else {
    owed_.count += next_.count;
    owed_.strict = owed_.strict || next_.strict;
  }
  next_ = Demand();
  last_start_ = absl::Now();
  ++runs_;
  std::string line = absl::StrCat("flush action started (", owed_.first_reason);
  if (owed_.count > 1) {
    absl::StrAppend(&line, " and ", owed_.count - 1, " more requests");
  }
  absl::StrAppend(&line, "): ", options_.method, " ", options_.url);
  return line;
}

FlushAction::Outcome FlushAction::Attempt() const {
  const std::unique_ptr<httplib::Client> client =
      MakeAppClient(url_, options_.timeout);
  client->set_follow_location(false);
  httplib::Request request;
  request.method = options_.method;
  request.path = url_.path;
  if (!options_.authorization.empty()) {
    request.set_header("Authorization", options_.authorization);
  }
  const httplib::Result result = client->send(request);

  const std::string from = absl::StrCat(" from ", options_.url);
  if (!result) {
    return {
        result.error() == httplib::Error::Connection
            ? Outcome::Kind::kNotAnswering
            : Outcome::Kind::kFailed,
        absl::StrCat(DescribeRequestError(result.error(), options_.timeout), from)};
  }
  return {result->status >= 200 && result->status < 300
              ? Outcome::Kind::kSucceeded
              : Outcome::Kind::kFailed,
          absl::StrCat("HTTP ", result->status, from)};
}

std::string FlushAction::FinishAttempt(const Outcome& outcome) {
  absl::MutexLock lock(&mutex_);
  const bool satisfied =
      outcome.kind == Outcome::Kind::kSucceeded ||
      (outcome.kind == Outcome::Kind::kNotAnswering && !owed_.strict);
  if (!satisfied) {
    ++failed_;
    last_failure_ = outcome.description;
    retry_at_ = absl::Now() + options_.retry_interval;
    return absl::StrCat("flush action failed: ", outcome.description,
                        "; retrying in ",
                        absl::FormatDuration(options_.retry_interval));
  }
  ++succeeded_;
  owed_ = Demand();
  last_failure_.clear();
  if (outcome.kind == Outcome::Kind::kSucceeded) {
    return absl::StrCat("flush action succeeded: ", outcome.description);
  }
  return absl::StrCat("flush action done, app not running (nothing to flush): ",
                      outcome.description);
}

void FlushAction::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

}  // namespace cachemesh
