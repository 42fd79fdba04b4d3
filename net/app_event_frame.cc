#include "net/app_event_frame.h"

#include <cstdint>

#include "google/protobuf/io/coded_stream.h"

namespace cachemesh {
namespace net {
namespace {

using google::protobuf::io::CodedOutputStream;

// Wire tags (field number << 3 | length-delimited).
constexpr char kBatchEventsTag = (1 << 3) | 2;        // AppEventBatch.events
constexpr char kEventInvalidationTag = (2 << 3) | 2;  // AppEvent.invalidation

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Appends `message`, whose size was just computed, without recomputing it.
void AppendWithCachedSize(const google::protobuf::MessageLite& message,
                          size_t size, std::string* out) {
  const size_t at = out->size();
  out->resize(at + size);
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(&(*out)[at]));
}

}  // namespace

void AppEventFrame::Add(const v1::AppEvent& event,
                        const v1::Invalidation* invalidation) {
  const size_t event_size = event.ByteSizeLong();
  const size_t invalidation_size =
      invalidation == nullptr ? 0 : invalidation->ByteSizeLong();
  const size_t invalidation_field =
      invalidation == nullptr
          ? 0
          : 1 + CodedOutputStream::VarintSize64(invalidation_size) +
                invalidation_size;
  // A message's fields may come in any order: the event's own fields, then
  // its invalidation.
  bytes_.push_back(kBatchEventsTag);
  AppendVarint(event_size + invalidation_field, &bytes_);
  AppendWithCachedSize(event, event_size, &bytes_);
  if (invalidation != nullptr) {
    bytes_.push_back(kEventInvalidationTag);
    AppendVarint(invalidation_size, &bytes_);
    AppendWithCachedSize(*invalidation, invalidation_size, &bytes_);
  }
  ++events_;
}

void AppEventFrame::Clear() {
  bytes_.clear();
  events_ = 0;
}

}  // namespace net
}  // namespace cachemesh
