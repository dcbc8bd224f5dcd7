// Idempotent producers in a partition log: sequence checks, retries answered with the original
// offsets, epochs, expiry, and the state surviving close/reopen and a crash (snapshots + replay).
#include "storage/producer_state.h"
#include "storage/partition_log.h"

#include "protocol/record_batch.h"
#include "test_batches.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::temp_dir;

std::vector<uint8_t> idempotent_batch(int64_t pid, int16_t epoch, int32_t seq, int records) {
    protocol::batch_options o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    std::vector<protocol::record_input> rs(static_cast<size_t>(records));
    for (int i = 0; i < records; ++i) {
        rs[static_cast<size_t>(i)].timestamp = 1'700'000'000'000 + i;
        rs[static_cast<size_t>(i)].value = std::to_string(i);
    }
    return protocol::build_batch(o, rs);
}

class ProducerStateTest : public ::testing::Test {
  protected:
    void open(open_options o = {}) {
        auto l = partition_log::open(dir_.path() / "p-0", config_, o);
        ASSERT_TRUE(l) << l.error().message();
        log_ = std::move(*l);
    }
    result<append_info> send(int64_t pid, int16_t epoch, int32_t seq, int records) {
        auto b = idempotent_batch(pid, epoch, seq, records);
        return log_->append(b, std::nullopt);
    }
    temp_dir dir_;
    log_config config_{};
    std::unique_ptr<partition_log> log_;
};

TEST_F(ProducerStateTest, SequencesRetriesAndGaps) {
    open();
    auto a = send(7, 0, 0, 3);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->base_offset, 0);
    auto b = send(7, 0, 3, 2);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->base_offset, 3);

    // A retry of an earlier batch: nothing written, the original offsets come back.
    auto retry = send(7, 0, 0, 3);
    ASSERT_TRUE(retry);
    EXPECT_TRUE(retry->duplicate);
    EXPECT_EQ(retry->base_offset, 0);
    EXPECT_EQ(retry->last_offset, 2);
    EXPECT_EQ(log_->log_end_offset(), 5);

    EXPECT_EQ(send(7, 0, 9, 1).error(), make_error_code(errc::out_of_order_sequence));
    EXPECT_EQ(send(7, 0, 4, 1).error(), make_error_code(errc::out_of_order_sequence));
    EXPECT_EQ(log_->log_end_offset(), 5);  // nothing written by refused batches

    // Another producer is independent; an unknown one must start at 0.
    EXPECT_EQ(send(8, 0, 5, 1).error(), make_error_code(errc::unknown_producer_id));
    ASSERT_TRUE(send(8, 0, 0, 1));
    // Non-idempotent batches are never checked.
    ASSERT_TRUE(send(-1, -1, -1, 2));
}

TEST_F(ProducerStateTest, OnlyTheLastFiveBatchesAreRecognised) {
    open();
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(send(3, 0, i, 1));
    EXPECT_TRUE(send(3, 0, 2, 1)->duplicate);  // within the last five
    // Older than the last five: neither a known retry nor the next sequence.
    EXPECT_EQ(send(3, 0, 1, 1).error(), make_error_code(errc::out_of_order_sequence));
}

TEST_F(ProducerStateTest, Epochs) {
    open();
    ASSERT_TRUE(send(5, 2, 0, 1));
    ASSERT_TRUE(send(5, 2, 1, 1));
    EXPECT_EQ(send(5, 1, 2, 1).error(), make_error_code(errc::invalid_producer_epoch));
    // A bumped epoch must restart at sequence 0.
    EXPECT_EQ(send(5, 3, 2, 1).error(), make_error_code(errc::out_of_order_sequence));
    ASSERT_TRUE(send(5, 3, 0, 1));
    EXPECT_EQ(send(5, 2, 2, 1).error(), make_error_code(errc::invalid_producer_epoch));
    EXPECT_EQ(log_->producers().find(5)->epoch, 3);
}

TEST_F(ProducerStateTest, SequenceNumbersWrapAround) {
    open();
    ASSERT_TRUE(send(4, 0, 0, 1));
    producer_state s;
    producer_append a{4, 0, std::numeric_limits<int32_t>::max() - 1,
                      std::numeric_limits<int32_t>::max(), 0};
    s.update(a, 10, 11);
    EXPECT_TRUE(s.check({4, 0, 0, 3, 0}));  // after INT32_MAX comes 0
    EXPECT_FALSE(s.check({4, 0, 1, 3, 0}));
}

TEST_F(ProducerStateTest, ExpiredProducersAreForgotten) {
    open();
    ASSERT_TRUE(send(9, 0, 0, 1));  // timestamps ~1.7e12
    EXPECT_EQ(log_->expire_producers(1'700'000'000'000 + 10, 86'400'000), 0u);
    EXPECT_EQ(log_->expire_producers(1'700'000'000'000 + 86'400'001, 86'400'000), 1u);
    EXPECT_EQ(send(9, 0, 1, 1).error(), make_error_code(errc::unknown_producer_id));
}

TEST_F(ProducerStateTest, StateSurvivesCleanCloseThroughASnapshot) {
    open();
    ASSERT_TRUE(send(11, 1, 0, 2));
    ASSERT_TRUE(send(11, 1, 2, 2));
    int64_t leo = log_->log_end_offset();
    ASSERT_FALSE(log_->close());
    EXPECT_TRUE(fs::exists(dir_.path() / "p-0" / segment_file_name(leo, snapshot_suffix)));
    open({leo, 0, true});
    auto dup = send(11, 1, 2, 2);
    ASSERT_TRUE(dup);
    EXPECT_TRUE(dup->duplicate);
    EXPECT_EQ(dup->base_offset, 2);
    ASSERT_TRUE(send(11, 1, 4, 1));
}

TEST_F(ProducerStateTest, StateIsRebuiltAfterACrashFromRollSnapshotsAndTheLog) {
    config_.segment_bytes = 300;
    open();
    int32_t seq = 0;
    for (int i = 0; i < 12; ++i) {
        ASSERT_TRUE(send(21, 0, seq, 2));
        seq += 2;
    }
    ASSERT_GT(log_->segment_count(), 2u);
    EXPECT_FALSE(list_producer_snapshots(dir_.path() / "p-0").empty());  // written at rolls
    // A torn snapshot (they are written without a sync) is skipped for an older one or the log.
    test::tear_newest_snapshot(dir_.path() / "p-0");
    log_.reset();  // a crash: no close, no final snapshot
    open({0, 0, false});
    auto dup = send(21, 0, seq - 2, 2);  // the last batch, retried
    ASSERT_TRUE(dup);
    EXPECT_TRUE(dup->duplicate);
    EXPECT_EQ(send(21, 0, seq + 1, 1).error(), make_error_code(errc::out_of_order_sequence));
    ASSERT_TRUE(send(21, 0, seq, 1));
}

TEST_F(ProducerStateTest, SnapshotRoundTripsInKafkasFormat) {
    producer_state s;
    s.update({1, 4, 0, 9, 1234}, 100, 109);
    s.update({2, 0, 5, 5, 99}, 110, 110);
    auto bytes = s.serialize();
    ASSERT_EQ(bytes.size(), 2u + 4u + 4u + 2 * 46u);  // version, crc, count, 46 bytes per entry
    EXPECT_EQ(bytes[0], 0);
    EXPECT_EQ(bytes[1], 1);  // version 1
    auto back = producer_state::parse(bytes);
    ASSERT_TRUE(back);
    ASSERT_NE(back->find(1), nullptr);
    EXPECT_EQ(back->find(1)->epoch, 4);
    EXPECT_EQ(back->find(1)->batches.back().first_seq, 0);
    EXPECT_EQ(back->find(1)->batches.back().last_offset, 109);
    EXPECT_EQ(back->find(2)->batches.back().first_offset, 110);
    bytes[20] ^= 1;
    EXPECT_FALSE(producer_state::parse(bytes));  // CRC-32C catches it
}

TEST_F(ProducerStateTest, SnapshotKeepsOpenTransactionsAndCoordinatorEpochs) {
    producer_state s;
    producer_append txn{1, 0, 0, 4, 1000, true};
    s.update(txn, 100, 104);  // producer 1 opens a transaction at 100
    producer_append later{2, 3, 0, 0, 1001, true};
    s.update(later, 105, 105);
    marker_append m{2, 3, 7, false, 1002};
    auto done = s.completion(m, 106);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->first_offset, 105);
    EXPECT_TRUE(done->aborted);
    EXPECT_EQ(done->last_stable_offset, 100);  // producer 1 still holds the LSO
    s.apply_marker(m, 106);
    s.update({3, 0, 0, 0, 1003, true}, 107, 107);
    EXPECT_EQ(s.first_unstable_offset(), 100);

    auto back = producer_state::parse(s.serialize());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->find(1)->current_txn_first_offset, 100);
    EXPECT_EQ(back->find(2)->current_txn_first_offset, -1);
    EXPECT_EQ(back->find(2)->coordinator_epoch, 7);
    EXPECT_EQ(back->ongoing_transactions(), (std::map<int64_t, int64_t>{{100, 1}, {107, 3}}));
    EXPECT_EQ(back->first_unstable_offset(), 100);
    // The reloaded state goes on as the original would.
    EXPECT_EQ(back->check_marker({2, 3, 6, true, 0}),
              make_error_code(errc::transaction_coordinator_fenced));
    EXPECT_EQ(back->check({1, 0, 5, 5, 0, false}).error(),
              make_error_code(errc::invalid_txn_state));
    back->apply_marker({1, 0, 0, true, 1004}, 108);
    EXPECT_EQ(back->first_unstable_offset(), 107);
    // Expiry and retention never drop a producer with an open transaction.
    EXPECT_EQ(back->expire(1'000'000'000, 1), 2u);  // producers 1 and 2 go, 3 stays
    back->drop_below(1'000'000);
    ASSERT_NE(back->find(3), nullptr);
    EXPECT_EQ(back->first_unstable_offset(), 107);
}

TEST_F(ProducerStateTest, ForEachVisitsEveryProducerWithItsLastSequence) {
    producer_state s;
    s.update({1, 0, 0, 2, 500}, 0, 2);
    s.update({1, 0, 3, 7, 600}, 3, 7);        // producer 1's newest batch ends at sequence 7
    s.update({2, 4, 0, 0, 700, true}, 8, 8);  // producer 2 opens a transaction at 8
    s.apply_marker({3, 1, 5, true, 800}, 9);  // producer 3: only a marker, no batches
    std::map<int64_t, producer_entry> seen;
    s.for_each([&](int64_t id, const producer_entry& e) {
        EXPECT_TRUE(seen.emplace(id, e).second) << "producer " << id << " visited twice";
    });
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[1].last_seq(), 7);
    EXPECT_EQ(seen[1].last_timestamp, 600);
    EXPECT_EQ(seen[1].current_txn_first_offset, -1);
    EXPECT_EQ(seen[2].epoch, 4);
    EXPECT_EQ(seen[2].last_seq(), 0);
    EXPECT_EQ(seen[2].current_txn_first_offset, 8);
    EXPECT_EQ(seen[3].last_seq(), -1);
    EXPECT_EQ(seen[3].coordinator_epoch, 5);
    EXPECT_EQ(seen[3].epoch, 1);
    // Expired producers are no longer visited.
    s.expire(650 + 1000, 1000);
    std::vector<int64_t> left;
    s.for_each([&](int64_t id, const producer_entry&) { left.push_back(id); });
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<int64_t>{2, 3}));
}

}  // namespace
}  // namespace runnel::storage
