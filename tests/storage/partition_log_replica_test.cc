// A follower's log: batches copied from a leader's log keep their bytes, offsets and epochs;
// leader-epoch-checkpoint answers where each epoch ends; truncation cuts a diverged log back.
#include "protocol/end_txn_marker.h"
#include "protocol/record_batch.h"
#include "storage/leader_epoch_cache.h"
#include "storage/partition_log.h"

#include "partition_log_fixture.h"
#include "test_batches.h"

#include <gtest/gtest.h>

#include <fstream>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
namespace bl = protocol::batch_layout;
using test::file_bytes;
using test::make_batch;
using test::temp_dir;

std::string text_of(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(LeaderEpochCacheTest, AnswersWhereEachEpochEndsAsKafkaDoes) {
    temp_dir dir;
    leader_epoch_cache cache(dir.path());
    cache.load();
    EXPECT_EQ(cache.end_offset_for(0, 10), (epoch_end{}));
    ASSERT_FALSE(cache.assign(1, 0));
    ASSERT_FALSE(cache.assign(3, 40));
    ASSERT_FALSE(cache.assign(3, 50));  // not newer: ignored
    ASSERT_FALSE(cache.assign(6, 90));
    EXPECT_EQ(cache.end_offset_for(6, 120), (epoch_end{6, 120}));  // the latest: log end
    EXPECT_EQ(cache.end_offset_for(3, 120), (epoch_end{3, 90}));
    EXPECT_EQ(cache.end_offset_for(4, 120), (epoch_end{3, 90}));  // floor epoch, next start
    EXPECT_EQ(cache.end_offset_for(0, 120), (epoch_end{0, 0}));   // before every entry
    EXPECT_EQ(cache.end_offset_for(7, 120), (epoch_end{}));       // after them all
    EXPECT_EQ(cache.end_offset_for(-1, 120), (epoch_end{}));
    EXPECT_EQ(text_of(dir.path() / "leader-epoch-checkpoint"), "0\n3\n1 0\n3 40\n6 90\n");

    leader_epoch_cache again(dir.path());
    again.load();
    EXPECT_EQ(again.entries(), cache.entries());

    ASSERT_FALSE(again.truncate_from_end(41));
    EXPECT_EQ(again.entries(), (std::vector<epoch_entry>{{1, 0}, {3, 40}}));
    ASSERT_FALSE(again.truncate_from_start(45));
    EXPECT_EQ(again.entries(), (std::vector<epoch_entry>{{3, 45}}));
    // An epoch starting before existing entries replaces those it contradicts.
    ASSERT_FALSE(again.assign(5, 30));
    EXPECT_EQ(again.entries(), (std::vector<epoch_entry>{{5, 30}}));
}

TEST(LeaderEpochCacheTest, ACorruptFileIsAnEmptyCache) {
    temp_dir dir;
    for (const char* text : {"0\n2\n1 0\n", "1\n1\n1 0\n", "0\n2\n3 10\n1 20\n", "0\n1\nx 0\n"}) {
        std::ofstream(dir.path() / "leader-epoch-checkpoint") << text;
        leader_epoch_cache cache(dir.path());
        cache.load();
        EXPECT_TRUE(cache.entries().empty()) << text;
    }
}

class PartitionLogReplicaTest : public test::PartitionLogFixture {
  protected:
    // A second log in the same temp dir: the follower of log_.
    void open_follower() {
        auto l = partition_log::open(dir_.path() / "orders-3-follower", config_, {});
        ASSERT_TRUE(l) << l.error().message();
        follower_ = std::move(*l);
        follower_->set_clock([this] { return now_; });
    }
    // Copies what the leader has past the follower's end, as a replica fetch would.
    void replicate() {
        auto r = log_->read(follower_->log_end_offset(), 1 << 30, true);
        ASSERT_TRUE(r) << r.error().message();
        if (r->empty()) return;
        auto done = follower_->append_replicated(*r->bytes);
        ASSERT_TRUE(done) << done.error().message();
    }
    std::vector<uint8_t> follower_bytes() {
        auto r = follower_->read(follower_->log_start_offset(), 1 << 30, true);
        EXPECT_TRUE(r);
        return r ? *r->bytes : std::vector<uint8_t>{};
    }
    std::vector<uint8_t> idempotent(int64_t pid, int32_t seq, int32_t records = 2,
                                    bool transactional = false) {
        protocol::batch_options o;
        o.producer_id = pid;
        o.producer_epoch = 0;
        o.base_sequence = seq;
        o.transactional = transactional;
        std::vector<protocol::record_input> rs(static_cast<size_t>(records));
        for (auto& r : rs) {
            r.timestamp = now_;
            r.value = "v";
        }
        return protocol::build_batch(o, rs);
    }

    // The leader's append of a batch built in place.
    result<append_info> lead(std::vector<uint8_t> batch) {
        return log_->append(batch, std::nullopt);
    }
    result<append_info> lead_on(partition_log& log, std::vector<uint8_t> batch) {
        return log.append(batch, std::nullopt);
    }

    std::unique_ptr<partition_log> follower_;
};

TEST_F(PartitionLogReplicaTest, ReplicatedBatchesKeepBytesOffsetsAndEpochs) {
    open_log();
    open_follower();
    ASSERT_FALSE(log_->start_leader_epoch(0));
    append(3, now_);
    append(2, now_);
    replicate();
    ASSERT_FALSE(log_->start_leader_epoch(4));
    append(1, now_);
    replicate();
    EXPECT_EQ(follower_->log_end_offset(), 6);
    EXPECT_EQ(follower_bytes(), read_all());
    EXPECT_EQ(file_bytes(follower_->dir() / segment_file_name(0, log_suffix)),
              file_bytes(file(0, log_suffix)));
    EXPECT_EQ(follower_->epochs().entries(), (std::vector<epoch_entry>{{0, 0}, {4, 5}}));
    EXPECT_EQ(follower_->end_offset_for(0), (epoch_end{0, 5}));
    EXPECT_EQ(follower_->end_offset_for(4), (epoch_end{4, 6}));

    // Reopened, the follower has the same log and epochs.
    ASSERT_FALSE(follower_->close());
    open_follower();
    EXPECT_EQ(follower_->log_end_offset(), 6);
    EXPECT_EQ(follower_->epochs().entries(), (std::vector<epoch_entry>{{0, 0}, {4, 5}}));
}

TEST_F(PartitionLogReplicaTest, RefusesGapsAndBadCrcsWritingNothing) {
    open_log();
    open_follower();
    append(2, now_);
    append(2, now_);
    auto r = log_->read(2, 1 << 30, true);  // starts past the follower's end
    ASSERT_TRUE(r);
    EXPECT_EQ(follower_->append_replicated(*r->bytes).error(), errc::invalid_batch);
    auto all = read_all();
    all[bl::header_size + 3] ^= 0x40;  // a record byte of the first batch
    EXPECT_EQ(follower_->append_replicated(all).error(), errc::invalid_batch);
    EXPECT_EQ(follower_->log_end_offset(), 0);
    EXPECT_EQ(follower_->size_bytes(), 0);
    replicate();
    EXPECT_EQ(follower_->log_end_offset(), 4);
}

TEST_F(PartitionLogReplicaTest, TransactionsAndProducersFollowTheLeader) {
    open_log();
    open_follower();
    ASSERT_TRUE(lead(idempotent(7, 0)));
    ASSERT_TRUE(lead(idempotent(9, 0, 2, true)));
    ASSERT_TRUE(log_->append_marker(9, 0, protocol::txn_result::abort, 1, now_));
    ASSERT_TRUE(lead(idempotent(9, 2, 1, true)));
    replicate();
    EXPECT_EQ(follower_->last_stable_offset(), log_->last_stable_offset());
    auto want = log_->collect_aborted(0, log_->log_end_offset());
    auto got = follower_->collect_aborted(0, follower_->log_end_offset());
    ASSERT_TRUE(want && got);
    EXPECT_EQ(*got, *want);
    EXPECT_EQ(got->size(), 1u);
    // Were the follower to lead now, it would know the producers: a retry is a duplicate and
    // a gap is refused.
    auto retry = lead_on(*follower_, idempotent(7, 0));
    ASSERT_TRUE(retry);
    EXPECT_TRUE(retry->duplicate);
    EXPECT_EQ(lead_on(*follower_, idempotent(7, 5)).error(), errc::out_of_order_sequence);
}

TEST_F(PartitionLogReplicaTest, TruncationCutsWholeBatchesAndTheStateAfterThem) {
    config_.segment_bytes = 300;  // a few batches per segment
    open_log();
    ASSERT_FALSE(log_->start_leader_epoch(1));
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(lead(idempotent(7, i * 2)));
    ASSERT_FALSE(log_->start_leader_epoch(2));
    for (int i = 6; i < 12; ++i) ASSERT_TRUE(lead(idempotent(7, i * 2)));
    ASSERT_GT(log_->segment_count(), 2u);
    const auto before = read_all();

    // Offset 13 is inside the batch [12, 13]: that batch goes too.
    auto cut = log_->truncate_to(13);
    ASSERT_TRUE(cut) << cut.error().message();
    EXPECT_GT(*cut, 0);
    EXPECT_EQ(log_->log_end_offset(), 12);
    // Epoch 2 began at 12: none of its data is left, so it goes too (Kafka's truncateFromEnd).
    EXPECT_EQ(log_->epochs().entries(), (std::vector<epoch_entry>{{1, 0}}));
    ASSERT_TRUE(log_->truncate_to(11));  // inside [10, 11]
    EXPECT_EQ(log_->log_end_offset(), 10);
    EXPECT_EQ(log_->epochs().entries(), (std::vector<epoch_entry>{{1, 0}}));
    auto kept = read_all();
    ASSERT_EQ(kept.size(), before.size() * 5 / 12);
    EXPECT_TRUE(std::equal(kept.begin(), kept.end(), before.begin()));
    // The producer's next sequence is the one after the cut.
    EXPECT_EQ(lead(idempotent(7, 12)).error(), errc::out_of_order_sequence);
    auto next = lead(idempotent(7, 10));
    ASSERT_TRUE(next) << next.error().message();
    EXPECT_EQ(next->base_offset, 10);

    // Reopened without a clean shutdown, the log is what the truncation left plus the append.
    ASSERT_FALSE(log_->close());
    open_log();
    EXPECT_EQ(log_->log_end_offset(), 12);
    EXPECT_EQ(log_->read(10, 1 << 20, true)->next_offset, 12);

    // At or below the log start everything goes; the log restarts at the offset given.
    ASSERT_TRUE(log_->truncate_to(0));
    EXPECT_EQ(log_->log_end_offset(), 0);
    EXPECT_EQ(log_->segment_count(), 1u);
    EXPECT_TRUE(read_all().empty());
    EXPECT_TRUE(log_->epochs().entries().empty());
}

}  // namespace
}  // namespace runnel::storage
