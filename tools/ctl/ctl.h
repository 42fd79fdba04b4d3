// cachemeshctl's output, apart from its HTTP calls: the human-readable forms
// of the daemon's JSON replies (member list, health, publish result), the
// invalidation a `publish` sends, and load balancer configurations for the
// cluster a dhis.conf describes.
#ifndef CACHEMESH_TOOLS_CTL_CTL_H_
#define CACHEMESH_TOOLS_CTL_CTL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "config/config_types.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh::ctl {

// An aligned table of `members`: id, endpoint, state, incarnation, last
// heard (ms, -1: never) and a "*" on this node's row. One header line, then
// one line per member in the daemon's order.
std::string FormatMembers(const v1::MemberList& members);

// `health` as lines: status, node id, member counts, then each reason.
std::string FormatHealth(const v1::Health& health);

// The body of POST /v1/invalidations for one invalidation. `op` is an
// Invalidation.Op name an app may publish (UPDATE, CLEAR_ALL, ...); every op
// but CLEAR_ALL needs a region, as the daemon checks.
absl::StatusOr<std::string> InvalidationJson(absl::string_view op,
                                             absl::string_view region,
                                             absl::string_view key,
                                             absl::string_view collection_role);

// The accepted count of a POST /v1/invalidations reply ({"accepted":N}).
absl::StatusOr<int> ParseAccepted(absl::string_view json);

// An HAProxy backend "dhis2" for this node and its peers (sorted by address,
// so every node prints the same): DHIS 2 on `app_port` of each host, checked
// with GET /health on the node's HTTP port (this node's configured one;
// a peer's cache port + 1000, the default), with a sticky cookie.
absl::StatusOr<std::string> HaproxyBackend(const Config& config, int app_port);

// An nginx upstream "dhis2" for the same servers, sticky by ip_hash.
// Open-source nginx has no active health checks; the output says so.
absl::StatusOr<std::string> NginxUpstream(const Config& config, int app_port);

}  // namespace cachemesh::ctl

#endif  // CACHEMESH_TOOLS_CTL_CTL_H_
