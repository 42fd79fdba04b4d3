// An app channel message parses as the AppEventBatch of the events added,
// each with the invalidation it was given.
#include "net/app_event_frame.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/fixtures.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace net {
namespace {

using ::google::protobuf::util::MessageDifferencer;

using test::Update;

v1::AppEvent Event(uint64_t event_id, v1::AppEvent::Kind kind) {
  v1::AppEvent event;
  event.set_kind(kind);
  event.set_origin_id("app2:4001");
  event.set_seq(event_id * 1000);
  event.set_event_id(event_id);
  return event;
}

AppEventHeader HeaderOf(const v1::AppEvent& event) {
  return {event.kind(), event.origin_id(), event.seq(), event.reason(),
          event.event_id()};
}

TEST(AppEventFrameTest, IsTheSerializedBatchOfTheEventsWithTheirInvalidations) {
  // A key long enough that the invalidation's length needs two varint bytes.
  const v1::Invalidation first = Update("fbfJHSPpUQD");
  const v1::Invalidation second = Update(std::string(300, 'k'));
  v1::AppEvent flush = Event(2, v1::AppEvent::FLUSH);
  flush.set_reason("stream a/1 seq 3..4 is gone");

  AppEventFrame frame;
  EXPECT_TRUE(frame.empty());
  frame.Add(HeaderOf(Event(1, v1::AppEvent::INVALIDATION)), &first);
  frame.Add(HeaderOf(flush), nullptr);
  frame.Add(HeaderOf(Event(3, v1::AppEvent::INVALIDATION)), &second);
  EXPECT_EQ(frame.events(), 3u);

  v1::AppEventBatch expected;
  *expected.add_events() = Event(1, v1::AppEvent::INVALIDATION);
  *expected.mutable_events(0)->mutable_invalidation() = first;
  *expected.add_events() = flush;
  *expected.add_events() = Event(3, v1::AppEvent::INVALIDATION);
  *expected.mutable_events(2)->mutable_invalidation() = second;

  v1::AppEventBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame.bytes()));
  EXPECT_TRUE(MessageDifferencer::Equals(parsed, expected))
      << parsed.DebugString();
  // Fields in number order, defaults left out: protobuf's own bytes.
  EXPECT_EQ(frame.bytes(), expected.SerializeAsString());
}

TEST(AppEventFrameTest, LeavesDefaultFieldsOut) {
  AppEventFrame frame;
  frame.Add(AppEventHeader(), nullptr);
  v1::AppEventBatch expected;
  expected.add_events();
  EXPECT_EQ(frame.bytes(), expected.SerializeAsString());
}

TEST(AppEventFrameTest, ClearStartsAnEmptyMessage) {
  const v1::Invalidation invalidation = Update("a");
  AppEventFrame frame;
  frame.Add(HeaderOf(Event(1, v1::AppEvent::INVALIDATION)), &invalidation);
  frame.Clear();
  EXPECT_TRUE(frame.empty());
  EXPECT_TRUE(frame.bytes().empty());
  frame.Add(HeaderOf(Event(2, v1::AppEvent::INVALIDATION)), &invalidation);
  v1::AppEventBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(frame.bytes()));
  ASSERT_EQ(parsed.events_size(), 1);
  EXPECT_EQ(parsed.events(0).event_id(), 2u);
  EXPECT_EQ(parsed.events(0).invalidation().key(), "a");
}

}  // namespace
}  // namespace net
}  // namespace cachemesh
