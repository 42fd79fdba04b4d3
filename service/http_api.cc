#include "service/http_api.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/streams.h"
#include "google/protobuf/util/json_util.h"

namespace cachemesh {
namespace {

constexpr absl::string_view kBearer = "bearer ";

bool IsLoopbackV6(const in6_addr& address) {
  static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                              0, 0, 0, 0, 0, 0, 0, 1};
  static const unsigned char kV4MappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                                    0, 0, 0, 0, 0xff, 0xff};
  const unsigned char* bytes = address.s6_addr;
  if (std::memcmp(bytes, kLoopback, sizeof(kLoopback)) == 0) return true;
  return std::memcmp(bytes, kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0 &&
         bytes[12] == 127;
}

// The JSON mapping of `message`; nullopt if it cannot be encoded (a string
// field that is not UTF-8).
absl::optional<std::string> TryJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options)
           .ok()) {
    return absl::nullopt;
  }
  return json;
}

const char* SseEventType(const v1::AppEvent& event) {
  switch (event.kind()) {
    case v1::AppEvent::INVALIDATION:
      return "invalidation";
    case v1::AppEvent::FLUSH:
      return "flush";
    default:
      return "message";
  }
}

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  const std::string text(address);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IsLoopbackV6(v6);
}

bool ConstantTimeEquals(absl::string_view presented, absl::string_view secret) {
  if (secret.empty()) return presented.empty();
  unsigned char difference = presented.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < presented.size(); ++i) {
    difference |= static_cast<unsigned char>(presented[i]) ^
                  static_cast<unsigned char>(secret[i % secret.size()]);
  }
  return difference == 0;
}

AuthDecision IsAuthorized(absl::string_view remote_addr,
                          absl::string_view authorization,
                          absl::string_view token) {
  const bool loopback = IsLoopbackAddress(remote_addr);
  authorization = absl::StripAsciiWhitespace(authorization);
  if (token.empty()) {
    return loopback ? AuthDecision::kAllowed : AuthDecision::kForbidden;
  }
  if (authorization.empty()) {
    return loopback ? AuthDecision::kAllowed : AuthDecision::kUnauthorized;
  }
  if (!absl::StartsWithIgnoreCase(authorization, kBearer)) {
    return AuthDecision::kUnauthorized;
  }
  const absl::string_view presented =
      absl::StripLeadingAsciiWhitespace(authorization.substr(kBearer.size()));
  return ConstantTimeEquals(presented, token) ? AuthDecision::kAllowed
                                              : AuthDecision::kUnauthorized;
}

absl::Status ValidateInvalidationList(const v1::InvalidationList& list) {
  if (list.invalidations_size() == 0) {
    return absl::InvalidArgumentError("invalidations is empty");
  }
  for (int i = 0; i < list.invalidations_size(); ++i) {
    if (absl::Status valid = ValidateAppInvalidation(list.invalidations(i), i);
        !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::InvalidationList> ParseInvalidationList(
    absl::string_view json) {
  v1::InvalidationList list;
  const google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), &list);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body is not an InvalidationList in JSON: ",
                     std::string(parsed.message())));
  }
  if (absl::Status valid = ValidateInvalidationList(list); !valid.ok()) {
    return valid;
  }
  return list;
}

absl::StatusOr<absl::optional<uint64_t>> ParseLastEventId(
    absl::string_view header, absl::string_view query) {
  header = absl::StripAsciiWhitespace(header);
  query = absl::StripAsciiWhitespace(query);
  const bool from_header = !header.empty();
  const absl::string_view text = from_header ? header : query;
  if (text.empty()) return absl::optional<uint64_t>();
  uint64_t id = 0;
  if (!absl::ascii_isdigit(text[0]) || !absl::SimpleAtoi(text, &id)) {
    return absl::InvalidArgumentError(
        absl::StrCat(from_header ? "Last-Event-ID" : "lastEventId", " '", text,
                     "' is not an event id (a non-negative integer)"));
  }
  return absl::optional<uint64_t>(id);
}

std::string ToJson(const google::protobuf::Message& message) {
  absl::optional<std::string> json = TryJson(message);
  if (!json.has_value()) {
    return ErrorJson(
        absl::StrCat("cannot encode ", message.GetTypeName(), " as JSON"));
  }
  return *std::move(json);
}

std::string ErrorJson(absl::string_view message) {
  std::string json = "{\"error\":\"";
  for (const char c : message) {
    if (c == '"' || c == '\\') {
      json += '\\';
      json += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&json, absl::StrFormat("\\u%04x", static_cast<int>(c)));
    } else {
      json += c;
    }
  }
  json += "\"}";
  return json;
}

std::string FormatSseEvent(const v1::AppEvent& event) {
  absl::optional<std::string> data = TryJson(event);
  const v1::AppEvent* sent = &event;
  v1::AppEvent flush;
  if (!data.has_value()) {
    // Never skip an event silently: a client that cannot read it must flush.
    flush.set_kind(v1::AppEvent::FLUSH);
    flush.set_event_id(event.event_id());
    flush.set_reason(
        absl::StrCat("event ", event.event_id(), " cannot be encoded as JSON"));
    data = TryJson(flush);
    sent = &flush;
  }
  return absl::StrCat("id: ", sent->event_id(),
                      "\nevent: ", SseEventType(*sent),
                      "\ndata: ", data.value_or("{}"), "\n\n");
}

}  // namespace cachemesh
