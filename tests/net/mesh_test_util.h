// Helpers for tests that run real meshes on loopback: wait for a condition
// by polling the sockets with a deadline, never by sleeping.
#ifndef CACHEMESH_TESTS_NET_MESH_TEST_UTIL_H_
#define CACHEMESH_TESTS_NET_MESH_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/context.h"
#include "net/mesh.h"

namespace cachemesh {
namespace net {
namespace testing {

// How long a test waits for something that should happen within
// milliseconds on loopback before it fails.
inline constexpr absl::Duration kPatience = absl::Seconds(5);

// A mesh on an ephemeral loopback port ("tcp://127.0.0.1:*"); fails the
// test (and returns nullptr) if it cannot be created.
std::unique_ptr<Mesh> MakeMesh(Context& context,
                               const MeshOptions& options = MeshOptions(),
                               std::string advertised_endpoint = "");

// Drains `mesh`, collecting everything, until `done(collected)` holds or
// `patience` passes; returns what was collected. The caller asserts `done`.
// The meshes in `also_serviced` are drained too (their input is dropped):
// libzmq finishes a mesh's disconnects only while its owner calls into it.
MeshInput DrainUntil(Mesh& mesh,
                     const std::function<bool(const MeshInput&)>& done,
                     absl::Duration patience = kPatience,
                     const std::vector<Mesh*>& also_serviced = {});

// Drains `mesh` until it has announced `endpoint`.
MeshInput DrainUntilAnnounced(Mesh& mesh, absl::string_view endpoint);

// Drains `mesh` until it has received `payload`.
MeshInput DrainUntilReceived(Mesh& mesh, absl::string_view payload,
                             absl::Duration patience = kPatience);

// Connects `a` and `b` both ways and waits until each has seen the other's
// announcement, i.e. each one's subscriptions reached the other's XPUB and
// broadcasts from now on are delivered. Returns false on timeout.
bool ConnectBothWays(Mesh& a, Mesh& b);

bool Contains(const std::vector<std::string>& values, absl::string_view value);

}  // namespace testing
}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_TESTS_NET_MESH_TEST_UTIL_H_
