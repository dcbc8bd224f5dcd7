// Transaction markers: the control batch bytes Kafka's EndTransactionMarker produces, and parsing
// them back.
#include "protocol/end_txn_marker.h"

#include "protocol/crc32c.h"
#include "protocol/record_batch.h"

#include <gtest/gtest.h>

namespace runnel::protocol {
namespace {

namespace L = batch_layout;

TEST(EndTxnMarker, BatchIsKafkasControlBatch) {
    auto b = build_end_txn_marker_batch({4242, 7, 1'700'000'000'123, 0},
                                        {txn_result::commit, 0x01020304});
    // Header (61 bytes) + one 17-byte record: Kafka's endTxnMarkerBatchSize.
    ASSERT_EQ(b.size(), 78u);
    auto h = parse_batch_header(b);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, 0);
    EXPECT_EQ(h->batch_length, 66);
    EXPECT_EQ(h->partition_leader_epoch, 0);
    EXPECT_EQ(h->magic, 2);
    EXPECT_EQ(h->attributes, L::control_bit | L::transactional_bit);  // no codec, CreateTime
    EXPECT_EQ(h->last_offset_delta, 0);
    EXPECT_EQ(h->base_timestamp, 1'700'000'000'123);
    EXPECT_EQ(h->max_timestamp, 1'700'000'000'123);
    EXPECT_EQ(h->producer_id, 4242);
    EXPECT_EQ(h->producer_epoch, 7);
    EXPECT_EQ(h->base_sequence, -1);
    EXPECT_EQ(h->records_count, 1);
    EXPECT_EQ(h->crc, crc32c(b.data() + L::attributes, b.size() - L::attributes));

    // The record: length 16, attributes 0, timestamp delta 0, offset delta 0, key of 4 bytes
    // [version 0][type 1], value of 6 bytes [version 0][coordinator epoch], no headers (varints
    // zigzag-encoded).
    const std::vector<uint8_t> want_record = {0x20, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01,
                                              0x0c, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00};
    EXPECT_EQ(std::vector<uint8_t>(b.begin() + L::header_size, b.end()), want_record);

    int n = 0;
    EXPECT_TRUE(for_each_record(
        b,
        [&](const record& r) {
            ++n;
            EXPECT_EQ(r.offset, 0);
            EXPECT_EQ(r.timestamp, 1'700'000'000'123);
            return true;
        },
        nullptr));
    EXPECT_EQ(n, 1);

    // Produce refuses control batches from clients.
    auto v = validate_batches(b, -1);
    EXPECT_EQ(v.error, error_code::invalid_record);
}

TEST(EndTxnMarker, ParsesBothTypesBack) {
    for (auto result : {txn_result::abort, txn_result::commit}) {
        auto b = build_end_txn_marker_batch({1, 0, 5, -1}, {result, -1});
        auto m = parse_end_txn_marker(b);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->result, result);
        EXPECT_EQ(m->coordinator_epoch, -1);
    }
    auto abort = build_end_txn_marker_batch({1, 0, 5, -1}, {txn_result::abort, 9});
    EXPECT_EQ(abort[L::header_size + 8], 0x00);  // key type 0: abort
}

TEST(EndTxnMarker, OtherBatchesAreNotMarkers) {
    // A data batch.
    batch_options o;
    record_input r;
    r.key = std::string("\0\0\0\1", 4);
    r.value = std::string("\0\0\0\0\0\1", 6);
    r.timestamp = 1;
    EXPECT_FALSE(parse_end_txn_marker(build_batch(o, {r})));
    // A control batch of another type (KRaft's LeaderChange is type 2).
    o.control = true;
    o.transactional = true;
    r.key = std::string("\0\0\0\2", 4);
    EXPECT_FALSE(parse_end_txn_marker(build_batch(o, {r})));
    // An empty control batch (what a cleaner leaves) and a short value.
    EXPECT_FALSE(parse_end_txn_marker(build_batch(o, {})));
    r.key = std::string("\0\0\0\0", 4);
    r.value = std::string("\0\0\0", 3);
    EXPECT_FALSE(parse_end_txn_marker(build_batch(o, {r})));
    // Truncated input.
    auto b = build_end_txn_marker_batch({1, 0, 5, -1}, {txn_result::abort, 3});
    EXPECT_FALSE(parse_end_txn_marker(std::span(b.data(), 40)));
}

}  // namespace
}  // namespace runnel::protocol
