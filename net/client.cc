#include "net/client.h"

#include <cerrno>
#include <climits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/context.h"
#include "net/zmq_context.h"
#include "net/zmq_poll.h"
#include "net/zmq_status.h"
#include "zmq.hpp"

// Socket options (docs/TRANSPORT_NOTES.md says more):
// ZMQ_IMMEDIATE  PUSH  1: queue only on a live connection, so Publish fails
//                      when no daemon is there instead of queueing forever.
// ZMQ_SNDTIMEO   PUSH  send_timeout: how long Publish waits for the daemon.
// ZMQ_LINGER     PUSH  linger: accepted invalidations still get out when the
//                      app destroys the Client right after Publish.
// ZMQ_RCVHWM     SUB   receive_hwm: event messages queued in the app.
// ZMQ_LINGER     SUB   0: closing never waits.
// ZMQ_SUBSCRIBE  SUB   "": every event.

namespace cachemesh {
namespace net {

struct Client::Sockets {
  explicit Sockets(zmq::context_t& context)
      : push(context, zmq::socket_type::push),
        sub(context, zmq::socket_type::sub) {}

  zmq::socket_t push;
  zmq::socket_t sub;
};

namespace {

absl::Status ValidateOptions(const ClientOptions& options) {
  const absl::Duration max = absl::Milliseconds(INT_MAX);
  for (const auto& [field, value] : {std::pair<const char*, absl::Duration>{
                                         "send_timeout", options.send_timeout},
                                     {"linger", options.linger}}) {
    if (value < absl::ZeroDuration() || value >= max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ClientOptions.", field, " must be in [0, ",
          absl::FormatDuration(max), "), got ", absl::FormatDuration(value)));
    }
  }
  if (options.receive_hwm <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ClientOptions.receive_hwm must be positive, got ",
                     options.receive_hwm));
  }
  return absl::OkStatus();
}

int Millis(absl::Duration duration) {
  return static_cast<int>(absl::ToInt64Milliseconds(duration));
}

// Messages are parsed into an arena that starts in a block of its own, kept
// across resets; it fits a full batch of small events.
constexpr size_t kArenaBlockBytes = 256 << 10;

google::protobuf::ArenaOptions ArenaOptions(std::vector<char>& block) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block.data();
  options.initial_block_size = block.size();
  options.max_block_size = 1 << 20;
  return options;
}

v1::AppEvent FlushEvent(std::string reason) {
  v1::AppEvent flush;
  flush.set_kind(v1::AppEvent::FLUSH);
  flush.set_reason(std::move(reason));
  return flush;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const std::string& endpoint, const ClientOptions& options) {
  if (absl::Status valid = ValidateAppEndpoint(endpoint); !valid.ok()) {
    return valid;
  }
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) {
    return valid;
  }
  absl::StatusOr<std::unique_ptr<Context>> context = Context::Create();
  if (!context.ok()) return context.status();
  std::unique_ptr<Sockets> sockets;
  try {
    sockets = std::make_unique<Sockets>((*context)->zmq().context);
    sockets->push.set(zmq::sockopt::immediate, true);
    sockets->push.set(zmq::sockopt::sndtimeo, Millis(options.send_timeout));
    sockets->push.set(zmq::sockopt::linger, Millis(options.linger));
    sockets->sub.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    sockets->sub.set(zmq::sockopt::linger, 0);
    sockets->sub.set(zmq::sockopt::subscribe, "");
    sockets->sub.connect(AppEventsEndpoint(endpoint));
    sockets->push.connect(endpoint);
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "connect app channel to", endpoint);
  }
  return std::unique_ptr<Client>(
      new Client(*std::move(context), std::move(sockets), endpoint));
}

Client::Client(std::unique_ptr<Context> context,
               std::unique_ptr<Sockets> sockets, std::string endpoint)
    : context_(std::move(context)),
      sockets_(std::move(sockets)),
      endpoint_(std::move(endpoint)),
      events_endpoint_(AppEventsEndpoint(endpoint_)),
      arena_block_(kArenaBlockBytes),
      arena_(std::make_unique<google::protobuf::Arena>(
          ArenaOptions(arena_block_))) {}

Client::~Client() = default;

absl::Status Client::Publish(const v1::InvalidationList& invalidations) {
  const std::string payload = invalidations.SerializeAsString();
  try {
    const zmq::send_result_t sent =
        sockets_->push.send(zmq::const_buffer(payload.data(), payload.size()),
                            zmq::send_flags::none);
    if (!sent) {
      return absl::UnavailableError(absl::StrCat(
          "publish to \"", endpoint_,
          "\": no cachemesh daemon took the invalidations in time"));
    }
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "publish to", endpoint_);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::AppEvent>> Client::Receive(
    absl::Duration timeout) {
  if (Peek() == nullptr) {
    absl::StatusOr<bool> received = ReceiveFrame(timeout);
    if (!received.ok()) return received.status();
  }
  v1::AppEvent* event = Peek();
  if (event == nullptr) return std::nullopt;
  std::optional<v1::AppEvent> taken = std::move(*event);
  Pop();
  return taken;
}

absl::StatusOr<size_t> Client::ReceiveAll(
    absl::Duration timeout,
    absl::FunctionRef<void(const v1::AppEvent&)> handle) {
  if (Peek() == nullptr) {
    absl::StatusOr<bool> received = ReceiveFrame(timeout);
    if (!received.ok()) return received.status();
  }
  size_t handled = 0;
  for (const v1::AppEvent* event; (event = Peek()) != nullptr; Pop()) {
    handle(*event);
    ++handled;
  }
  return handled;
}

absl::StatusOr<bool> Client::ReceiveFrame(absl::Duration timeout) {
  try {
    // Take what is queued without a poll(2); wait only when nothing is.
    zmq::message_t frame;
    if (!sockets_->sub.recv(frame, zmq::recv_flags::dontwait)) {
      std::vector<zmq::pollitem_t> items = {
          {sockets_->sub.handle(), 0, ZMQ_POLLIN, 0}};
      absl::StatusOr<int> ready = internal::Poll(items, timeout);
      if (!ready.ok()) return ready.status();
      if (*ready == 0) return false;
      if (!sockets_->sub.recv(frame, zmq::recv_flags::dontwait)) return false;
    }
    const bool single_frame = !frame.more();
    next_ = 0;
    next_checked_ = false;
    arena_->Reset();
    batch_ =
        google::protobuf::Arena::CreateMessage<v1::AppEventBatch>(arena_.get());
    const bool readable =
        single_frame &&
        batch_->ParseFromArray(frame.data(), static_cast<int>(frame.size())) &&
        batch_->events_size() > 0;
    while (frame.more()) {
      (void)sockets_->sub.recv(frame, zmq::recv_flags::dontwait);
    }
    if (!readable) {
      batch_->Clear();
      last_event_id_ = 0;  // Unknown now: the next event starts afresh.
      flush_ = FlushEvent(absl::StrCat("unreadable event message on \"",
                                       events_endpoint_, "\""));
    }
    return true;
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "receive from", events_endpoint_);
  }
}

v1::AppEvent* Client::Peek() {
  if (flush_.has_value()) return &*flush_;
  if (batch_ == nullptr || next_ >= batch_->events_size()) return nullptr;
  v1::AppEvent* event = batch_->mutable_events(next_);
  if (next_checked_) return event;
  next_checked_ = true;
  const uint64_t id = event->event_id();
  const uint64_t expected = last_event_id_ + 1;
  const bool gap = id != 0 && last_event_id_ != 0 && id != expected;
  if (id != 0) last_event_id_ = id;
  if (!gap) return event;
  flush_ = FlushEvent(
      id > expected
          ? absl::StrCat("app channel lost events ", expected, " to ", id - 1)
          : absl::StrCat("app channel event ids went back from ", expected - 1,
                         " to ", id, ": the daemon restarted"));
  return &*flush_;
}

void Client::Pop() {
  if (flush_.has_value()) {
    flush_.reset();
    return;
  }
  ++next_;
  next_checked_ = false;
}

}  // namespace net
}  // namespace cachemesh
