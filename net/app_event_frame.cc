#include "net/app_event_frame.h"

#include "google/protobuf/io/coded_stream.h"

namespace cachemesh {
namespace net {
namespace {

using google::protobuf::io::CodedOutputStream;

// AppEventBatch and AppEvent field numbers (proto/cachemesh.proto).
constexpr int kBatchEvents = 1;
constexpr int kKind = 1;
constexpr int kInvalidation = 2;
constexpr int kOriginId = 3;
constexpr int kSeq = 4;
constexpr int kReason = 5;
constexpr int kEventId = 6;

constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

// Every tag here fits in one byte.
constexpr char Tag(int field, int wire_type) {
  return static_cast<char>((field << 3) | wire_type);
}

size_t VarintSize(uint64_t value) {
  return CodedOutputStream::VarintSize64(value);
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Proto3 leaves fields at their default out of the wire.
size_t VarintFieldSize(uint64_t value) {
  return value == 0 ? 0 : 1 + VarintSize(value);
}

size_t BytesFieldSize(size_t length) {
  return length == 0 ? 0 : 1 + VarintSize(length) + length;
}

void AppendVarintField(int field, uint64_t value, std::string* out) {
  if (value == 0) return;
  out->push_back(Tag(field, kVarint));
  AppendVarint(value, out);
}

void AppendBytesField(int field, absl::string_view value, std::string* out) {
  if (value.empty()) return;
  out->push_back(Tag(field, kLengthDelimited));
  AppendVarint(value.size(), out);
  out->append(value.data(), value.size());
}

}  // namespace

void AppEventFrame::Add(const AppEventHeader& header,
                        const v1::Invalidation* invalidation) {
  const size_t invalidation_size =
      invalidation == nullptr ? 0 : invalidation->ByteSizeLong();
  const size_t event_size =
      VarintFieldSize(static_cast<uint64_t>(header.kind)) +
      (invalidation == nullptr
           ? 0
           : 1 + VarintSize(invalidation_size) + invalidation_size) +
      BytesFieldSize(header.origin_id.size()) + VarintFieldSize(header.seq) +
      BytesFieldSize(header.reason.size()) + VarintFieldSize(header.event_id);
  bytes_.push_back(Tag(kBatchEvents, kLengthDelimited));
  AppendVarint(event_size, &bytes_);
  AppendVarintField(kKind, static_cast<uint64_t>(header.kind), &bytes_);
  if (invalidation != nullptr) {
    bytes_.push_back(Tag(kInvalidation, kLengthDelimited));
    AppendVarint(invalidation_size, &bytes_);
    const size_t at = bytes_.size();
    bytes_.resize(at + invalidation_size);
    invalidation->SerializeWithCachedSizesToArray(
        reinterpret_cast<uint8_t*>(&bytes_[at]));
  }
  AppendBytesField(kOriginId, header.origin_id, &bytes_);
  AppendVarintField(kSeq, header.seq, &bytes_);
  AppendBytesField(kReason, header.reason, &bytes_);
  AppendVarintField(kEventId, header.event_id, &bytes_);
  ++events_;
}

void AppEventFrame::Clear() {
  bytes_.clear();
  events_ = 0;
}

}  // namespace net
}  // namespace cachemesh
