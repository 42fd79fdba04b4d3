// Test fixtures shared across packages: the invalidation most tests need
// (an UPDATE of a DHIS 2 data element), its delivery to an app, and a port
// that refuses connections.
#ifndef CACHEMESH_TESTS_FIXTURES_H_
#define CACHEMESH_TESTS_FIXTURES_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "core/streams.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace test {

inline v1::Invalidation Update(const std::string& key) {
  v1::Invalidation invalidation;
  invalidation.set_op(v1::Invalidation::UPDATE);
  invalidation.set_region("org.hisp.dhis.dataelement.DataElement");
  invalidation.set_key(key);
  return invalidation;
}

// The INVALIDATION event an app gets for Update(key) from "app2:4001".
inline AppDelivery UpdateDelivery(const std::string& key) {
  AppDelivery delivery;
  delivery.kind = v1::AppEvent::INVALIDATION;
  delivery.origin_id = "app2:4001";
  delivery.invalidation = std::make_shared<const v1::Invalidation>(Update(key));
  return delivery;
}

// A bound but not listening socket on 127.0.0.1: connecting to its port is
// refused, and no other program gets the port while it lives.
class ClosedPort {
 public:
  ClosedPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
            0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~ClosedPort() { close(fd_); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;

  // 0 if no port could be had.
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

}  // namespace test
}  // namespace cachemesh

#endif  // CACHEMESH_TESTS_FIXTURES_H_
