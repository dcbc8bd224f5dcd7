// partition_log::delete_old_segments (retention.ms, retention.bytes) and delete_records_before.
#include "partition_log_fixture.h"

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::split_batches;

class PartitionLogRetentionTest : public test::PartitionLogFixture {
  protected:
    // Five segments of exactly three one-record batches; segment i holds timestamps 1000*(i+1)+j.
    void fill() {
        open_log();
        one_ = append(1, 1000, 40).size();
        config_.segment_bytes = static_cast<int64_t>(3 * one_);
        close_log();
        fs::remove_all(path());
        open_log();
        for (int s = 0; s < 5; ++s) {
            for (int j = 0; j < 3; ++j) append(1, 1000 * (s + 1) + j, 40);
        }
        ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 3, 6, 9, 12}));
    }
    int64_t seg_bytes() const { return static_cast<int64_t>(3 * one_); }

    size_t one_ = 0;
};

TEST_F(PartitionLogRetentionTest, RetentionBytesKeepsAtLeastThatMuch) {
    fill();
    // Only whole segments go, oldest first, and only while what is left stays >= retention.bytes.
    auto r = log_->delete_old_segments(now_, -1, 2 * seg_bytes() + 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{0, 3}));
    EXPECT_EQ(r->deleted_bytes, 2 * seg_bytes());
    EXPECT_EQ(r->log_start_offset, 6);
    EXPECT_EQ(log_->log_start_offset(), 6);
    EXPECT_EQ(log_->size_bytes(), 3 * seg_bytes());
    EXPECT_FALSE(fs::exists(file(0, log_suffix)));
    EXPECT_FALSE(fs::exists(file(3, time_index_suffix)));
    EXPECT_EQ(log_->read(5, 100, true).error(), make_error_code(errc::offset_out_of_range));

    r = log_->delete_old_segments(now_, -1, 2 * seg_bytes());  // exactly: one more goes
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{6}));
    r = log_->delete_old_segments(now_, -1, seg_bytes() - 1);  // the active one stays
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{9}));
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{12}));
    EXPECT_EQ(log_->log_end_offset(), 15);
}

TEST_F(PartitionLogRetentionTest, RetentionBytesZeroRollsAndDeletesTheActiveSegment) {
    fill();
    // Every segment, the active one included, is over retention.bytes = 0: Kafka rolls a new
    // empty active segment at the log end and deletes all the old ones.
    auto r = log_->delete_old_segments(now_, -1, 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{0, 3, 6, 9, 12}));
    EXPECT_EQ(r->deleted_bytes, 5 * seg_bytes());
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{15}));
    EXPECT_EQ(log_->size_bytes(), 0);
    EXPECT_EQ(log_->log_start_offset(), 15);
    EXPECT_EQ(log_->log_end_offset(), 15);
    EXPECT_FALSE(fs::exists(file(12, log_suffix)));
    EXPECT_TRUE(fs::exists(file(15, log_suffix)));
    EXPECT_EQ(log_->read(14, 100, true).error(), make_error_code(errc::offset_out_of_range));
    // An empty active segment is never rolled again or deleted.
    r = log_->delete_old_segments(now_, -1, 0);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->deleted_segments.empty());
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{15}));
    // The log goes on from there, and survives a reopen.
    append(1, 9000, 40);
    EXPECT_EQ(log_->log_end_offset(), 16);
    close_log();
    open_log();
    EXPECT_EQ(log_->log_start_offset(), 15);
    EXPECT_EQ(log_->log_end_offset(), 16);
    EXPECT_EQ(split_batches(read_all()).at(0).base_offset, 15);
}

TEST_F(PartitionLogRetentionTest, RetentionMsComparesTheLargestTimestamp) {
    fill();
    // Segment 1 (offsets 3-5) has timestamps 2000..2002.
    auto r = log_->delete_old_segments(2002 + 500, 500, -1);  // 2002 is exactly 500 old: kept
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{0}));
    r = log_->delete_old_segments(2002 + 501, 500, -1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{3}));
    // The active segment's newest record (5002) is not expired yet: it stays.
    r = log_->delete_old_segments(5002 + 500, 500, -1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{6, 9}));
    EXPECT_EQ(log_->log_start_offset(), 12);
    EXPECT_EQ(split_batches(read_all()).size(), 3u);
    // An idle log past retention.ms ends empty, starting at its end.
    r = log_->delete_old_segments(5002 + 501, 500, -1);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->deleted_segments, (std::vector<int64_t>{12}));
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{15}));
    EXPECT_EQ(log_->log_start_offset(), 15);
    EXPECT_EQ(log_->log_end_offset(), 15);
    EXPECT_TRUE(read_all().empty());
}

TEST_F(PartitionLogRetentionTest, RetentionMsStopsAtTheFirstSegmentItKeeps) {
    fill();
    close_log();
    fs::remove_all(path());
    open_log();
    // Segment 0 is recent (one batch carries ts 9000); segment 3 is old; segment 6 is active.
    for (int64_t ts : {9000, 1000, 1000, 1000, 1000, 1000, 1000}) append(1, ts, 40);
    ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 3, 6}));
    auto r = log_->delete_old_segments(5000, 1000, -1);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->deleted_segments.empty());  // segment 3 has expired but segment 0 has not
    EXPECT_EQ(log_->log_start_offset(), 0);
}

TEST_F(PartitionLogRetentionTest, DeleteRecordsMovesTheLogStartOffset) {
    fill();
    EXPECT_EQ(log_->delete_records_before(16).error(), make_error_code(errc::offset_out_of_range));
    EXPECT_EQ(log_->delete_records_before(-1).error(), make_error_code(errc::offset_out_of_range));

    auto r = log_->delete_records_before(7);  // inside segment 6
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 7);
    EXPECT_EQ(log_->log_start_offset(), 7);
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{6, 9, 12}));
    EXPECT_EQ(log_->read(6, 100, true).error(), make_error_code(errc::offset_out_of_range));
    auto first = log_->read(7, 1, true);
    ASSERT_TRUE(first);
    EXPECT_EQ(split_batches(*first->bytes).at(0).base_offset, 7);
    EXPECT_EQ(first->log_start_offset, 7);

    // Lower than the current start: nothing changes.
    r = log_->delete_records_before(2);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 7);

    // Timestamp lookups skip what is below the log start offset (segment 6 has ts 3000..3002).
    auto t = log_->find_batch_by_timestamp(0);
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->base_offset, 7);

    // Up to the log end: the active segment stays (empty of readable data).
    r = log_->delete_records_before(15);
    ASSERT_TRUE(r);
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{12}));
    auto empty = log_->read(15, 100, true);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    t = log_->find_batch_by_timestamp(0);
    ASSERT_TRUE(t);
    EXPECT_FALSE(*t);

    // Once the next append rolls, the old active segment is wholly below the log start offset
    // and retention removes it whatever the limits.
    append(1, 50, 40);
    ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{12, 15}));
    auto ret = log_->delete_old_segments(now_, -1, -1);
    ASSERT_TRUE(ret);
    EXPECT_EQ(ret->deleted_segments, (std::vector<int64_t>{12}));
    EXPECT_EQ(ret->log_start_offset, 15);
    EXPECT_EQ(split_batches(read_all()).size(), 1u);
}

TEST_F(PartitionLogRetentionTest, LogStartOffsetSurvivesAReopenThroughTheCheckpoint) {
    fill();
    ASSERT_TRUE(log_->delete_records_before(8));
    int64_t lso = log_->log_start_offset();
    int64_t leo = log_->log_end_offset();
    close_log();
    open_log({leo, lso, true});
    EXPECT_EQ(log_->log_start_offset(), 8);
    EXPECT_EQ(log_->read(7, 100, true).error(), make_error_code(errc::offset_out_of_range));
    close_log();
    open_log();  // without the checkpoint: the first segment's base
    EXPECT_EQ(log_->log_start_offset(), 6);
}

TEST_F(PartitionLogRetentionTest, ClosedLogRefuses) {
    fill();
    ASSERT_FALSE(log_->close());
    EXPECT_EQ(log_->delete_records_before(1).error(), make_error_code(errc::log_closed));
    EXPECT_EQ(log_->delete_old_segments(now_, 0, 0).error(), make_error_code(errc::log_closed));
}

}  // namespace
}  // namespace runnel::storage
