#include "service/app_health.h"

#include <chrono>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "httplib.h"
#include "service/sigpipe.h"

namespace cachemesh {
namespace {

constexpr char kUrlKey[] = "cachemesh.app.health.url";

absl::Status UrlError(absl::string_view url, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(kUrlKey, " '", url, "': ", problem));
}

// Checks "host", "host:port", "[v6]" or "[v6]:port".
absl::Status ValidateAuthority(absl::string_view url,
                               absl::string_view authority) {
  if (authority.find('@') != absl::string_view::npos) {
    return UrlError(url, "credentials in the URL are not supported");
  }
  absl::string_view host = authority;
  absl::optional<absl::string_view> port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos || close == 1) {
      return UrlError(url, "bad IPv6 host");
    }
    host = authority.substr(0, close + 1);
    const absl::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return UrlError(url, "bad IPv6 host");
      port = rest.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != absl::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) return UrlError(url, "no host");
  uint32_t number = 0;
  if (port.has_value() &&
      (!absl::SimpleAtoi(*port, &number) || number == 0 || number > 65535)) {
    return UrlError(url, absl::StrCat("bad port '", *port, "'"));
  }
  return absl::OkStatus();
}

std::string DescribeError(httplib::Error error, absl::Duration timeout) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection refused or unreachable";
    case httplib::Error::ConnectionTimeout:
      return absl::StrCat("no connection within ",
                          absl::FormatDuration(timeout));
    case httplib::Error::Read:
      return absl::StrCat("no complete answer within ",
                          absl::FormatDuration(timeout));
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLServerVerification:
      return "TLS server certificate not trusted";
    default:
      return absl::StrCat("request failed (", httplib::to_string(error), ")");
  }
}

std::chrono::microseconds ToChrono(absl::Duration duration) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(duration));
}

}  // namespace

absl::StatusOr<HealthUrl> ParseHealthUrl(const std::string& url) {
  if (url.empty()) return UrlError(url, "is empty");
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return UrlError(url, "must start with http:// or https://");
  }
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return UrlError(url, "must start with http:// or https://");
  }
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (scheme == "https") {
    return UrlError(url, "https is not supported by this build; use http://");
  }
#endif
  absl::string_view rest = absl::string_view(url).substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  const size_t path_start = rest.find_first_of("/?");
  const absl::string_view authority = rest.substr(0, path_start);
  if (absl::Status status = ValidateAuthority(url, authority); !status.ok()) {
    return status;
  }
  HealthUrl parsed;
  parsed.scheme_host_port = absl::StrCat(scheme, "://", authority);
  if (path_start == absl::string_view::npos) {
    parsed.path = "/";
  } else {
    const absl::string_view path = rest.substr(path_start);
    parsed.path = absl::StrCat(absl::StartsWith(path, "?") ? "/" : "", path);
  }
  return parsed;
}

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
  httplib::Client client(url_.scheme_host_port);
  client.set_connection_timeout(ToChrono(options_.timeout));
  client.set_read_timeout(ToChrono(options_.timeout));
  client.set_write_timeout(ToChrono(options_.timeout));
  client.set_follow_location(false);
  const httplib::Result result = client.Get(url_.path);

  AppHealthState state;
  state.configured = true;
  state.checked_at = options_.now();
  if (!result) {
    state.status = AppHealthState::Status::kDown;
    state.reason = Describe(DescribeError(result.error(), options_.timeout));
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
