#include "core/node_driver.h"

#include <utility>

namespace cachemesh {

NodeDriver::NodeDriver(NodeOptions options, const Clock& clock, NodeHost& host)
    : clock_(clock), host_(host), node_(std::move(options), clock.Now()) {}

void NodeDriver::Start() { node_.Start(clock_.Now()); }

void NodeDriver::OnEnvelope(std::shared_ptr<const v1::Envelope> envelope) {
  node_.OnEnvelope(std::move(envelope), clock_.Now());
}

void NodeDriver::OnAnnouncedEndpoint(const std::string& endpoint) {
  node_.OnAnnouncedEndpoint(endpoint, clock_.Now());
}

absl::Status NodeDriver::Publish(std::vector<v1::Invalidation> invalidations) {
  return node_.Publish(std::move(invalidations), clock_.Now());
}

void NodeDriver::Leave() { node_.Leave(clock_.Now()); }

void NodeDriver::SetSeeds(std::vector<std::string> seeds) {
  node_.SetSeeds(std::move(seeds), clock_.Now());
}

std::optional<absl::Duration> NodeDriver::TickIfDue() {
  const absl::Time now = clock_.Now();
  const absl::Time deadline = node_.NextDeadline();
  if (now < deadline) return std::nullopt;
  node_.OnTick(now);
  return now - deadline;
}

void NodeDriver::CarryOutOutputs() {
  Outputs outputs = node_.TakeOutputs();
  for (const std::string& endpoint : outputs.disconnect) {
    host_.Disconnect(endpoint);
  }
  for (const std::string& endpoint : outputs.connect) host_.Connect(endpoint);
  for (std::shared_ptr<const v1::Envelope>& envelope : outputs.broadcasts) {
    host_.Broadcast(std::move(envelope));
  }
  for (const MembershipChange& change : outputs.membership_changes) {
    host_.MembershipChanged(change);
  }
  if (!outputs.deliveries.empty()) host_.Deliver(outputs.deliveries);
}

}  // namespace cachemesh
