#include "tools/sim/figures.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cachemesh {
namespace sim {
namespace {

constexpr size_t kMaxDescribed = 10;

std::string Millis(std::optional<absl::Duration> duration) {
  if (!duration.has_value()) return "n/a";
  return absl::StrFormat("%.0f", absl::ToDoubleMilliseconds(*duration));
}

std::optional<absl::Duration> Max(const std::vector<absl::Duration>& samples) {
  if (samples.empty()) return std::nullopt;
  return *std::max_element(samples.begin(), samples.end());
}

double BytesPerNodeSecond(const TrafficFigures& traffic, uint64_t bytes) {
  const double seconds = absl::ToDoubleSeconds(traffic.node_uptime);
  return seconds > 0 ? bytes / seconds : 0;
}

template <typename T>
void AppendSome(const std::vector<T>& from, std::vector<T>* to) {
  for (const T& item : from) {
    if (to->size() >= kMaxDescribed) return;
    to->push_back(item);
  }
}

void Add(const OracleReport& from, OracleReport* to) {
  const uint64_t delivered = to->delivered + from.delivered;
  if (delivered > 0) {
    to->mean_latency =
        (to->mean_latency * static_cast<double>(to->delivered) +
         from.mean_latency * static_cast<double>(from.delivered)) /
        static_cast<double>(delivered);
  }
  to->published += from.published;
  to->unrecoverable += from.unrecoverable;
  to->obligations += from.obligations;
  to->covered_by_flush += from.covered_by_flush;
  to->delivered = delivered;
  to->recovered += from.recovered;
  to->flushes += from.flushes;
  to->silent_losses += from.silent_losses;
  to->duplicates += from.duplicates;
  to->out_of_order += from.out_of_order;
  to->corrupt += from.corrupt;
  to->max_latency = std::max(to->max_latency, from.max_latency);
  AppendSome(from.violations, &to->violations);
}

void Add(const MembershipFigures& from, MembershipFigures* to) {
  to->crashes += from.crashes;
  to->detections.insert(to->detections.end(), from.detections.begin(),
                        from.detections.end());
  to->superseded += from.superseded;
  to->undetected += from.undetected;
  to->false_dead += from.false_dead;
  to->excused_dead += from.excused_dead;
  to->convergences.insert(to->convergences.end(), from.convergences.begin(),
                          from.convergences.end());
  to->unconverged += from.unconverged;
  to->leaves += from.leaves;
  to->leaves_missed += from.leaves_missed;
  AppendSome(from.problems, &to->problems);
}

void Add(const TrafficFigures& from, TrafficFigures* to) {
  to->envelopes += from.envelopes;
  to->bytes += from.bytes;
  to->fanout_bytes += from.fanout_bytes;
  to->deliveries += from.deliveries;
  to->lost += from.lost;
  to->cut += from.cut;
  to->cut_by_crash += from.cut_by_crash;
  to->node_uptime += from.node_uptime;
  to->nacks_sent += from.nacks_sent;
  to->retransmissions_sent += from.retransmissions_sent;
  to->gones_sent += from.gones_sent;
  to->late_ticks += from.late_ticks;
}

}  // namespace

std::optional<absl::Duration> Percentile(std::vector<absl::Duration> samples,
                                         double fraction) {
  if (samples.empty()) return std::nullopt;
  std::sort(samples.begin(), samples.end());
  const size_t rank =
      static_cast<size_t>(std::max(1.0, std::ceil(fraction * samples.size())));
  return samples[rank - 1];
}

bool Passed(const SimFigures& figures) {
  const MembershipFigures& membership = figures.membership;
  return figures.invalidations.ok() && membership.false_dead == 0 &&
         membership.undetected == 0 && membership.leaves_missed == 0 &&
         membership.unconverged == 0 && figures.converged_at_end;
}

SimFigures Aggregate(const std::vector<SimFigures>& runs) {
  SimFigures total;
  total.runs = 0;
  total.converged_at_end = true;
  for (const SimFigures& run : runs) {
    if (total.runs == 0) {
      total.nodes = run.nodes;
      total.seed = run.seed;
      total.loss = run.loss;
    }
    total.runs += run.runs;
    total.simulated += run.simulated;
    total.wall += run.wall;
    total.events += run.events;
    total.converged_at_end &= run.converged_at_end;
    Add(run.invalidations, &total.invalidations);
    Add(run.membership, &total.membership);
    Add(run.traffic, &total.traffic);
  }
  return total;
}

std::string FormatFigures(const SimFigures& f) {
  const OracleReport& inv = f.invalidations;
  const MembershipFigures& mem = f.membership;
  const TrafficFigures& net = f.traffic;
  const double speed = f.wall > absl::ZeroDuration()
                           ? absl::FDivDuration(f.simulated, f.wall)
                           : 0;
  std::string out = absl::StrFormat(
      "%s: nodes=%d seed=%d loss=%.3f runs=%d %s: %s\n", f.scenario, f.nodes,
      f.seed, f.loss, f.runs, Passed(f) ? "PASS" : "FAIL",
      f.converged_at_end ? "views converged at the end"
                         : "views NOT converged at the end");
  absl::StrAppendFormat(
      &out, "  time: %.1f s simulated in %.2f s wall (%.1fx), %d events\n",
      absl::ToDoubleSeconds(f.simulated), absl::ToDoubleSeconds(f.wall), speed,
      f.events);
  absl::StrAppendFormat(
      &out,
      "  invalidations: published %d, owed %d (excused as unrecoverable %d), "
      "delivered %d (recovered %d), latency mean %.2f ms max %.2f ms\n",
      inv.published, inv.obligations, inv.unrecoverable, inv.delivered,
      inv.recovered, absl::ToDoubleMilliseconds(inv.mean_latency),
      absl::ToDoubleMilliseconds(inv.max_latency));
  absl::StrAppendFormat(
      &out,
      "  app events: flushes %d (covering %d owed), silent_losses %d, "
      "duplicates %d, out_of_order %d, corrupt %d\n",
      inv.flushes, inv.covered_by_flush, inv.silent_losses, inv.duplicates,
      inv.out_of_order, inv.corrupt);
  absl::StrAppendFormat(
      &out,
      "  detection: crashes %d, detected everywhere %d (p50 %s ms, max %s "
      "ms), superseded by restart %d, undetected %d\n",
      mem.crashes, mem.detections.size(),
      Millis(Percentile(mem.detections, 0.5)), Millis(Max(mem.detections)),
      mem.superseded, mem.undetected);
  absl::StrAppendFormat(
      &out,
      "  membership: false_dead %d (excused by partitions %d), leaves %d "
      "(missed %d), convergence events %d (p50 %s ms, max %s ms, "
      "unconverged %d)\n",
      mem.false_dead, mem.excused_dead, mem.leaves, mem.leaves_missed,
      mem.convergences.size(), Millis(Percentile(mem.convergences, 0.5)),
      Millis(Max(mem.convergences)), mem.unconverged);
  absl::StrAppendFormat(
      &out,
      "  traffic: %.0f B/node/s sent, %.0f B/node/s fanned out; "
      "%d envelopes, %d deliveries; dropped: lost %d, cut %d, by crash %d\n",
      BytesPerNodeSecond(net, net.bytes),
      BytesPerNodeSecond(net, net.fanout_bytes), net.envelopes, net.deliveries,
      net.lost, net.cut, net.cut_by_crash);
  absl::StrAppendFormat(
      &out,
      "  recovery: nacks %d, retransmissions %d, gones %d, late ticks %d\n",
      net.nacks_sent, net.retransmissions_sent, net.gones_sent, net.late_ticks);
  for (const std::string& violation : inv.violations) {
    absl::StrAppend(&out, "  ! ", violation, "\n");
  }
  for (const std::string& problem : mem.problems) {
    absl::StrAppend(&out, "  ! ", problem, "\n");
  }
  return out;
}

std::string SummaryLine(const SimFigures& f) {
  const MembershipFigures& mem = f.membership;
  return absl::StrFormat(
      "nodes=%d detect_p50_ms=%s detect_max_ms=%s false_dead=%d "
      "converge_ms=%s silent_losses=%d flushes=%d bytes_per_node_per_s=%.0f",
      f.nodes, Millis(Percentile(mem.detections, 0.5)),
      Millis(Max(mem.detections)), mem.false_dead,
      Millis(Max(mem.convergences)), f.invalidations.silent_losses,
      f.invalidations.flushes, BytesPerNodeSecond(f.traffic, f.traffic.bytes));
}

}  // namespace sim
}  // namespace cachemesh
