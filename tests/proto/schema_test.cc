// Round-trips of the wire schema, in binary and in the HTTP API's JSON.
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace {

using ::google::protobuf::util::JsonStringToMessage;
using ::google::protobuf::util::MessageToJsonString;

v1::Envelope MakeBatchEnvelope() {
  v1::Envelope envelope;
  envelope.set_cluster("dhis");
  v1::NodeIdentity* sender = envelope.mutable_sender();
  sender->set_id("app1:4001");
  sender->set_endpoint("tcp://app1:4001");
  sender->set_incarnation(3);
  sender->set_instance_id(1700000000000000);
  v1::InvalidationBatch* batch = envelope.mutable_batch();
  batch->set_first_seq(41);
  v1::Invalidation* update = batch->add_invalidations();
  update->set_op(v1::Invalidation::UPDATE);
  update->set_region("org.hisp.dhis.dataelement.DataElement");
  update->set_key("fbfJHSPpUQD");
  v1::Invalidation* collection = batch->add_invalidations();
  collection->set_op(v1::Invalidation::COLLECTION);
  collection->set_region("org.hisp.dhis.dataelement.DataElement");
  collection->set_key("de;pe;ou;coc;aoc");
  collection->set_collection_role(
      "org.hisp.dhis.dataelement.DataElement.groups");
  return envelope;
}

TEST(SchemaTest, EnvelopeRoundTripsInBinary) {
  const v1::Envelope sent = MakeBatchEnvelope();
  std::string wire;
  ASSERT_TRUE(sent.SerializeToString(&wire));

  v1::Envelope received;
  ASSERT_TRUE(received.ParseFromString(wire));
  EXPECT_EQ(received.SerializeAsString(), wire);
  ASSERT_EQ(received.body_case(), v1::Envelope::kBatch);
  EXPECT_EQ(received.batch().first_seq(), 41u);
  ASSERT_EQ(received.batch().invalidations_size(), 2);
  EXPECT_EQ(received.batch().invalidations(1).key(), "de;pe;ou;coc;aoc");
  EXPECT_EQ(received.sender().instance_id(), 1700000000000000u);
}

TEST(SchemaTest, HeartbeatCarriesDigestAndProgress) {
  v1::Envelope sent;
  v1::Heartbeat* heartbeat = sent.mutable_heartbeat();
  heartbeat->set_published_seq(7);
  heartbeat->set_full_digest(true);
  v1::MemberDigest* member = heartbeat->add_members();
  member->set_id("app2:4001");
  member->set_state(v1::SUSPECT);
  member->set_incarnation(2);
  v1::StreamProgress* progress = heartbeat->add_progress();
  progress->set_origin_id("app2:4001");
  progress->set_contiguous_seq(99);

  v1::Envelope received;
  ASSERT_TRUE(received.ParseFromString(sent.SerializeAsString()));
  ASSERT_TRUE(received.has_heartbeat());
  EXPECT_EQ(received.heartbeat().members(0).state(), v1::SUSPECT);
  EXPECT_EQ(received.heartbeat().progress(0).contiguous_seq(), 99u);
}

TEST(SchemaTest, GarbageDoesNotParseAsEnvelope) {
  v1::Envelope envelope;
  EXPECT_FALSE(envelope.ParseFromString(std::string("\xff\xff\xff\xff", 4)));
}

TEST(SchemaTest, HttpBodiesUseTheDocumentedJson) {
  v1::InvalidationList list;
  ASSERT_TRUE(JsonStringToMessage(
                  R"({"invalidations":[{"op":"UPDATE",)"
                  R"("region":"org.hisp.dhis.dataelement.DataElement",)"
                  R"("key":"fbfJHSPpUQD"}]})",
                  &list)
                  .ok());
  ASSERT_EQ(list.invalidations_size(), 1);
  EXPECT_EQ(list.invalidations(0).op(), v1::Invalidation::UPDATE);

  v1::MemberList members;
  v1::MemberView* view = members.add_members();
  view->set_id("app1:4001");
  view->set_state(v1::ALIVE);
  view->set_last_heard_ms(12);
  std::string json;
  ASSERT_TRUE(MessageToJsonString(members, &json).ok());
  EXPECT_THAT(json, ::testing::HasSubstr(R"("state":"ALIVE")"));
  EXPECT_THAT(json, ::testing::HasSubstr(R"("lastHeardMs":"12")"));
}

TEST(SchemaTest, UnknownOpIsRejectedInJson) {
  v1::InvalidationList list;
  EXPECT_FALSE(
      JsonStringToMessage(R"({"invalidations":[{"op":"EXPLODE"}]})", &list)
          .ok());
}

}  // namespace
}  // namespace cachemesh
