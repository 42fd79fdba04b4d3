// The zmq context behind a net::Context. Internal to net/: public headers
// only forward-declare ZmqContext, so code outside net/ never includes zmq.
#ifndef CACHEMESH_NET_ZMQ_CONTEXT_H_
#define CACHEMESH_NET_ZMQ_CONTEXT_H_

#include "zmq.hpp"

namespace cachemesh {
namespace net {
namespace internal {

struct ZmqContext {
  zmq::context_t context;
};

}  // namespace internal
}  // namespace net
}  // namespace cachemesh

#endif  // CACHEMESH_NET_ZMQ_CONTEXT_H_
