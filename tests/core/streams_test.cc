// Invalidation streams: batching, in-order exactly-once delivery, gaps,
// flushes and the retransmission ring.
#include "core/streams.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures.h"

namespace cachemesh {
namespace {

using ::testing::ElementsAre;

const absl::Time kStart = absl::UnixEpoch() + absl::Seconds(1000);

using test::Update;

std::shared_ptr<const v1::InvalidationBatch> Batch(uint64_t first_seq,
                                                   int count) {
  auto batch = std::make_shared<v1::InvalidationBatch>();
  batch->set_first_seq(first_seq);
  for (int i = 0; i < count; ++i) {
    *batch->add_invalidations() = Update("k" + std::to_string(first_seq + i));
  }
  return batch;
}

std::vector<uint64_t> DeliveredSeqs(const std::vector<AppDelivery>& out) {
  std::vector<uint64_t> seqs;
  for (const AppDelivery& delivery : out) {
    if (delivery.kind == v1::AppEvent::INVALIDATION) {
      seqs.push_back(delivery.seq);
    }
  }
  return seqs;
}

TEST(OutgoingStreamTest, BatchesWithinTheWindowAndNumbersFromOne) {
  StreamOptions options;
  options.batch_max_size = 3;
  OutgoingStream stream(options);
  EXPECT_EQ(stream.FlushDeadline(), absl::InfiniteFuture());
  const std::vector<v1::Invalidation> two = {Update("a"), Update("b")};
  stream.Publish(two, kStart);
  EXPECT_EQ(stream.FlushDeadline(), kStart + options.batch_max_delay);
  stream.Publish(two, kStart + absl::Microseconds(10));
  EXPECT_TRUE(stream.Full());

  v1::Envelope header;
  header.set_cluster("c");
  header.mutable_sender()->set_id("me");
  std::vector<std::shared_ptr<const v1::Envelope>> batches =
      stream.TakeBatches(header, kStart);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0]->sender().id(), "me");
  EXPECT_EQ(batches[0]->batch().first_seq(), 1u);
  EXPECT_EQ(batches[0]->batch().invalidations_size(), 3);
  EXPECT_EQ(batches[1]->batch().first_seq(), 4u);
  EXPECT_EQ(batches[1]->batch().invalidations(0).key(), "b");
  EXPECT_EQ(stream.published_seq(), 4u);

  // The ring shares the sent invalidations: no copies.
  std::vector<const StoredInvalidation*> held = stream.ring().Range(2, 3);
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0]->invalidation.get(), &batches[0]->batch().invalidations(1));
  EXPECT_EQ(held[1]->seq, 3u);
}

TEST(IncomingStreamTest, KeepsTheReceivedBatchWhileHoldingItsInvalidations) {
  IncomingStream stream("a", 1, 0, StreamOptions(), kStart);
  std::vector<AppDelivery> out;
  std::shared_ptr<const v1::InvalidationBatch> batch = Batch(1, 2);
  const v1::Invalidation* first = &batch->invalidations(0);
  std::weak_ptr<const v1::InvalidationBatch> watch = batch;
  stream.OnBatch(std::move(batch), false, kStart, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].invalidation.get(), first);
  out.clear();
  // The retransmission ring still holds both.
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(stream.ring().Range(1, 2)[0]->invalidation.get(), first);
}

TEST(IncomingStreamTest, CopiesWhatItKeepsFromARetransmission) {
  IncomingStream stream("a", 1, 0, StreamOptions(), kStart);
  std::vector<AppDelivery> out;
  std::shared_ptr<const v1::InvalidationBatch> batch = Batch(1, 2);
  std::weak_ptr<const v1::InvalidationBatch> watch = batch;
  stream.OnBatch(std::move(batch), /*recovered=*/true, kStart, &out);
  ASSERT_EQ(out.size(), 2u);
  // Nothing keeps the retransmitted batch itself alive.
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(out[1].invalidation->key(), "k2");
  EXPECT_EQ(stream.ring().Range(1, 2).size(), 2u);
}

TEST(IncomingStreamTest, DeliversInOrderExactlyOnce) {
  IncomingStream stream("a", 1, 0, StreamOptions(), kStart);
  std::vector<AppDelivery> out;
  stream.OnBatch(Batch(3, 2), false, kStart, &out);  // Ahead of a gap.
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(stream.HasGap());
  EXPECT_EQ(stream.MissingRange(), std::make_pair(uint64_t{1}, uint64_t{2}));

  stream.OnBatch(Batch(1, 2), true, kStart, &out);
  stream.OnBatch(Batch(2, 3), false, kStart, &out);  // Duplicates.
  EXPECT_THAT(DeliveredSeqs(out), ElementsAre(1, 2, 3, 4));
  EXPECT_TRUE(out[0].recovered);
  EXPECT_FALSE(stream.HasGap());
}

TEST(IncomingStreamTest, HeartbeatSequenceRevealsATailGap) {
  IncomingStream stream("a", 1, 0, StreamOptions(), kStart);
  std::vector<AppDelivery> out;
  stream.OnBatch(Batch(1, 1), false, kStart, &out);
  stream.OnKnownSeq(5, kStart + absl::Milliseconds(1));
  EXPECT_TRUE(stream.HasGap());
  EXPECT_EQ(stream.MissingRange(), std::make_pair(uint64_t{2}, uint64_t{5}));
  EXPECT_EQ(stream.gap_since(), kStart + absl::Milliseconds(1));
}

TEST(IncomingStreamTest, FlushCoversTheGapThenDeliversWhatFollows) {
  IncomingStream stream("a", 7, 0, StreamOptions(), kStart);
  std::vector<AppDelivery> out;
  stream.OnBatch(Batch(4, 2), false, kStart, &out);
  stream.FlushThrough(3, "gone", kStart, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, v1::AppEvent::FLUSH);
  EXPECT_EQ(out[0].flushed_from, 1u);
  EXPECT_EQ(out[0].flushed_to, 3u);
  EXPECT_EQ(out[0].origin_instance, 7u);
  EXPECT_THAT(DeliveredSeqs(out), ElementsAre(4, 5));
  EXPECT_FALSE(stream.HasGap());
}

TEST(IncomingStreamTest, JoinerStartsAtTheCurrentSequence) {
  IncomingStream stream("a", 1, 41, StreamOptions(), kStart);
  std::vector<AppDelivery> out;
  stream.OnBatch(Batch(40, 3), false, kStart, &out);
  EXPECT_THAT(DeliveredSeqs(out), ElementsAre(42));
  EXPECT_FALSE(stream.HasGap());
}

TEST(IncomingStreamTest, RelayProgressIsRememberedAndRevealsGaps) {
  IncomingStream stream("a", 1, 0, StreamOptions(), kStart);
  stream.OnRelayProgress("b", 9, kStart);
  stream.OnRelayProgress("b", 4, kStart);  // Older news.
  EXPECT_EQ(stream.relay_progress().at("b"), 9u);
  EXPECT_EQ(stream.known_max(), 9u);
}

TEST(RetransmitRingTest, EvictsTheOldestAndSkipsHoles) {
  RetransmitRing ring(3);
  for (uint64_t seq : {1, 2, 5, 6})
    ring.Push(
        {seq, std::make_shared<const v1::Invalidation>(Update("k")), kStart});
  EXPECT_EQ(ring.size(), 3u);
  std::vector<uint64_t> seqs;
  for (const StoredInvalidation* entry : ring.Range(1, 6)) {
    seqs.push_back(entry->seq);
  }
  EXPECT_THAT(seqs, ElementsAre(2, 5, 6));
}

TEST(ValidateInvalidationsTest, NamesTheOffendingField) {
  std::vector<v1::Invalidation> invalidations = {Update("a"), Update("b")};
  invalidations[1].clear_region();
  EXPECT_EQ(ValidateInvalidations(invalidations).message(),
            "invalidations[1].region is empty");
  invalidations[1].set_op(v1::Invalidation::CLEAR_ALL);
  EXPECT_TRUE(ValidateInvalidations(invalidations).ok());
  invalidations[0].clear_op();
  EXPECT_EQ(ValidateInvalidations(invalidations).message(),
            "invalidations[0].op is missing");
}

}  // namespace
}  // namespace cachemesh
