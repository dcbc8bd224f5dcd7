// Coordinator-origin appends (Kafka's AppendOrigin.COORDINATOR): the group coordinator's
// transactional batches with base sequence -1 open and extend a transaction, are fenced by the
// producer epoch only, keep no sequence state, and survive close and crash like a client's.
#include "partition_log_fixture.h"

#include "protocol/end_txn_marker.h"
#include "protocol/record_batch.h"

namespace runnel::storage {
namespace {

using protocol::txn_result;

class PartitionLogCoordinatorTest : public test::PartitionLogFixture {
  protected:
    void SetUp() override { open_log(); }

    // One transactional batch of `records` records as the group coordinator writes it.
    result<append_info> coordinator_batch(int64_t pid, int16_t epoch, int32_t records = 2,
                                          append_origin origin = append_origin::coordinator) {
        protocol::batch_options o;
        o.producer_id = pid;
        o.producer_epoch = epoch;
        o.base_sequence = -1;
        o.transactional = true;
        std::vector<protocol::record_input> rs(static_cast<size_t>(records));
        for (auto& r : rs) {
            r.timestamp = now_;
            r.key = std::string("k");
            r.value = std::string("v");
        }
        auto b = protocol::build_batch(o, rs);
        return log_->append(b, std::nullopt, origin);
    }
    int64_t plain() {
        protocol::record_input r;
        r.timestamp = now_;
        r.value = std::string("v");
        auto b = protocol::build_batch({}, {r});
        auto info = log_->append(b, std::nullopt);
        EXPECT_TRUE(info) << info.error().message();
        return info ? info->base_offset : -1;
    }
};

TEST_F(PartitionLogCoordinatorTest, BatchWithoutSequenceOpensAndExtendsATransaction) {
    plain();  // 0
    auto first = coordinator_batch(7, 0);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->base_offset, 1);
    EXPECT_FALSE(first->duplicate);
    EXPECT_EQ(log_->last_stable_offset(), 1);
    // The same batch again is new data, not a retry: nothing can match a batch without sequence.
    auto second = coordinator_batch(7, 0);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(second->base_offset, 3);
    EXPECT_FALSE(second->duplicate);
    const producer_entry* e = log_->producers().find(7);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->epoch, 0);
    EXPECT_EQ(e->current_txn_first_offset, 1);
    EXPECT_TRUE(e->batches.empty());
    EXPECT_EQ(log_->last_stable_offset(), 1);

    auto marker = log_->append_marker(7, 0, txn_result::commit, 0, now_);
    ASSERT_TRUE(marker) << marker.error().message();
    EXPECT_EQ(log_->last_stable_offset(), log_->log_end_offset());
}

TEST_F(PartitionLogCoordinatorTest, ClientOriginStillChecksTheSequence) {
    // A client's batch of an unknown producer must start at sequence 0.
    auto refused = coordinator_batch(7, 0, 2, append_origin::client);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), make_error_code(errc::unknown_producer_id));
    EXPECT_EQ(log_->log_end_offset(), 0);
    EXPECT_EQ(log_->producers().find(7), nullptr);
}

TEST_F(PartitionLogCoordinatorTest, OlderEpochIsFenced) {
    ASSERT_TRUE(coordinator_batch(7, 3));
    // An abort marker with a bumped epoch (the producer was re-initialised).
    ASSERT_TRUE(log_->append_marker(7, 4, txn_result::abort, 0, now_));
    const int64_t end = log_->log_end_offset();
    auto stale = coordinator_batch(7, 3);
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error(), make_error_code(errc::invalid_producer_epoch));
    EXPECT_EQ(log_->log_end_offset(), end);
    EXPECT_EQ(log_->last_stable_offset(), end);
    // The current and a newer epoch go in.
    ASSERT_TRUE(coordinator_batch(7, 4));
    ASSERT_TRUE(coordinator_batch(7, 5));
    EXPECT_EQ(log_->producers().find(7)->epoch, 5);
    EXPECT_EQ(log_->producers().find(7)->current_txn_first_offset, end);
}

TEST_F(PartitionLogCoordinatorTest, OpenTransactionSurvivesCloseAndCrash) {
    plain();
    ASSERT_TRUE(coordinator_batch(7, 0));  // 1-2
    ASSERT_TRUE(coordinator_batch(8, 0));  // 3-4
    ASSERT_TRUE(log_->append_marker(7, 0, txn_result::commit, 0, now_));
    ASSERT_EQ(log_->last_stable_offset(), 3);

    const int64_t leo = log_->log_end_offset();
    close_log();
    open_log({leo, 0, true});  // clean: from the snapshot
    EXPECT_EQ(log_->last_stable_offset(), 3);
    EXPECT_TRUE(log_->producers().find(8)->batches.empty());

    // Crash with a torn snapshot: the replay of the batch headers finds the same state.
    log_.reset();
    test::tear_newest_snapshot(path());
    open_log();
    EXPECT_EQ(log_->last_stable_offset(), 3);
    const producer_entry* e = log_->producers().find(8);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->current_txn_first_offset, 3);
    EXPECT_TRUE(e->batches.empty());
    EXPECT_EQ(log_->producers().find(7)->current_txn_first_offset, -1);
    ASSERT_TRUE(log_->append_marker(8, 0, txn_result::abort, 0, now_));
    EXPECT_EQ(log_->last_stable_offset(), log_->log_end_offset());
}

}  // namespace
}  // namespace runnel::storage
