#include "service/health_url.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace cachemesh {
namespace {

absl::Status UrlError(absl::string_view url, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("\"", url, "\": ", problem));
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

}  // namespace cachemesh
