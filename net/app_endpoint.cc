#include "net/app_endpoint.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cachemesh {
namespace net {

std::string DefaultAppEndpoint(int cache_port) {
  return absl::StrCat("ipc:///tmp/cachemesh-", cache_port, ".sock");
}

std::string AppEventsEndpoint(absl::string_view endpoint) {
  return absl::StrCat(endpoint, ".events");
}

absl::Status ValidateAppEndpoint(absl::string_view endpoint) {
  for (absl::string_view scheme : {"ipc://", "inproc://"}) {
    if (absl::StartsWith(endpoint, scheme) && endpoint.size() > scheme.size()) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "app channel endpoint \"", endpoint,
      "\" must be ipc://<path> or inproc://<name>: the channel is local and "
      "unauthenticated"));
}

}  // namespace net
}  // namespace cachemesh
