// Test fixtures shared across packages: the invalidation most tests need
// (an UPDATE of a DHIS 2 data element) and its delivery to an app.
#ifndef CACHEMESH_TESTS_FIXTURES_H_
#define CACHEMESH_TESTS_FIXTURES_H_

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

}  // namespace test
}  // namespace cachemesh

#endif  // CACHEMESH_TESTS_FIXTURES_H_
