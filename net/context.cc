#include "net/context.h"

#include <utility>

#include "net/zmq_context.h"
#include "net/zmq_status.h"
#include "zmq.hpp"

namespace cachemesh {
namespace net {

absl::StatusOr<std::unique_ptr<Context>> Context::Create() {
  try {
    auto zmq = std::make_unique<internal::ZmqContext>();
    return std::unique_ptr<Context>(new Context(std::move(zmq)));
  } catch (const zmq::error_t& error) {
    return internal::ZmqErrorStatus(error, "create zmq context", "");
  }
}

Context::Context(std::unique_ptr<internal::ZmqContext> zmq)
    : zmq_(std::move(zmq)) {}

Context::~Context() = default;

}  // namespace net
}  // namespace cachemesh
