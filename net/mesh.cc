#include "net/mesh.h"

#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "net/zmq_context.h"
#include "net/zmq_status.h"
#include "zmq.hpp"

// Socket options, all set on purpose (docs/TRANSPORT_NOTES.md says more):
//
// option                 socket  value and why
// ZMQ_XPUB_VERBOSE       XPUB    1: pass every subscribe, repeats too: a
//                                peer reconnecting while we still hold its
//                                old connection must still be reported.
// ZMQ_XPUB_NODROP        XPUB    0: drop, never block, for a subscriber at
//                                its HWM; sequence gaps and loss reports
//                                recover the loss.
// ZMQ_SNDHWM             XPUB    send_hwm: bounds what a stalled subscriber
//                                can hold; the excess is dropped for it alone.
// ZMQ_RCVHWM             SUB     receive_hwm: bounds queued input per
//                                publisher while the event loop is busy.
// ZMQ_LINGER             both    0: closing never waits for unsent messages.
// ZMQ_HEARTBEAT_IVL      both    zmtp_heartbeat_interval: ZMTP PINGs find
//                                dead TCP connections (host gone, NAT, cable)
//                                that the kernel would keep for minutes.
// ZMQ_HEARTBEAT_TIMEOUT  both    zmtp_heartbeat_timeout: close a connection
//                                silent this long after a PING; the SUB then
//                                reconnects.
// ZMQ_HEARTBEAT_TTL      both    zmtp_heartbeat_ttl: the peer closes our
//                                connection after this much silence from us;
//                                below 65 s (libzmq #4226).
// ZMQ_RECONNECT_IVL      SUB     reconnect_interval: first retry soon, so a
//                                restarted peer is reheard quickly.
// ZMQ_RECONNECT_IVL_MAX  SUB     reconnect_interval_max: caps the doubling
//                                backoff against a dead peer.
// ZMQ_IMMEDIATE          SUB     0: the SUB sends only subscriptions, which
//                                are resent on every reconnect anyway. The
//                                pipe then exists from Connect on, so the
//                                hello goes out without waiting for the owner
//                                thread, and it survives reconnects with what
//                                was already received.
// ZMQ_SUBSCRIBE          SUB     "" (all data) and the hello topic.
// ZMQ_TCP_KEEPALIVE      -       OS default: ZMTP heartbeats keep connections
//                                busy and find dead peers sooner.
// Reconnect options are not set on the XPUB: it binds, it never connects.

namespace cachemesh {
namespace net {

struct Mesh::Sockets {
  explicit Sockets(zmq::context_t& context)
      : xpub(context, zmq::socket_type::xpub),
        sub(context, zmq::socket_type::sub) {}

  zmq::socket_t xpub;
  zmq::socket_t sub;
};

namespace {

int Millis(absl::Duration duration) {
  return static_cast<int>(absl::ToInt64Milliseconds(duration));
}

// Only what is set: libzmq's own defaults are "off", "the interval" and
// "no TTL", which is what 0 means in MeshOptions.
void SetHeartbeats(zmq::socket_t& socket, const MeshOptions& options) {
  if (options.zmtp_heartbeat_interval == absl::ZeroDuration()) return;
  socket.set(zmq::sockopt::heartbeat_ivl,
             Millis(options.zmtp_heartbeat_interval));
  if (options.zmtp_heartbeat_timeout > absl::ZeroDuration()) {
    socket.set(zmq::sockopt::heartbeat_timeout,
               Millis(options.zmtp_heartbeat_timeout));
  }
  if (options.zmtp_heartbeat_ttl > absl::ZeroDuration()) {
    socket.set(zmq::sockopt::heartbeat_ttl, Millis(options.zmtp_heartbeat_ttl));
  }
}

void ConfigureXpub(zmq::socket_t& xpub, const MeshOptions& options) {
  xpub.set(zmq::sockopt::xpub_verbose, true);
  xpub.set(zmq::sockopt::xpub_nodrop, false);
  xpub.set(zmq::sockopt::sndhwm, options.send_hwm);
  xpub.set(zmq::sockopt::linger, 0);
  SetHeartbeats(xpub, options);
}

void ConfigureSub(zmq::socket_t& sub, const MeshOptions& options) {
  sub.set(zmq::sockopt::rcvhwm, options.receive_hwm);
  sub.set(zmq::sockopt::linger, 0);
  SetHeartbeats(sub, options);
  sub.set(zmq::sockopt::reconnect_ivl, Millis(options.reconnect_interval));
  sub.set(zmq::sockopt::reconnect_ivl_max,
          Millis(options.reconnect_interval_max));
  sub.set(zmq::sockopt::immediate, false);
}

bool IsWildcard(absl::string_view bound_endpoint) {
  return absl::StartsWith(bound_endpoint, "tcp://0.0.0.0:") ||
         absl::StartsWith(bound_endpoint, "tcp://[::]:");
}

std::string HelloTopic(absl::string_view endpoint) {
  return absl::StrCat(kHelloTopicPrefix, endpoint);
}

// Reads one whole message without blocking into `first_frame`; returns false
// when none is waiting. `frames` says how many frames it had (any after the
// first are read and thrown away; a message arrives whole or not at all).
bool ReceiveMessage(zmq::socket_t& socket, std::string& first_frame,
                    int& frames) {
  zmq::message_t frame;
  if (!socket.recv(frame, zmq::recv_flags::dontwait)) return false;
  first_frame.assign(frame.data<char>(), frame.size());
  frames = 1;
  while (frame.more()) {
    (void)socket.recv(frame, zmq::recv_flags::dontwait);
    ++frames;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Mesh>> Mesh::Create(
    Context& context, const std::string& bind_endpoint,
    std::string advertised_endpoint, const MeshOptions& options) {
  if (absl::Status valid = ValidateMeshOptions(options); !valid.ok()) {
    return valid;
  }
  std::unique_ptr<Sockets> sockets;
  try {
    sockets = std::make_unique<Sockets>(context.zmq().context);
    ConfigureXpub(sockets->xpub, options);
    ConfigureSub(sockets->sub, options);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "create mesh sockets for",
                                    bind_endpoint);
  }
  std::string bound_endpoint;
  try {
    sockets->xpub.bind(bind_endpoint);
    bound_endpoint = sockets->xpub.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "bind mesh XPUB on", bind_endpoint);
  }
  if (advertised_endpoint.empty()) {
    if (IsWildcard(bound_endpoint)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mesh bound on wildcard address \"", bind_endpoint,
                       "\" needs an advertised endpoint that peers can reach"));
    }
    advertised_endpoint = bound_endpoint;
  }
  try {
    sockets->sub.set(zmq::sockopt::subscribe, "");
    sockets->sub.set(zmq::sockopt::subscribe, HelloTopic(advertised_endpoint));
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "subscribe mesh SUB for",
                                    advertised_endpoint);
  }
  return std::unique_ptr<Mesh>(
      new Mesh(std::move(sockets), std::move(bound_endpoint),
               std::move(advertised_endpoint), options));
}

Mesh::Mesh(std::unique_ptr<Sockets> sockets, std::string bound_endpoint,
           std::string advertised_endpoint, const MeshOptions& options)
    : sockets_(std::move(sockets)),
      bound_endpoint_(std::move(bound_endpoint)),
      advertised_endpoint_(std::move(advertised_endpoint)),
      max_messages_per_drain_(options.max_messages_per_drain),
      source_address_(options.source_address) {}

std::string Mesh::ConnectAddress(const std::string& endpoint) const {
  absl::string_view peer = endpoint;
  if (source_address_.empty() || !absl::ConsumePrefix(&peer, "tcp://")) {
    return endpoint;
  }
  const bool ipv6 = source_address_.find(':') != std::string::npos;
  return absl::StrCat("tcp://", ipv6 ? "[" : "", source_address_,
                      ipv6 ? "]" : "", ":0;", peer);
}

Mesh::~Mesh() = default;

absl::Status Mesh::Connect(const std::string& endpoint) {
  if (endpoint == advertised_endpoint_ || connected_.contains(endpoint)) {
    return absl::OkStatus();
  }
  const std::string address = ConnectAddress(endpoint);
  try {
    sockets_->sub.connect(address);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "connect mesh SUB to", address);
  }
  connected_.emplace(endpoint, address);
  return absl::OkStatus();
}

absl::Status Mesh::Disconnect(const std::string& endpoint) {
  auto it = connected_.find(endpoint);
  if (it == connected_.end()) return absl::OkStatus();
  try {
    sockets_->sub.disconnect(it->second);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "disconnect mesh SUB from",
                                    endpoint);
  }
  connected_.erase(it);
  return absl::OkStatus();
}

absl::Status Mesh::Broadcast(absl::string_view payload) {
  try {
    const zmq::send_result_t sent =
        sockets_->xpub.send(zmq::const_buffer(payload.data(), payload.size()),
                            zmq::send_flags::dontwait);
    // Without ZMQ_XPUB_NODROP an XPUB drops per subscriber and never
    // refuses; a refusal would mean the options above were changed.
    if (!sent) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "broadcast on \"", bound_endpoint_, "\": XPUB refused the message"));
    }
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "broadcast on", bound_endpoint_);
  }
  ++stats_.broadcasts_sent;
  return absl::OkStatus();
}

absl::StatusOr<MeshInput> Mesh::Drain() {
  MeshInput input;
  if (absl::Status drained = Drain(input); !drained.ok()) return drained;
  return input;
}

absl::Status Mesh::Drain(MeshInput& input) {
  input.announced_endpoints.clear();
  input.departed_endpoints.clear();
  size_t payloads = 0;
  int budget = max_messages_per_drain_;
  std::string message;
  int frames = 0;
  absl::Status status;
  try {
    while (budget > 0 && ReceiveMessage(sockets_->xpub, message, frames)) {
      --budget;
      HandleSubscription(message, input);
    }
    for (; budget > 0; --budget) {
      if (payloads == input.payloads.size()) input.payloads.emplace_back();
      if (!ReceiveMessage(sockets_->sub, input.payloads[payloads], frames)) {
        break;
      }
      if (frames > 1) {
        ++stats_.multipart_discarded;
        continue;
      }
      ++stats_.payloads_received;
      ++payloads;
    }
  } catch (const zmq::error_t& error) {
    // A signal interrupted a read: keep what was read, the rest waits.
    if (error.num() != EINTR) {
      status =
          internal::ZmqErrorStatus(error, "drain mesh on", bound_endpoint_);
    }
  }
  input.payloads.resize(payloads);
  return status;
}

// A subscription message is one byte (1 subscribe, 0 unsubscribe) followed
// by the topic. Only hello topics mean anything; the rest (the empty data
// subscription, anything foreign) is ignored.
void Mesh::HandleSubscription(absl::string_view message, MeshInput& input) {
  if (message.empty()) return;
  const char kind = message.front();
  absl::string_view endpoint = message.substr(1);
  if (!absl::ConsumePrefix(&endpoint, kHelloTopicPrefix) || endpoint.empty()) {
    return;
  }
  if (kind == 1) {
    ++stats_.announcements_seen;
    input.announced_endpoints.emplace_back(endpoint);
  } else if (kind == 0) {
    ++stats_.departures_seen;
    input.departed_endpoints.emplace_back(endpoint);
  }
}

std::array<void*, 2> Mesh::PollHandles() const {
  return {sockets_->xpub.handle(), sockets_->sub.handle()};
}

}  // namespace net
}  // namespace cachemesh
