// Tests of the HTTP API's pure parts: authorization, parsing, encodings.
#include "service/http_api.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/cachemesh.pb.h"

namespace cachemesh {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(IsLoopbackAddressTest, RecognisesLoopbackInEveryForm) {
  for (const char* address : {"127.0.0.1", "127.1.2.3", "::1",
                              "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address : {"10.0.0.5", "128.0.0.1", "::ffff:10.0.0.1",
                              "fe80::1", "::", "", "localhost", "127.0.0.1x"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("s3cret", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("s3creT", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("s3cre", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("s3crets3cret", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("", "s3cret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("x", ""));
}

TEST(IsAuthorizedTest, WithoutATokenOnlyLoopbackMayChangeState) {
  EXPECT_EQ(IsAuthorized("127.0.0.1", "", ""), AuthDecision::kAllowed);
  EXPECT_EQ(IsAuthorized("::1", "", ""), AuthDecision::kAllowed);
  EXPECT_EQ(IsAuthorized("10.0.0.5", "", ""), AuthDecision::kForbidden);
  EXPECT_EQ(IsAuthorized("10.0.0.5", "Bearer guess", ""),
            AuthDecision::kForbidden);
}

TEST(IsAuthorizedTest, WithATokenAnyClientPresentingItMay) {
  constexpr char kToken[] = "t0ken";
  EXPECT_EQ(IsAuthorized("10.0.0.5", "Bearer t0ken", kToken),
            AuthDecision::kAllowed);
  EXPECT_EQ(IsAuthorized("10.0.0.5", "bearer  t0ken ", kToken),
            AuthDecision::kAllowed);
  EXPECT_EQ(IsAuthorized("10.0.0.5", "", kToken), AuthDecision::kUnauthorized);
  EXPECT_EQ(IsAuthorized("10.0.0.5", "Bearer wrong", kToken),
            AuthDecision::kUnauthorized);
  EXPECT_EQ(IsAuthorized("10.0.0.5", "Basic dDBrZW4=", kToken),
            AuthDecision::kUnauthorized);
  EXPECT_EQ(IsAuthorized("10.0.0.5", "t0ken", kToken),
            AuthDecision::kUnauthorized);
}

TEST(IsAuthorizedTest, LoopbackNeedsNoTokenButMustNotPresentAWrongOne) {
  EXPECT_EQ(IsAuthorized("127.0.0.1", "", "t0ken"), AuthDecision::kAllowed);
  EXPECT_EQ(IsAuthorized("127.0.0.1", "Bearer t0ken", "t0ken"),
            AuthDecision::kAllowed);
  EXPECT_EQ(IsAuthorized("127.0.0.1", "Bearer wrong", "t0ken"),
            AuthDecision::kUnauthorized);
}

TEST(ParseInvalidationListTest, AcceptsTheDocumentedBody) {
  absl::StatusOr<v1::InvalidationList> list = ParseInvalidationList(R"({
    "invalidations": [
      {"op": "UPDATE", "region": "org.hisp.dhis.dataelement.DataElement",
       "key": "fbfJHSPpUQD"},
      {"op": "COLLECTION", "region": "org.hisp.dhis.dataelement.DataElement",
       "key": "fbfJHSPpUQD",
       "collectionRole": "org.hisp.dhis.dataelement.DataElement.groups"},
      {"op": "CLEAR_ALL"}
    ]})");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->invalidations_size(), 3);
  EXPECT_EQ(list->invalidations(0).op(), v1::Invalidation::UPDATE);
  EXPECT_EQ(list->invalidations(0).key(), "fbfJHSPpUQD");
  EXPECT_EQ(list->invalidations(1).collection_role(),
            "org.hisp.dhis.dataelement.DataElement.groups");
  EXPECT_EQ(list->invalidations(2).op(), v1::Invalidation::CLEAR_ALL);
}

TEST(ParseInvalidationListTest, NamesTheBadFieldAndIndex) {
  const struct {
    const char* body;
    const char* message;
  } kCases[] = {
      {R"({"invalidations":[{"op":"UPDATE","region":"r"},{"region":"r"}]})",
       "invalidations[1].op is missing"},
      {R"({"invalidations":[{"op":"DELETE","region":"r"},
          {"op":"DELETE","region":"r"},{"op":"UPDATE","key":"k"}]})",
       "invalidations[2].region is empty"},
      {R"({"invalidations":[{"op":"CLEAR_REGION"}]})",
       "invalidations[0].region is empty"},
      {R"({"invalidations":[]})", "invalidations is empty"},
      {R"({})", "invalidations is empty"},
  };
  for (const auto& test_case : kCases) {
    const absl::Status status = ParseInvalidationList(test_case.body).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << test_case.body;
    EXPECT_EQ(status.message(), test_case.message) << test_case.body;
  }
}

TEST(ParseInvalidationListTest, RejectsWhatIsNotAnInvalidationList) {
  for (const char* body :
       {"", "not json", R"({"invalidations":[{"op":"UPSERT","region":"r"}]})",
        R"({"invalidations":[{"op":"UPDATE","regoin":"r"}]})", "[]"}) {
    const absl::Status status = ParseInvalidationList(body).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(std::string(status.message()),
                StartsWith("body is not an InvalidationList in JSON"))
        << body;
  }
}

TEST(ParseLastEventIdTest, PrefersTheHeaderOverTheQuery) {
  EXPECT_EQ(*ParseLastEventId("", ""), absl::nullopt);
  EXPECT_EQ(*ParseLastEventId("42", ""), absl::optional<uint64_t>(42));
  EXPECT_EQ(*ParseLastEventId("", "7"), absl::optional<uint64_t>(7));
  EXPECT_EQ(*ParseLastEventId(" 42 ", "7"), absl::optional<uint64_t>(42));
  EXPECT_EQ(*ParseLastEventId("0", ""), absl::optional<uint64_t>(0));
}

TEST(ParseLastEventIdTest, RejectsWhatIsNotAnEventId) {
  const absl::Status header = ParseLastEventId("abc", "").status();
  EXPECT_EQ(header.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(header.message(), HasSubstr("Last-Event-ID 'abc'"));
  const absl::Status query = ParseLastEventId("", "-1").status();
  EXPECT_THAT(query.message(), HasSubstr("lastEventId '-1'"));
  EXPECT_FALSE(ParseLastEventId("+5", "").ok());
  EXPECT_FALSE(ParseLastEventId("99999999999999999999999", "").ok());
}

TEST(FormatSseEventTest, FramesAnInvalidation) {
  v1::AppEvent event;
  event.set_kind(v1::AppEvent::INVALIDATION);
  event.set_event_id(12);
  event.set_origin_id("app2:4001");
  event.set_seq(5);
  event.mutable_invalidation()->set_op(v1::Invalidation::DELETE);
  event.mutable_invalidation()->set_region("R");
  event.mutable_invalidation()->set_key("k");

  const std::string frame = FormatSseEvent(event);
  ASSERT_THAT(frame, StartsWith("id: 12\nevent: invalidation\ndata: {"));
  ASSERT_EQ(frame.substr(frame.size() - 2), "\n\n");
  const std::string data = frame.substr(
      frame.find("data: ") + 6, frame.size() - 2 - (frame.find("data: ") + 6));
  EXPECT_EQ(data.find('\n'), std::string::npos);
  v1::AppEvent parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(data, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), event.SerializeAsString());
  EXPECT_THAT(data, HasSubstr(R"("kind":"INVALIDATION")"));
  EXPECT_THAT(data, HasSubstr(R"("originId":"app2:4001")"));
}

TEST(FormatSseEventTest, FramesAFlush) {
  v1::AppEvent event;
  event.set_kind(v1::AppEvent::FLUSH);
  event.set_event_id(3);
  event.set_reason("resume point 1 is gone");
  EXPECT_THAT(FormatSseEvent(event),
              StartsWith("id: 3\nevent: flush\ndata: {"));
}

TEST(ToJsonTest, PrintsDefaultValuesInCamelCase) {
  v1::Health health;
  health.set_status("UP");
  const std::string json = ToJson(health);
  EXPECT_THAT(json, HasSubstr(R"("status":"UP")"));
  EXPECT_THAT(json, HasSubstr(R"("reasons":[])"));
  EXPECT_THAT(json, HasSubstr(R"("alive":0)"));

  v1::MemberView member;
  member.set_last_heard_ms(-1);
  EXPECT_THAT(ToJson(member), HasSubstr(R"("lastHeardMs":"-1")"));
}

TEST(ErrorJsonTest, EscapesTheMessage) {
  EXPECT_EQ(ErrorJson("bad \"quote\" \\ here\n\x01"),
            R"({"error":"bad \"quote\" \\ here\u000a\u0001"})");
  EXPECT_EQ(ErrorJson("invalidations[2].region is empty"),
            R"({"error":"invalidations[2].region is empty"})");
}

}  // namespace
}  // namespace cachemesh
