#include "tests/net/mesh_test_util.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "gtest/gtest.h"
#include "net/poller.h"

namespace cachemesh {
namespace net {
namespace testing {
namespace {

void Append(std::vector<std::string>& to, std::vector<std::string> from) {
  std::move(from.begin(), from.end(), std::back_inserter(to));
}

}  // namespace

std::unique_ptr<Mesh> MakeMesh(Context& context, const MeshOptions& options,
                               std::string advertised_endpoint) {
  absl::StatusOr<std::unique_ptr<Mesh>> mesh = Mesh::Create(
      context, "tcp://127.0.0.1:*", std::move(advertised_endpoint), options);
  EXPECT_TRUE(mesh.ok()) << mesh.status();
  return mesh.ok() ? *std::move(mesh) : nullptr;
}

MeshInput DrainUntil(Mesh& mesh,
                     const std::function<bool(const MeshInput&)>& done,
                     absl::Duration patience,
                     const std::vector<Mesh*>& also_serviced) {
  const absl::Time deadline = absl::Now() + patience;
  Poller poller;
  poller.Add(&mesh);
  for (Mesh* other : also_serviced) poller.Add(other);
  MeshInput collected;
  while (!done(collected) && absl::Now() < deadline) {
    absl::StatusOr<Ready> ready =
        poller.Wait(std::min(deadline - absl::Now(), absl::Milliseconds(50)));
    EXPECT_TRUE(ready.ok()) << ready.status();
    absl::StatusOr<MeshInput> input = mesh.Drain();
    EXPECT_TRUE(input.ok()) << input.status();
    if (!ready.ok() || !input.ok()) break;
    for (Mesh* other : also_serviced) {
      absl::StatusOr<MeshInput> dropped = other->Drain();
      EXPECT_TRUE(dropped.ok()) << dropped.status();
    }
    Append(collected.payloads, std::move(input->payloads));
    Append(collected.announced_endpoints,
           std::move(input->announced_endpoints));
    Append(collected.departed_endpoints, std::move(input->departed_endpoints));
  }
  return collected;
}

MeshInput DrainUntilAnnounced(Mesh& mesh, absl::string_view endpoint) {
  return DrainUntil(mesh, [endpoint](const MeshInput& input) {
    return Contains(input.announced_endpoints, endpoint);
  });
}

MeshInput DrainUntilReceived(Mesh& mesh, absl::string_view payload,
                             absl::Duration patience) {
  return DrainUntil(
      mesh,
      [payload](const MeshInput& input) {
        return Contains(input.payloads, payload);
      },
      patience);
}

bool ConnectBothWays(Mesh& a, Mesh& b) {
  EXPECT_TRUE(a.Connect(b.advertised_endpoint()).ok());
  EXPECT_TRUE(b.Connect(a.advertised_endpoint()).ok());
  return Contains(DrainUntilAnnounced(a, b.advertised_endpoint())
                      .announced_endpoints,
                  b.advertised_endpoint()) &&
         Contains(DrainUntilAnnounced(b, a.advertised_endpoint())
                      .announced_endpoints,
                  a.advertised_endpoint());
}

bool Contains(const std::vector<std::string>& values, absl::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace testing
}  // namespace net
}  // namespace cachemesh
