#include "net/zmq_status.h"

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"

namespace cachemesh {
namespace net {
namespace internal {
namespace {

absl::StatusCode CodeForErrno(int error_number) {
  switch (error_number) {
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
    case EADDRNOTAVAIL:
    case ENODEV:
    case ENAMETOOLONG:
    case ENOENT:
      return absl::StatusCode::kInvalidArgument;
    case EADDRINUSE:
    case EINTR:
    case EAGAIN:
      return absl::StatusCode::kUnavailable;
    case ETERM:
      return absl::StatusCode::kCancelled;
    case EMFILE:
    case ENOMEM:
    case EMTHREAD:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

absl::Status ZmqErrorStatus(const zmq::error_t& error, absl::string_view action,
                            absl::string_view endpoint) {
  const std::string where = endpoint.empty()
                                ? std::string(action)
                                : absl::StrCat(action, " \"", endpoint, "\"");
  return absl::Status(CodeForErrno(error.num()),
                      absl::StrCat(where, ": ", error.what()));
}

}  // namespace internal
}  // namespace net
}  // namespace cachemesh
