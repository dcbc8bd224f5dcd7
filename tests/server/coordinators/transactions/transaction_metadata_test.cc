// The transaction coordinator's state transitions (Kafka's rules, transactions V1) and the
// __transaction_state record format.
#include "server/coordinators/transactions/transaction_metadata.h"
#include "server/coordinators/transactions/transaction_log_records.h"

#include <gtest/gtest.h>

namespace runnel::server::transactions {
namespace {

using protocol::error_code;

struct TransactionMetadataTest : ::testing::Test {
    int64_t next_id = 1000;
    std::function<int64_t()> ids = [this] { return next_id++; };

    static transaction_metadata state(const transition& t) {
        EXPECT_TRUE(std::holds_alternative<transaction_metadata>(t));
        return std::holds_alternative<transaction_metadata>(t) ? std::get<transaction_metadata>(t)
                                                               : transaction_metadata{};
    }
    static error_code error(const transition& t) {
        EXPECT_TRUE(std::holds_alternative<error_code>(t));
        return std::holds_alternative<error_code>(t) ? std::get<error_code>(t) : error_code::none;
    }
    transaction_metadata fresh() {
        return state(init_producer(nullptr, "tx", 60000, -1, -1, ids, 1));
    }
    transaction_metadata ongoing() {
        auto m = fresh();
        return state(add_partitions(&m, m.producer_id, m.producer_epoch, {{"t", 0}, {"t", 1}}, 10));
    }
};

TEST_F(TransactionMetadataTest, NewIdThenEpochBumps) {
    auto m = fresh();
    EXPECT_EQ(m.producer_id, 1000);
    EXPECT_EQ(m.producer_epoch, 0);
    EXPECT_EQ(m.status, txn_status::empty);
    auto again = state(init_producer(&m, "tx", 30000, -1, -1, ids, 2));
    EXPECT_EQ(again.producer_id, 1000);
    EXPECT_EQ(again.producer_epoch, 1);
    EXPECT_EQ(again.timeout_ms, 30000);
}

TEST_F(TransactionMetadataTest, AddPartitionsStartsATransaction) {
    auto m = fresh();
    EXPECT_EQ(error(add_partitions(&m, 7, 0, {{"t", 0}}, 5)),
              error_code::invalid_producer_id_mapping);
    EXPECT_EQ(error(add_partitions(&m, m.producer_id, 3, {{"t", 0}}, 5)),
              error_code::producer_fenced);
    EXPECT_EQ(error(add_partitions(nullptr, 1, 0, {{"t", 0}}, 5)),
              error_code::invalid_producer_id_mapping);
    auto o = state(add_partitions(&m, m.producer_id, 0, {{"t", 0}}, 5));
    EXPECT_EQ(o.status, txn_status::ongoing);
    EXPECT_EQ(o.start_ms, 5);
    auto same = state(add_partitions(&o, o.producer_id, 0, {{"t", 0}}, 9));
    EXPECT_EQ(same, o);  // already in: nothing to write
    auto more = state(add_partitions(&o, o.producer_id, 0, {{"u", 2}}, 9));
    EXPECT_EQ(more.partitions.size(), 2u);
    EXPECT_EQ(more.start_ms, 5);  // still the same transaction
}

TEST_F(TransactionMetadataTest, CommitAndAbortAndTheirRetries) {
    auto o = ongoing();
    auto prep = state(end_transaction(&o, o.producer_id, o.producer_epoch, true, 20));
    EXPECT_EQ(prep.status, txn_status::prepare_commit);
    EXPECT_EQ(error(end_transaction(&prep, o.producer_id, o.producer_epoch, true, 21)),
              error_code::concurrent_transactions);
    EXPECT_EQ(error(end_transaction(&prep, o.producer_id, o.producer_epoch, false, 21)),
              error_code::invalid_txn_state);
    EXPECT_EQ(error(add_partitions(&prep, o.producer_id, o.producer_epoch, {{"t", 0}}, 21)),
              error_code::concurrent_transactions);
    auto done = complete_transaction(prep, 22);
    EXPECT_EQ(done.status, txn_status::complete_commit);
    EXPECT_TRUE(done.partitions.empty());
    EXPECT_EQ(error(end_transaction(&done, o.producer_id, o.producer_epoch, true, 23)),
              error_code::none);  // a retried commit
    EXPECT_EQ(error(end_transaction(&done, o.producer_id, o.producer_epoch, false, 23)),
              error_code::invalid_txn_state);
    // The next transaction starts from CompleteCommit.
    auto next = state(add_partitions(&done, o.producer_id, o.producer_epoch, {{"v", 0}}, 30));
    EXPECT_EQ(next.status, txn_status::ongoing);
    EXPECT_EQ(next.start_ms, 30);
    EXPECT_EQ(next.partitions.size(), 1u);

    auto aborting = state(end_transaction(&next, o.producer_id, o.producer_epoch, false, 31));
    EXPECT_EQ(aborting.status, txn_status::prepare_abort);
    EXPECT_EQ(complete_transaction(aborting, 32).status, txn_status::complete_abort);

    auto empty = fresh();
    EXPECT_EQ(error(end_transaction(&empty, empty.producer_id, 0, true, 1)),
              error_code::invalid_txn_state);
}

TEST_F(TransactionMetadataTest, InitProducerIdFencesAnOpenTransaction) {
    auto o = ongoing();
    auto fence = state(init_producer(&o, "tx", 60000, -1, -1, ids, 40));
    EXPECT_EQ(fence.status, txn_status::prepare_epoch_fence);
    EXPECT_EQ(fence.producer_epoch, o.producer_epoch + 1);
    EXPECT_EQ(fence.partitions, o.partitions);  // the open transaction is aborted on them
    // The old producer is fenced at once.
    EXPECT_EQ(error(end_transaction(&fence, o.producer_id, o.producer_epoch, true, 41)),
              error_code::producer_fenced);
    auto abort = fence_to_abort(fence, 41);
    EXPECT_EQ(abort.status, txn_status::prepare_abort);
    EXPECT_EQ(error(init_producer(&abort, "tx", 60000, -1, -1, ids, 42)),
              error_code::concurrent_transactions);
    auto done = complete_transaction(abort, 43);
    auto retried = state(init_producer(&done, "tx", 60000, -1, -1, ids, 44));
    EXPECT_EQ(retried.producer_epoch, o.producer_epoch + 2);
    EXPECT_EQ(retried.status, txn_status::empty);
}

TEST_F(TransactionMetadataTest, Kip360EpochBumpsAndRetries) {
    auto m = fresh();  // epoch 0
    auto bumped = state(init_producer(&m, "tx", 60000, m.producer_id, 0, ids, 2));
    EXPECT_EQ(bumped.producer_epoch, 1);
    EXPECT_EQ(bumped.last_producer_epoch, 0);
    // The response was lost and the client asks again with its old epoch: same answer.
    auto retry = state(init_producer(&bumped, "tx", 60000, m.producer_id, 0, ids, 3));
    EXPECT_EQ(retry.producer_epoch, 1);
    EXPECT_EQ(error(init_producer(&bumped, "tx", 60000, m.producer_id, 5, ids, 3)),
              error_code::producer_fenced);
    EXPECT_EQ(error(init_producer(&bumped, "tx", 60000, 4242, 1, ids, 3)),
              error_code::producer_fenced);
}

TEST_F(TransactionMetadataTest, ExhaustedEpochRotatesTheProducerId) {
    auto m = fresh();
    m.producer_epoch = std::numeric_limits<int16_t>::max() - 1;
    auto rotated = state(init_producer(&m, "tx", 60000, -1, -1, ids, 2));
    EXPECT_NE(rotated.producer_id, m.producer_id);
    EXPECT_EQ(rotated.previous_producer_id, m.producer_id);
    EXPECT_EQ(rotated.producer_epoch, 0);
}

TEST_F(TransactionMetadataTest, TimeoutAbortsAndFences) {
    auto o = ongoing();  // started at 10 with a 60 s timeout
    EXPECT_FALSE(abort_if_timed_out(o, 10 + 60000));
    auto aborted = abort_if_timed_out(o, 10 + 60001);
    ASSERT_TRUE(aborted);
    EXPECT_EQ(aborted->status, txn_status::prepare_abort);
    EXPECT_EQ(aborted->producer_epoch, o.producer_epoch + 1);
    EXPECT_FALSE(abort_if_timed_out(fresh(), 1'000'000'000));  // nothing open
}

TEST_F(TransactionMetadataTest, RecordsRoundTripInKafkasFormat) {
    auto o = ongoing();
    auto key = encode_key("tx");
    EXPECT_EQ(key, (std::vector<uint8_t>{0, 0, 0, 2, 't', 'x'}));  // version 0, string "tx"
    auto value = encode_value(o);
    ASSERT_TRUE(value);
    EXPECT_EQ((*value)[0], 0);
    EXPECT_EQ((*value)[1], 0);  // value version 0
    auto back = decode_record(key, std::span<const uint8_t>(*value));
    ASSERT_TRUE(back && back->metadata);
    EXPECT_EQ(back->transactional_id, "tx");
    EXPECT_EQ(back->metadata->producer_id, o.producer_id);
    EXPECT_EQ(back->metadata->status, txn_status::ongoing);
    EXPECT_EQ(back->metadata->partitions, o.partitions);
    EXPECT_EQ(back->metadata->start_ms, o.start_ms);

    auto tomb = decode_record(key, std::nullopt);
    ASSERT_TRUE(tomb);
    EXPECT_FALSE(tomb->metadata);
    std::vector<uint8_t> bad = *value;
    bad[0] = 9;  // unknown version
    EXPECT_FALSE(decode_record(key, std::span<const uint8_t>(bad)));
    bad = *value;
    bad.pop_back();
    EXPECT_FALSE(decode_record(key, std::span<const uint8_t>(bad)));
}

}  // namespace
}  // namespace runnel::server::transactions
