#include "net/app_channel.h"

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/app_endpoint.h"
#include "net/zmq_context.h"
#include "net/zmq_status.h"
#include "zmq.hpp"

// Socket options (docs/TRANSPORT_NOTES.md says more):
// ZMQ_RCVHWM  PULL  receive_hwm: bounds lists queued while the loop is busy;
//                   beyond it the apps' PUSH waits (and its Publish times out).
// ZMQ_SNDHWM  PUB   send_hwm: bounds events queued for a stalled app; beyond
//                   it that app loses events (and sees an event_id gap).
// ZMQ_LINGER  both  0: closing never waits.
// No heartbeats: both transports are local and the kernel reports a dead
// peer at once.

namespace cachemesh {
namespace net {

struct AppServer::Sockets {
  explicit Sockets(zmq::context_t& context)
      : pull(context, zmq::socket_type::pull),
        pub(context, zmq::socket_type::pub) {}

  zmq::socket_t pull;
  zmq::socket_t pub;
};

namespace {

absl::Status ValidateOptions(const AppServerOptions& options) {
  for (const auto& [field, value] :
       {std::pair<const char*, int>{"receive_hwm", options.receive_hwm},
        {"send_hwm", options.send_hwm},
        {"max_messages_per_drain", options.max_messages_per_drain}}) {
    if (value <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AppServerOptions.", field, " must be positive, got ", value));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AppServer>> AppServer::Create(
    Context& context, const std::string& endpoint,
    const AppServerOptions& options) {
  if (absl::Status valid = ValidateAppEndpoint(endpoint); !valid.ok()) {
    return valid;
  }
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) {
    return valid;
  }
  std::string events_endpoint = AppEventsEndpoint(endpoint);
  std::unique_ptr<Sockets> sockets;
  try {
    sockets = std::make_unique<Sockets>(context.zmq().context);
    sockets->pull.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    sockets->pull.set(zmq::sockopt::linger, 0);
    sockets->pub.set(zmq::sockopt::sndhwm, options.send_hwm);
    sockets->pub.set(zmq::sockopt::linger, 0);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "create app channel sockets for",
                                    endpoint);
  }
  try {
    sockets->pull.bind(endpoint);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "bind app channel PULL on",
                                    endpoint);
  }
  try {
    sockets->pub.bind(events_endpoint);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "bind app channel PUB on",
                                    events_endpoint);
  }
  return std::unique_ptr<AppServer>(
      new AppServer(std::move(sockets), endpoint, std::move(events_endpoint),
                    options.max_messages_per_drain));
}

AppServer::AppServer(std::unique_ptr<Sockets> sockets, std::string endpoint,
                     std::string events_endpoint, int max_messages_per_drain)
    : sockets_(std::move(sockets)),
      endpoint_(std::move(endpoint)),
      events_endpoint_(std::move(events_endpoint)),
      max_messages_per_drain_(max_messages_per_drain) {}

AppServer::~AppServer() = default;

absl::StatusOr<std::vector<v1::InvalidationList>> AppServer::Drain() {
  std::vector<v1::InvalidationList> lists;
  try {
    zmq::message_t frame;
    for (int budget = max_messages_per_drain_; budget > 0; --budget) {
      if (!sockets_->pull.recv(frame, zmq::recv_flags::dontwait)) break;
      bool readable = !frame.more();
      while (frame.more()) {
        (void)sockets_->pull.recv(frame, zmq::recv_flags::dontwait);
      }
      v1::InvalidationList list;
      if (readable &&
          list.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
        ++stats_.lists_received;
        lists.push_back(std::move(list));
      } else {
        ++stats_.lists_rejected;
      }
    }
  } catch (const zmq::error_t& error) {
    // A signal interrupted a read: keep what was read, the rest waits.
    if (error.num() != EINTR) {
      return internal::ZmqErrorStatus(error, "drain app channel on", endpoint_);
    }
  }
  return lists;
}

absl::Status AppServer::Publish(const AppEventFrame& frame) {
  if (frame.empty()) return absl::OkStatus();
  const std::string& payload = frame.bytes();
  try {
    // A PUB drops for a slow subscriber and never refuses a message.
    const zmq::send_result_t sent =
        sockets_->pub.send(zmq::const_buffer(payload.data(), payload.size()),
                           zmq::send_flags::dontwait);
    if (!sent) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "publish on \"", events_endpoint_, "\": PUB refused the events"));
    }
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "publish on", events_endpoint_);
  }
  stats_.events_published += frame.events();
  ++stats_.frames_published;
  return absl::OkStatus();
}

void* AppServer::PollHandle() const { return sockets_->pull.handle(); }

}  // namespace net
}  // namespace cachemesh
