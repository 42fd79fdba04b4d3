#include "tests/integration/test_cluster.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace cachemesh::testing {

std::string InvalidationJson(const std::string& key) {
  return absl::StrCat(
      R"({"invalidations":[{"op":"UPDATE",)",
      R"("region":"org.hisp.dhis.dataelement.DataElement","key":")", key,
      R"("}]})");
}

bool TestCluster::Start(int size, const Customize& customize,
                        std::string* why) {
  std::vector<DaemonSpec> specs(size);
  for (int i = 0; i < size; ++i) {
    specs[i].id = absl::StrCat("n", i);
    specs[i].cache_port = PickFreePort();
    specs[i].http_port = PickFreePort();
    specs[i].cluster = absl::StrCat("it-", getpid());
    if (customize) customize(i, specs[i]);
  }
  for (int i = 0; i < size; ++i) {
    if (i != 0) {
      specs[i].members = {
          absl::StrCat(specs[0].host, ":", specs[0].cache_port)};
    }
    nodes_.push_back(std::make_unique<DaemonProcess>(specs[i]));
    nodes_.back()->Start();
  }
  if (WaitUntil([&] { return AllSee(v1::ALIVE); }, absl::Seconds(10))) {
    return true;
  }
  *why = absl::StrCat("the cluster did not form\n", Logs());
  return false;
}

bool TestCluster::AllSee(v1::MemberState state) const {
  for (const auto& observer : nodes_) {
    if (!observer->running()) continue;
    for (const auto& member : nodes_) {
      const v1::MemberState expected = member == observer ? v1::ALIVE : state;
      if (observer->StateOf(member->spec().id) != expected) return false;
    }
  }
  return true;
}

bool TestCluster::OthersSee(int member, v1::MemberState state) const {
  for (int i = 0; i < size(); ++i) {
    if (i == member || !nodes_[i]->running()) continue;
    if (nodes_[i]->StateOf(nodes_[member]->spec().id) != state) return false;
  }
  return true;
}

bool TestCluster::AnyoneSees(int member, v1::MemberState state) const {
  for (int i = 0; i < size(); ++i) {
    if (i == member || !nodes_[i]->running()) continue;
    if (nodes_[i]->StateOf(nodes_[member]->spec().id) == state) return true;
  }
  return false;
}

std::string TestCluster::Logs() const {
  std::string logs;
  for (const auto& node : nodes_) {
    absl::StrAppend(&logs, "---- ", node->spec().id, "\n", node->log());
  }
  return logs;
}

}  // namespace cachemesh::testing
