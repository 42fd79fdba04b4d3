// The simulator's invalidation oracle: it is told what every node published
// and what every app received, and checks the delivery guarantee of
// docs/PROTOCOL.md ("exactly once, in order, or covered by a FLUSH").
//
// Receiver R owes an account of invalidation I, published by origin O != R,
// when R was up for longer than `sync_grace` when I went on the wire and is
// still up at the end (a node instance that crashed or left owes nothing).
// R accounts for I by one INVALIDATION delivery of (O, O's instance, seq) or
// by a FLUSH of that origin instance whose [flushed_from, flushed_to] holds
// seq. Anything else is a silent loss.
//
// I is excused for everybody when its origin crashed and no other app ever
// received it: nobody can know it existed (a known limit of the protocol, see
// docs/PROTOCOL.md). Such excused obligations are counted as unrecoverable.
//
// Independently of obligations, every INVALIDATION delivery must carry
// exactly what was published, and per receiver and origin instance the
// delivered sequence numbers must be strictly increasing and above any flushed
// range: a repeat is a duplicate, anything else going backwards is out of
// order.
#ifndef CACHEMESH_TOOLS_SIM_ORACLE_H_
#define CACHEMESH_TOOLS_SIM_ORACLE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/streams.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace sim {

struct OracleOptions {
  // A receiver must have been up longer than this when an invalidation went
  // on the wire to owe it (more than the node's join_window of 2 s).
  absl::Duration sync_grace = absl::Seconds(3);
  // How many violations are described in OracleReport::violations.
  int max_described = 10;
  // Times in those descriptions are shown relative to this.
  absl::Time time_zero = absl::UnixEpoch();
};

struct OracleReport {
  // Invalidations put on the wire.
  uint64_t published = 0;
  // (receiver, invalidation) pairs that had to be accounted for.
  uint64_t obligations = 0;
  // Pairs that would have been obligations, but the origin crashed and no
  // other app got the invalidation.
  uint64_t unrecoverable = 0;
  // Obligations met by a FLUSH rather than a delivery.
  uint64_t covered_by_flush = 0;
  // INVALIDATION deliveries, and how many came through a retransmission.
  uint64_t delivered = 0;
  uint64_t recovered = 0;
  // FLUSH deliveries.
  uint64_t flushes = 0;
  // Violations.
  uint64_t silent_losses = 0;
  uint64_t duplicates = 0;
  uint64_t out_of_order = 0;
  // Delivered content differs from what was published, or was never
  // published.
  uint64_t corrupt = 0;
  // Publication to delivery, over INVALIDATION deliveries.
  absl::Duration mean_latency;
  absl::Duration max_latency;
  // The first few violations, readable.
  std::vector<std::string> violations;

  bool ok() const {
    return silent_losses == 0 && duplicates == 0 && out_of_order == 0 &&
           corrupt == 0;
  }
};

enum class StopKind { kCrash, kLeave };

class Oracle {
 public:
  // One node instance, as returned by NodeStarted.
  using Handle = int;

  explicit Oracle(OracleOptions options = {});

  Handle NodeStarted(const std::string& id, uint64_t instance, absl::Time at);
  void NodeStopped(Handle node, StopKind kind);
  // `origin` put invalidation `seq` of its stream on the wire at `at`.
  void Published(Handle origin, uint64_t seq,
                 const v1::Invalidation& invalidation, absl::Time at);
  // The app of `receiver` got `delivery` at `at`.
  void Delivered(Handle receiver, const AppDelivery& delivery, absl::Time at);

  // The verdict, treating every node not stopped as up at the end.
  OracleReport Check() const;

 private:
  struct Publication {
    v1::Invalidation invalidation;
    absl::Time at = absl::InfiniteFuture();  // Never published.
    // Some app other than the origin's received it.
    bool reached = false;
  };
  struct Stream {
    std::string origin_id;
    uint64_t origin_instance = 0;
    // The origin's node instance; -1 if it never started here.
    Handle origin = -1;
    // Index seq - 1.
    std::vector<Publication> publications;
  };
  struct NodeInstance {
    std::string id;
    uint64_t instance = 0;
    absl::Time started;
    bool stopped = false;
    StopKind stop_kind = StopKind::kCrash;
    int stream = 0;
  };
  // What one receiver's app got of one stream.
  struct Received {
    // Highest sequence number delivered or flushed.
    uint64_t high = 0;
    // Delivered sequence numbers as sorted, disjoint [first, last] runs.
    std::vector<std::pair<uint64_t, uint64_t>> delivered;
    // Flushed ranges, as the FLUSH events said.
    std::vector<std::pair<uint64_t, uint64_t>> flushed;
  };

  int StreamIndex(const std::string& origin_id, uint64_t origin_instance);
  Received& ReceivedOf(Handle receiver, int stream);
  void OnInvalidation(Handle receiver, const AppDelivery& delivery,
                      absl::Time at);
  void OnFlush(Handle receiver, const AppDelivery& delivery);
  std::string Name(Handle node) const;
  std::string Seconds(absl::Time at) const;
  bool Recoverable(const Stream& stream, const Publication& publication) const;
  void CheckReceiver(Handle receiver, OracleReport* report) const;
  void CheckStream(Handle receiver, int stream, OracleReport* report) const;
  void Describe(OracleReport* report, std::string text) const;

  OracleOptions options_;
  std::vector<NodeInstance> nodes_;
  std::vector<Stream> streams_;
  absl::flat_hash_map<std::pair<std::string, uint64_t>, int> stream_index_;
  // [receiver][stream]
  std::vector<std::vector<Received>> received_;
  // Tallied as deliveries arrive; copied into the report.
  OracleReport live_;
  absl::Duration total_latency_;
};

}  // namespace sim
}  // namespace cachemesh

#endif  // CACHEMESH_TOOLS_SIM_ORACLE_H_
