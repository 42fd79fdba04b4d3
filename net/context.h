// The ZeroMQ context: the I/O thread every net/ socket runs on.
//
// Create one per process and keep it alive longer than every Mesh and
// AppServer made from it. Destroying it waits for their sockets to close,
// which never blocks because net/ sockets do not linger.
#ifndef CACHEMESH_NET_CONTEXT_H_
#define CACHEMESH_NET_CONTEXT_H_

#include <memory>

#include "absl/status/statusor.h"

namespace cachemesh {
namespace net {

namespace internal {
struct ZmqContext;  // net/zmq_context.h; opaque outside net/.
}  // namespace internal

class Context {
 public:
  static absl::StatusOr<std::unique_ptr<Context>> Create();

  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  // For net/ internals only: the wrapped zmq context.
  internal::ZmqContext& zmq() const { return *zmq_; }

 private:
  explicit Context(std::unique_ptr<internal::ZmqContext> zmq);

  std::unique_ptr<internal::ZmqContext> zmq_;
};

}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_CONTEXT_H_
