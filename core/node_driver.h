// Drives one Node: feeds it inputs with the time of an injected Clock, ticks
// it when due, and hands its outputs to a NodeHost (the transport) in the
// one order the daemon, the simulator and the tests all run:
//   disconnect, connect, broadcasts, membership changes, deliveries.
// Disconnects come first, so an endpoint dropped and reopened in one turn
// (a member reaped, another at its address) ends up connected. The app gets
// the turn's deliveries as one batch.
//
// Inputs only queue outputs inside the Node; CarryOutOutputs() acts on them,
// when the caller chooses (the daemon once per loop turn, the simulator after
// each input). Not thread-safe: one thread owns a NodeDriver.
#ifndef CACHEMESH_CORE_NODE_DRIVER_H_
#define CACHEMESH_CORE_NODE_DRIVER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "core/membership.h"
#include "core/node.h"
#include "core/streams.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {

// What a NodeDriver asks of the transport and the local app. Calls come only
// from CarryOutOutputs(); a host may feed inputs to other drivers from them
// (an in-memory network), and to this one too: those outputs wait for the
// next CarryOutOutputs().
class NodeHost {
 public:
  virtual ~NodeHost() = default;
  // Stop listening to the member at `endpoint`.
  virtual void Disconnect(const std::string& endpoint) = 0;
  // Listen to the member at `endpoint` (idempotent per endpoint).
  virtual void Connect(const std::string& endpoint) = 0;
  // Send to every member listening to us.
  virtual void Broadcast(std::shared_ptr<const v1::Envelope> envelope) = 0;
  virtual void MembershipChanged(const MembershipChange& change) = 0;
  // Events for the local app, in order; never empty. The host may move them
  // out.
  virtual void Deliver(std::vector<AppDelivery>& deliveries) = 0;
};

class NodeDriver {
 public:
  // Creates the Node at clock.Now(). `clock` and `host` must outlive this.
  NodeDriver(NodeOptions options, const Clock& clock, NodeHost& host);
  NodeDriver(const NodeDriver&) = delete;
  NodeDriver& operator=(const NodeDriver&) = delete;

  // The Node's inputs (see node.h), at clock.Now().
  void Start();
  void OnEnvelope(std::shared_ptr<const v1::Envelope> envelope);
  void OnAnnouncedEndpoint(const std::string& endpoint);
  absl::Status Publish(std::vector<v1::Invalidation> invalidations);
  void Leave();
  void SetSeeds(std::vector<std::string> seeds);

  // Ticks the Node if clock.Now() has reached its deadline. Returns how late
  // the tick was (now - deadline), or nullopt if it was not due.
  std::optional<absl::Duration> TickIfDue();

  // Hands everything the Node asked for since the last call to the host, in
  // the order above.
  void CarryOutOutputs();

  // For queries (Members, Synced, NextDeadline, stats...).
  Node& node() { return node_; }
  const Node& node() const { return node_; }

 private:
  const Clock& clock_;
  NodeHost& host_;
  Node node_;
};

}  // namespace cachemesh

#endif  // CACHEMESH_CORE_NODE_DRIVER_H_
