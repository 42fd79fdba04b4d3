// The HTTP API's pure parts, kept free of sockets so they can be tested
// directly: who may change state, request parsing and validation, and the
// JSON and Server-Sent Events encodings of responses.
#ifndef CACHEMESH_SERVICE_HTTP_API_H_
#define CACHEMESH_SERVICE_HTTP_API_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "google/protobuf/message.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

enum class AuthDecision {
  kAllowed,
  // 401: a token is configured and the request did not present it.
  kUnauthorized,
  // 403: no token is configured and the client is not on this host.
  kForbidden,
};

// Whether a state-changing request may proceed. Loopback clients
// (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) always may, unless they present
// a wrong token. When `token` (cachemesh.http.token) is set, any client that
// presents "Authorization: Bearer <token>" may; the token is compared in
// constant time. `authorization` is the header's value, empty if absent.
AuthDecision IsAuthorized(absl::string_view remote_addr,
                          absl::string_view authorization,
                          absl::string_view token);

// True for a numeric loopback address as httplib reports the peer.
bool IsLoopbackAddress(absl::string_view address);

// Compares without an early exit: the time depends only on the length of
// `presented`, not on where it differs from `secret`.
bool ConstantTimeEquals(absl::string_view presented, absl::string_view secret);

// Parses and validates a POST /v1/invalidations body. InvalidArgument with a
// message naming the field, e.g. "invalidations[2].region is empty".
absl::StatusOr<v1::InvalidationList> ParseInvalidationList(
    absl::string_view json);

// At least one invalidation; each has an op, and a region unless CLEAR_ALL.
absl::Status ValidateInvalidationList(const v1::InvalidationList& list);

// The stream's resume point from the Last-Event-ID header, else the
// lastEventId query parameter (either may be empty = absent). nullopt when
// neither is given; InvalidArgument when the value is not an event id.
absl::StatusOr<absl::optional<uint64_t>> ParseLastEventId(
    absl::string_view header, absl::string_view query);

// One SSE frame: "id: N\nevent: invalidation|flush\ndata: <AppEvent JSON>\n\n".
std::string FormatSseEvent(const v1::AppEvent& event);

// The protobuf JSON mapping (lowerCamelCase), printing fields that hold
// default values too, so clients always see every field.
std::string ToJson(const google::protobuf::Message& message);

// {"error":"<message>"}, escaped for JSON. `message` should be UTF-8.
std::string ErrorJson(absl::string_view message);

}  // namespace cachemesh

#endif  // CACHEMESH_SERVICE_HTTP_API_H_
