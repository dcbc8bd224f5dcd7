// transaction_coordinator with hooks standing in for __transaction_state and the data
// partitions: what is written, in which order, and what clients are told.
#include "server/coordinators/transactions/transaction_coordinator.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "server/coordinators/transactions/transaction_log_records.h"

namespace runnel::server::transactions {
namespace {

using protocol::error_code;

struct marker {
    int64_t producer_id;
    int16_t epoch;
    bool commit;
    std::set<topic_partition> partitions;
};

class TransactionCoordinatorTest : public ::testing::Test {
  protected:
    TransactionCoordinatorTest() : coordinator_(hooks(), 900000) {}

    coordinator_hooks hooks() {
        coordinator_hooks h;
        h.append =
            [this](int32_t p, std::vector<uint8_t> key,
                   std::optional<std::vector<uint8_t>> value) -> asio::awaitable<std::error_code> {
            if (fail_appends_) co_return std::make_error_code(std::errc::io_error);
            std::optional<std::span<const uint8_t>> v;
            if (value) v = std::span<const uint8_t>(*value);
            auto rec = decode_record(key, v);
            EXPECT_TRUE(rec);
            if (rec && rec->metadata) statuses_.push_back(rec->metadata->status);
            if (rec && !rec->metadata) ++tombstones_;
            partitions_.push_back(p);
            co_return std::error_code{};
        };
        h.write_markers = [this](
                              int32_t, int64_t pid, int16_t epoch, bool commit,
                              std::set<topic_partition> tps) -> asio::awaitable<std::error_code> {
            if (fail_markers_) co_return std::make_error_code(std::errc::io_error);
            markers_.push_back({pid, epoch, commit, std::move(tps)});
            co_return std::error_code{};
        };
        h.new_producer_id = [this](int64_t& id) {
            id = next_id_++;
            return std::error_code{};
        };
        h.now_ms = [this] { return now_; };
        return h;
    }

    // Runs one coordinator call to completion.
    template <class T>
    T run(asio::awaitable<T> a) {
        T out{};
        auto wrap = [&]() -> asio::awaitable<void> { out = co_await std::move(a); };
        asio::co_spawn(io_, wrap(), asio::detached);
        io_.restart();
        io_.run();
        return out;
    }
    init_result init(const std::string& id, int64_t pid = -1, int16_t epoch = -1) {
        return run(coordinator_.init_producer_id(7, id, 60000, pid, epoch));
    }

    asio::io_context io_;
    transaction_coordinator coordinator_;
    std::vector<txn_status> statuses_;
    std::vector<int32_t> partitions_;
    std::vector<marker> markers_;
    int tombstones_ = 0;
    bool fail_appends_ = false;
    bool fail_markers_ = false;
    int64_t next_id_ = 500;
    int64_t now_ = 1000;
};

TEST_F(TransactionCoordinatorTest, CommitWritesMarkersThenCompletes) {
    auto r = init("tx");
    ASSERT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.producer_id, 500);
    EXPECT_EQ(r.producer_epoch, 0);
    EXPECT_EQ(run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}, {"b", 1}})),
              error_code::none);
    EXPECT_EQ(run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}})), error_code::none);
    EXPECT_EQ(run(coordinator_.end_transaction(7, "tx", 500, 0, true)), error_code::none);
    // Empty, Ongoing (the repeated partition wrote nothing), PrepareCommit, CompleteCommit.
    EXPECT_EQ(statuses_,
              (std::vector<txn_status>{txn_status::empty, txn_status::ongoing,
                                       txn_status::prepare_commit, txn_status::complete_commit}));
    EXPECT_EQ(partitions_, std::vector<int32_t>(4, 7));
    ASSERT_EQ(markers_.size(), 1u);
    EXPECT_TRUE(markers_[0].commit);
    EXPECT_EQ(markers_[0].partitions.size(), 2u);
    EXPECT_EQ(coordinator_.find("tx")->status, txn_status::complete_commit);
    // A retried EndTxn is fine and writes nothing.
    EXPECT_EQ(run(coordinator_.end_transaction(7, "tx", 500, 0, true)), error_code::none);
    EXPECT_EQ(markers_.size(), 1u);
}

TEST_F(TransactionCoordinatorTest, ASecondProducerFencesTheFirstAndAbortsItsTransaction) {
    init("tx");
    run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}}));
    auto second = init("tx");
    EXPECT_EQ(second.error, error_code::concurrent_transactions);
    ASSERT_EQ(markers_.size(), 1u);
    EXPECT_FALSE(markers_[0].commit);
    EXPECT_EQ(markers_[0].epoch, 1);  // the marker carries the fencing epoch
    EXPECT_EQ(coordinator_.find("tx")->status, txn_status::complete_abort);
    auto retried = init("tx");
    ASSERT_EQ(retried.error, error_code::none);
    EXPECT_EQ(retried.producer_epoch, 2);
    // The first producer is fenced.
    EXPECT_EQ(run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}})),
              error_code::producer_fenced);
    EXPECT_EQ(run(coordinator_.end_transaction(7, "tx", 500, 0, true)),
              error_code::producer_fenced);
}

TEST_F(TransactionCoordinatorTest, FailedWritesChangeNothing) {
    init("tx");
    fail_appends_ = true;
    EXPECT_EQ(run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}})),
              error_code::coordinator_not_available);
    EXPECT_EQ(coordinator_.find("tx")->status, txn_status::empty);
    fail_appends_ = false;
    run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}}));
    fail_markers_ = true;
    EXPECT_EQ(run(coordinator_.end_transaction(7, "tx", 500, 0, false)),
              error_code::coordinator_not_available);
    // Prepared but not complete: the client is told to wait, and resume() finishes it.
    EXPECT_EQ(coordinator_.find("tx")->status, txn_status::prepare_abort);
    EXPECT_EQ(coordinator_.unfinished(), std::vector<std::string>{"tx"});
    EXPECT_EQ(run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}})),
              error_code::concurrent_transactions);
    fail_markers_ = false;
    auto resume = [&]() -> asio::awaitable<int> {
        co_await coordinator_.resume("tx");
        co_return 0;
    };
    run(resume());
    EXPECT_EQ(coordinator_.find("tx")->status, txn_status::complete_abort);
    EXPECT_TRUE(coordinator_.unfinished().empty());
}

TEST_F(TransactionCoordinatorTest, TimedOutTransactionsAreAbortedAndTheProducerFenced) {
    init("tx");
    run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}}));
    now_ += 60000;
    EXPECT_EQ(run(coordinator_.abort_timed_out()), 0u);
    now_ += 1;
    EXPECT_EQ(run(coordinator_.abort_timed_out()), 1u);
    ASSERT_EQ(markers_.size(), 1u);
    EXPECT_FALSE(markers_[0].commit);
    EXPECT_EQ(coordinator_.find("tx")->status, txn_status::complete_abort);
    EXPECT_EQ(run(coordinator_.end_transaction(7, "tx", 500, 0, true)),
              error_code::producer_fenced);
}

TEST_F(TransactionCoordinatorTest, TimeoutAboveTheBrokerMaximumIsRefused) {
    auto r = run(coordinator_.init_producer_id(7, "tx", 900001, -1, -1));
    EXPECT_EQ(r.error, error_code::invalid_transaction_timeout);
    EXPECT_EQ(coordinator_.find("tx"), nullptr);
}

TEST_F(TransactionCoordinatorTest, LoadedStateAndTombstones) {
    transaction_metadata m;
    m.transactional_id = "old";
    m.producer_id = 42;
    m.producer_epoch = 3;
    m.status = txn_status::prepare_commit;
    m.partitions = {{"z", 4}};
    coordinator_.load(2, "old", m);
    EXPECT_EQ(coordinator_.unfinished(), std::vector<std::string>{"old"});
    coordinator_.load(2, "old", std::nullopt);
    EXPECT_EQ(coordinator_.find("old"), nullptr);
    coordinator_.load(2, "old", m);
    auto resume = [&]() -> asio::awaitable<int> {
        co_await coordinator_.resume("old");
        co_return 0;
    };
    run(resume());
    ASSERT_EQ(markers_.size(), 1u);
    EXPECT_TRUE(markers_[0].commit);
    EXPECT_EQ(markers_[0].producer_id, 42);
    EXPECT_EQ(partitions_.back(), 2);  // written to the partition it was loaded from
}

TEST_F(TransactionCoordinatorTest, VerifyPartitionsChecksTheOngoingTransactionOnly) {
    ASSERT_EQ(init("tx").error, error_code::none);
    const std::set<topic_partition> both{{"a", 0}, {"a", 1}};
    // No transaction yet: nothing is in one.
    EXPECT_EQ(coordinator_.verify_partitions("tx", 500, 0, both),
              (std::map<topic_partition, error_code>{{{"a", 0}, error_code::invalid_txn_state},
                                                     {{"a", 1}, error_code::invalid_txn_state}}));
    ASSERT_EQ(run(coordinator_.add_partitions(7, "tx", 500, 0, {{"a", 0}})), error_code::none);
    const size_t writes = statuses_.size();
    EXPECT_EQ(coordinator_.verify_partitions("tx", 500, 0, both),
              (std::map<topic_partition, error_code>{{{"a", 0}, error_code::none},
                                                     {{"a", 1}, error_code::invalid_txn_state}}));
    EXPECT_EQ(coordinator_.verify_partitions("tx", 500, 1, {{"a", 0}}).at({"a", 0}),
              error_code::producer_fenced);
    EXPECT_EQ(coordinator_.verify_partitions("tx", 501, 0, {{"a", 0}}).at({"a", 0}),
              error_code::invalid_producer_id_mapping);
    EXPECT_EQ(coordinator_.verify_partitions("other", 500, 0, {{"a", 0}}).at({"a", 0}),
              error_code::invalid_producer_id_mapping);
    EXPECT_EQ(statuses_.size(), writes);  // verifying writes nothing
    ASSERT_EQ(run(coordinator_.end_transaction(7, "tx", 500, 0, false)), error_code::none);
    EXPECT_EQ(coordinator_.verify_partitions("tx", 500, 0, {{"a", 0}}).at({"a", 0}),
              error_code::invalid_txn_state);
}

TEST_F(TransactionCoordinatorTest, IdleIdsExpireWithATombstoneButOpenTransactionsStay) {
    ASSERT_EQ(init("idle").error, error_code::none);
    ASSERT_EQ(init("busy").error, error_code::none);
    ASSERT_EQ(run(coordinator_.add_partitions(7, "busy", 501, 0, {{"a", 0}})), error_code::none);
    now_ += 1000;
    EXPECT_EQ(run(coordinator_.expire_ids(1000)), 1u);  // idle for exactly the expiration
    EXPECT_EQ(tombstones_, 1);
    EXPECT_EQ(coordinator_.find("idle"), nullptr);
    ASSERT_NE(coordinator_.find("busy"), nullptr);
    EXPECT_EQ(run(coordinator_.expire_ids(1000)), 0u);
    // A failed tombstone keeps the id.
    ASSERT_EQ(run(coordinator_.end_transaction(7, "busy", 501, 0, true)), error_code::none);
    now_ += 5000;
    fail_appends_ = true;
    EXPECT_EQ(run(coordinator_.expire_ids(1000)), 0u);
    EXPECT_NE(coordinator_.find("busy"), nullptr);
    fail_appends_ = false;
    EXPECT_EQ(run(coordinator_.expire_ids(1000)), 1u);
    // An expired id starts over with a new producer id.
    auto r = init("busy");
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.producer_epoch, 0);
    EXPECT_NE(r.producer_id, 501);
}

}  // namespace
}  // namespace runnel::server::transactions
