// partition_log::open with a recovery point, a log start offset and the clean shutdown flag.
#include "partition_log_fixture.h"

#include "protocol/record_batch_header.h"

#include <fstream>
#include <map>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
namespace bl = protocol::batch_layout;
using test::make_batch;
using test::split_batches;

class PartitionLogRecoveryTest : public test::PartitionLogFixture {
  protected:
    // 20 one-record batches in segments of 4 or so.
    void fill() {
        config_.segment_bytes = 500;
        config_.index_interval_bytes = 64;
        open_log();
        for (int i = 0; i < 20; ++i) batch_size_ = append(1, 1000 + i, 40).size();
        bases_ = log_->segment_base_offsets();
        ASSERT_GE(bases_.size(), 4u);
        before_ = read_all();
        leo_ = log_->log_end_offset();
    }
    // Flips a byte inside the CRC-covered part of the n-th batch of segment `seg`.
    void corrupt(size_t seg, int64_t n) {
        flip_byte(file(bases_[seg], log_suffix), n * static_cast<int64_t>(batch_size_) + 30);
    }

    size_t batch_size_ = 0;
    std::vector<int64_t> bases_;
    std::vector<uint8_t> before_;
    int64_t leo_ = 0;
};

TEST_F(PartitionLogRecoveryTest, RecoveryPointFollowsFlushRollAndClose) {
    config_.segment_bytes = 400;
    open_log();
    EXPECT_EQ(log_->recovery_point(), 0);
    append(2, 10);
    EXPECT_EQ(log_->recovery_point(), 0);
    ASSERT_FALSE(log_->flush());
    EXPECT_EQ(log_->recovery_point(), 2);
    ASSERT_FALSE(log_->flush());  // nothing new: still fine
    EXPECT_EQ(log_->recovery_point(), 2);
    while (log_->segment_count() == 1) append(1, 20);
    // A roll does not flush (that would stall the shard): the old segment waits for a flush job.
    EXPECT_EQ(log_->recovery_point(), 2);
    auto job = log_->prepare_flush();
    ASSERT_TRUE(job && *job);
    EXPECT_TRUE((*job)->dir.has_value());  // the new segment's directory entry needs an fsync
    EXPECT_EQ((*job)->files.size(), 2u);   // both segments' .log
    EXPECT_EQ((*job)->index_writes.size(),
              2u);  // the rolled segment's indexes (the new one has none)
    EXPECT_EQ((*job)->target, log_->log_end_offset());
    append(1, 30);  // appended while the job runs: not covered by it
    ASSERT_FALSE((*job)->run());
    log_->flush_done(**job, {});
    EXPECT_EQ(log_->recovery_point(), (*job)->target);
    EXPECT_LT(log_->recovery_point(), log_->log_end_offset());
    int64_t leo = log_->log_end_offset();
    ASSERT_FALSE(log_->close());
    EXPECT_EQ(log_->recovery_point(), leo);  // still readable after close, for the checkpoint
    EXPECT_EQ(log_->flush(), make_error_code(errc::log_closed));
    log_.reset();

    open_log({3, 0, false});
    EXPECT_EQ(log_->recovery_point(), 3);
    close_log();
    open_log({leo + 100, 0, false});  // never past the log end
    EXPECT_EQ(log_->recovery_point(), leo);
    close_log();
    open_log({0, 0, true});  // clean shutdown: everything on disk is flushed
    EXPECT_EQ(log_->recovery_point(), leo);
}

TEST_F(PartitionLogRecoveryTest, FlushJobsCoverWhatWasAppendedBeforeThem) {
    config_.flush_messages = 3;
    open_log();
    // A new log's first flush syncs only its directory (creating it synced nothing)...
    auto first = log_->prepare_flush();
    ASSERT_TRUE(first && *first);
    EXPECT_TRUE((*first)->dir.has_value());
    EXPECT_TRUE((*first)->files.empty());
    ASSERT_FALSE((*first)->run());
    log_->flush_done(**first, {});
    // ... and then an empty log has nothing to flush.
    auto none = log_->prepare_flush();
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    EXPECT_FALSE(log_append(1).flush_due);
    EXPECT_TRUE(log_append(2).flush_due);  // 3 records since the last flush
    auto job = log_->prepare_flush();      // resets the count
    ASSERT_TRUE(job && *job);
    EXPECT_FALSE((*job)->dir.has_value());
    EXPECT_EQ((*job)->files.size(), 1u);  // the .log; no index entry yet (index.interval.bytes)
    EXPECT_FALSE(log_append(1).flush_due);

    // A failed job leaves the recovery point where it was; the next job covers the same files.
    log_->flush_done(**job, make_error_code(errc::io_error));
    EXPECT_EQ(log_->recovery_point(), 0);
    auto retry = log_->prepare_flush();
    ASSERT_TRUE(retry && *retry);
    EXPECT_EQ((*retry)->target, 4);
    ASSERT_FALSE((*retry)->run());
    log_->flush_done(**retry, {});
    EXPECT_EQ(log_->recovery_point(), 4);
    // A job that finishes after a later one never moves the recovery point back.
    log_->flush_done(**job, {});
    EXPECT_EQ(log_->recovery_point(), 4);
    close_log();
}

// Name -> (size, modification time) of every file in the partition directory.
std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> files_in(const fs::path& dir) {
    std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> out;
    for (const auto& e : fs::directory_iterator(dir))
        out[e.path().filename().string()] = {e.file_size(), e.last_write_time()};
    return out;
}

TEST_F(PartitionLogRecoveryTest, ClosingAnUnchangedLogWritesNothing) {
    fill();
    close_log();
    ASSERT_TRUE(fs::exists(file(leo_, snapshot_suffix)));
    const auto before = files_in(path());
    open_log({0, 0, true});
    EXPECT_EQ(read_all(), before_);
    close_log();
    EXPECT_EQ(files_in(path()), before) << "a close with nothing new rewrote files";
    // Something new: the close writes the indexes and a snapshot at the new end.
    open_log({0, 0, true});
    append(1, 5000, 40);
    close_log();
    EXPECT_TRUE(fs::exists(file(leo_ + 1, snapshot_suffix)));
    EXPECT_NE(files_in(path()), before);
}

TEST_F(PartitionLogRecoveryTest, EmptyLogClosesWithoutASnapshot) {
    open_log();
    close_log();
    for (const auto& e : fs::directory_iterator(path()))
        EXPECT_NE(e.path().extension(), snapshot_suffix) << e.path();
    open_log({0, 0, true});
    EXPECT_EQ(log_->log_end_offset(), 0);
    close_log();
}

TEST_F(PartitionLogRecoveryTest, CleanShutdownSkipsTheScan) {
    fill();
    close_log();
    // A flipped payload byte in the last batch: only a CRC check would notice it.
    corrupt(bases_.size() - 1, 0);
    open_log({0, 0, true});
    EXPECT_EQ(log_->log_end_offset(), leo_);
    EXPECT_EQ(log_->size_bytes(), static_cast<int64_t>(before_.size()));
    EXPECT_NE(read_all(), before_);  // served unchecked: no segment was scanned
    close_log();

    open_log({0, 0, false});  // without the marker everything from offset 0 is scanned
    EXPECT_EQ(log_->log_end_offset(), bases_.back());
    EXPECT_EQ(log_->segment_base_offsets().size(), bases_.size());
}

TEST_F(PartitionLogRecoveryTest, CleanShutdownStillNoticesATornTail) {
    fill();
    close_log();
    fs::resize_file(file(bases_.back(), log_suffix),
                    fs::file_size(file(bases_.back(), log_suffix)) - 7);
    open_log({leo_, 0, true});
    EXPECT_EQ(log_->log_end_offset(), leo_ - 1);
    auto want = before_;
    want.resize(want.size() - batch_size_);
    EXPECT_EQ(read_all(), want);
}

TEST_F(PartitionLogRecoveryTest, SegmentsFromTheRecoveryPointOnAreRecovered) {
    fill();
    close_log();
    corrupt(2, 1);  // second batch of the third segment
    // The recovery point lies in segment 1: segments 1.. are scanned, segment 2 is cut after its
    // first batch and everything after it is deleted.
    open_log({bases_[1] + 1, 0, false});
    EXPECT_EQ(log_->log_end_offset(), bases_[2] + 1);
    EXPECT_EQ(log_->segment_base_offsets(),
              (std::vector<int64_t>{bases_[0], bases_[1], bases_[2]}));
    for (size_t i = 3; i < bases_.size(); ++i) {
        EXPECT_FALSE(fs::exists(file(bases_[i], log_suffix))) << bases_[i];
        EXPECT_FALSE(fs::exists(file(bases_[i], index_suffix))) << bases_[i];
    }
    auto want = before_;
    want.resize(static_cast<size_t>(bases_[2] + 1) * batch_size_);
    EXPECT_EQ(read_all(), want);
    EXPECT_EQ(log_->recovery_point(), bases_[1] + 1);
    // Appends continue right after the cut, in the cut segment.
    auto b = make_batch(1, 5, 40);
    auto info = log_->append(b, std::nullopt);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->base_offset, bases_[2] + 1);
}

TEST_F(PartitionLogRecoveryTest, SegmentsBeforeTheRecoveryPointAreTrusted) {
    fill();
    close_log();
    corrupt(1, 0);
    open_log({leo_, 0, false});  // only the last segment is scanned
    EXPECT_EQ(log_->log_end_offset(), leo_);
    EXPECT_EQ(log_->segment_base_offsets(), bases_);
    close_log();
    open_log({0, 0, false});
    EXPECT_EQ(log_->log_end_offset(), bases_[1]);
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{bases_[0], bases_[1]}));
}

TEST_F(PartitionLogRecoveryTest, BatchesBelowTheRecoveryPointInItsSegmentAreTrusted) {
    fill();
    close_log();
    const size_t last = bases_.size() - 1;
    ASSERT_GE(leo_ - bases_[last], 3);
    corrupt(last, 0);
    // The recovery point is the log end: the scan starts at the last index entry below it, past
    // the corrupt first batch, which a flush had made durable before the crash.
    open_log({leo_, 0, false});
    EXPECT_EQ(log_->log_end_offset(), leo_);
    close_log();
    // From the segment's start, the scan finds it.
    open_log({bases_[last], 0, false});
    EXPECT_EQ(log_->log_end_offset(), bases_[last]);
}

TEST_F(PartitionLogRecoveryTest, ScanFromTheRecoveryPointCutsATornTailAndIndexesAsAFullScan) {
    fill();
    close_log();
    const size_t last = bases_.size() - 1;
    const auto log_file = file(bases_[last], log_suffix);
    const auto clean = test::file_bytes(log_file);
    auto tear = [&] {
        std::ofstream out(log_file, std::ios::binary | std::ios::app);
        out << std::string(37, '\xab');  // half a batch of garbage after the last good one
    };
    tear();
    open_log({bases_[last] + 2, 0, false});
    EXPECT_EQ(log_->log_end_offset(), leo_);
    EXPECT_EQ(test::file_bytes(log_file), clean);
    EXPECT_EQ(read_all(), before_);
    for (int64_t o = bases_[last]; o < leo_; ++o) {
        auto r = log_->read(o, 1, true);
        ASSERT_TRUE(r);
        auto got = split_batches(*r->bytes);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].base_offset, o);
    }
    close_log();
    const auto index = test::file_bytes(file(bases_[last], index_suffix));
    const auto time_index = test::file_bytes(file(bases_[last], time_index_suffix));
    EXPECT_FALSE(index.empty());
    // The same tear recovered by a scan of the whole segment leaves the same index files.
    tear();
    open_log({bases_[last], 0, false});
    EXPECT_EQ(log_->log_end_offset(), leo_);
    close_log();
    EXPECT_EQ(test::file_bytes(file(bases_[last], index_suffix)), index);
    EXPECT_EQ(test::file_bytes(file(bases_[last], time_index_suffix)), time_index);
}

TEST_F(PartitionLogRecoveryTest, DefaultOptionsScanOnlyTheLastSegment) {
    fill();
    close_log();
    corrupt(1, 0);
    corrupt(bases_.size() - 1, 1);
    open_log();
    EXPECT_EQ(log_->log_end_offset(), bases_.back() + 1);
    EXPECT_EQ(log_->segment_base_offsets(), bases_);
    EXPECT_EQ(log_->recovery_point(), bases_.back());
}

TEST_F(PartitionLogRecoveryTest, InconsistentIndexOfATrustedSegmentIsRebuilt) {
    fill();
    close_log();
    // One plausible-looking entry pointing past the segment's own offsets.
    {
        std::ofstream out(file(bases_[0], index_suffix), std::ios::binary | std::ios::trunc);
        uint8_t e[8];
        bl::store_i32(e, static_cast<int32_t>(bases_[1] - bases_[0] + 3));
        bl::store_i32(e + 4, static_cast<int32_t>(batch_size_));
        out.write(reinterpret_cast<const char*>(e), 8);
    }
    open_log({leo_, 0, true});
    EXPECT_EQ(read_all(), before_);
    for (int64_t o = 0; o < leo_; ++o) {
        auto r = log_->read(o, 1, true);
        ASSERT_TRUE(r);
        auto got = split_batches(*r->bytes);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].base_offset, o);
    }
}

// Descriptors this process holds open on files under `dir`.
size_t open_descriptors_under(const fs::path& dir) {
    size_t n = 0;
    for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        auto target = fs::read_symlink(fd.path(), ec);
        if (!ec && target.string().rfind(dir.string(), 0) == 0) ++n;
    }
    return n;
}

TEST_F(PartitionLogRecoveryTest, OneDescriptorPerSegmentAndIndexesOnDiskWhenFlushed) {
    fill();
    ASSERT_GT(bases_.size(), 2u);
    // Only the .log files stay open: 10,000 partitions must fit the descriptor limit.
    EXPECT_EQ(open_descriptors_under(path()), bases_.size());
    for (size_t i = 0; i + 1 < bases_.size(); ++i) {  // sealed at the roll
        EXPECT_GT(fs::file_size(file(bases_[i], index_suffix)), 0u) << bases_[i];
        EXPECT_EQ(fs::file_size(file(bases_[i], index_suffix)) % 8, 0u);
        EXPECT_EQ(fs::file_size(file(bases_[i], time_index_suffix)) % 12, 0u);
    }
    // The active segment's entries reach the file with a flush job, before the recovery point
    // passes them.
    auto active_index = file(bases_.back(), index_suffix);
    EXPECT_EQ(fs::file_size(active_index), 0u);
    auto job = log_->prepare_flush();
    ASSERT_TRUE(job && *job);
    ASSERT_FALSE((*job)->run());
    log_->flush_done(**job, {});
    EXPECT_EQ(log_->recovery_point(), leo_);
    auto written = fs::file_size(active_index);
    EXPECT_GT(written, 0u);
    close_log();
    EXPECT_EQ(fs::file_size(active_index), written);  // nothing was left to write
    open_log({leo_, 0, true});
    EXPECT_EQ(read_all(), before_);
}

TEST_F(PartitionLogRecoveryTest, LogStartOffsetComesBackFromTheCheckpoint) {
    fill();
    close_log();
    open_log({leo_, 5, true});
    EXPECT_EQ(log_->log_start_offset(), 5);
    EXPECT_EQ(log_->read(4, 100, true).error(), make_error_code(errc::offset_out_of_range));
    ASSERT_TRUE(log_->read(5, 100, true));
    close_log();
    // A checkpoint below the first segment is raised to it.
    open_log({leo_, 0, true});
    EXPECT_EQ(log_->log_start_offset(), 0);
    close_log();
    // The whole log ends below the checkpointed log start: it restarts empty there.
    open_log({leo_, leo_ + 50, false});
    EXPECT_EQ(log_->log_start_offset(), leo_ + 50);
    EXPECT_EQ(log_->log_end_offset(), leo_ + 50);
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{leo_ + 50}));
    EXPECT_FALSE(fs::exists(file(0, log_suffix)));
    auto b = make_batch(2, 1);
    auto info = log_->append(b, std::nullopt);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->base_offset, leo_ + 50);
}

}  // namespace
}  // namespace runnel::storage
