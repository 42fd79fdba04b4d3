// Where the local app channel lives: the daemon (net::AppServer) binds, apps
// (net::Client) connect.
//
// The channel is two ZeroMQ endpoints on one base name:
//   <endpoint>          apps PUSH serialized cachemesh.v1.InvalidationList,
//                       the daemon PULLs;
//   <endpoint>.events   the daemon PUBlishes serialized
//                       cachemesh.v1.AppEventBatch (events in order, with
//                       consecutive event_ids), apps SUBscribe.
// The channel is unauthenticated, so only local transports are accepted:
// ipc:// (a Unix socket file, guarded by file permissions) and inproc://.
#ifndef CACHEMESH_NET_APP_ENDPOINT_H_
#define CACHEMESH_NET_APP_ENDPOINT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cachemesh {
namespace net {

// "ipc:///tmp/cachemesh-<cache_port>.sock".
std::string DefaultAppEndpoint(int cache_port);

// The event endpoint that goes with `endpoint`: `endpoint` + ".events".
std::string AppEventsEndpoint(absl::string_view endpoint);

// OK for ipc:// and inproc:// endpoints with a name; otherwise an
// InvalidArgument naming the endpoint.
absl::Status ValidateAppEndpoint(absl::string_view endpoint);

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_APP_ENDPOINT_H_
