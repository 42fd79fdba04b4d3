// A cluster of real cachemeshd processes for integration tests: node i is
// "n<i>", every node is configured with n0 as its only peer, and the helpers
// read each node's view through its HTTP API.
#ifndef CACHEMESH_TESTS_INTEGRATION_TEST_CLUSTER_H_
#define CACHEMESH_TESTS_INTEGRATION_TEST_CLUSTER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/daemon_process.h"

namespace cachemesh::testing {

// The body of POST /v1/invalidations for one UPDATE of `key`.
std::string InvalidationJson(const std::string& key);

class TestCluster {
 public:
  // Adjusts node i's spec before it starts (host, extra lines, flags).
  using Customize = std::function<void(int i, DaemonSpec& spec)>;

  // Starts `size` daemons and waits until every one sees all ALIVE.
  // Returns false (with the logs in `*why`) if the cluster did not form.
  bool Start(int size, const Customize& customize, std::string* why);

  DaemonProcess& node(int i) { return *nodes_[i]; }
  const DaemonProcess& node(int i) const { return *nodes_[i]; }
  int size() const { return nodes_.size(); }

  // Every running node sees every node as `state` (itself ALIVE).
  bool AllSee(v1::MemberState state) const;
  // Every running node but `member` sees `member` as `state`.
  bool OthersSee(int member, v1::MemberState state) const;
  // Some running node other than `member` sees it as `state`.
  bool AnyoneSees(int member, v1::MemberState state) const;
  // Every node's log, for failure messages.
  std::string Logs() const;

 private:
  std::vector<std::unique_ptr<DaemonProcess>> nodes_;
};

}  // namespace cachemesh::testing

#endif  // CACHEMESH_TESTS_INTEGRATION_TEST_CLUSTER_H_
