#include "storage/offset_index.h"
#include "storage/time_index.h"

#include "test_batches.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::append_bytes;
using test::file_bytes;
using test::temp_dir;

TEST(OffsetIndex, LookupReturnsFloorEntry) {
    temp_dir dir;
    auto idx = offset_index::open(dir.path() / "00000000000000000100.index", 100, 1024);
    ASSERT_TRUE(idx) << idx.error().message();
    EXPECT_EQ(idx->lookup(150), (offset_position{100, 0}));  // empty: (base, 0)
    ASSERT_FALSE(idx->append(110, 4000));
    ASSERT_FALSE(idx->append(120, 8000));
    ASSERT_FALSE(idx->append(135, 12000));
    EXPECT_EQ(idx->entries(), 3u);
    EXPECT_EQ(idx->lookup(99), (offset_position{100, 0}));
    EXPECT_EQ(idx->lookup(105), (offset_position{100, 0}));
    EXPECT_EQ(idx->lookup(110), (offset_position{110, 4000}));
    EXPECT_EQ(idx->lookup(119), (offset_position{110, 4000}));
    EXPECT_EQ(idx->lookup(120), (offset_position{120, 8000}));
    EXPECT_EQ(idx->lookup(1000), (offset_position{135, 12000}));
    EXPECT_EQ(idx->last_entry(), (offset_position{135, 12000}));
    EXPECT_EQ(idx->entry(1), (offset_position{120, 8000}));
}

TEST(OffsetIndex, FileIsKafkaFormat) {
    temp_dir dir;
    auto path = dir.path() / "00000000000000000256.index";
    {
        auto idx = offset_index::open(path, 0x100, 1024);
        ASSERT_TRUE(idx);
        ASSERT_FALSE(idx->append(0x302, 0x01020304));
        ASSERT_FALSE(idx->write_all());
    }
    std::vector<uint8_t> want{0, 0, 0x02, 0x02, 0x01, 0x02, 0x03, 0x04};
    EXPECT_EQ(file_bytes(path), want);
}

TEST(OffsetIndex, RejectsOutOfOrderAndFull) {
    temp_dir dir;
    auto idx = offset_index::open(dir.path() / "x.index", 0, 24);  // 3 entries
    ASSERT_TRUE(idx);
    EXPECT_EQ(idx->max_entries(), 3u);
    ASSERT_FALSE(idx->append(5, 100));
    EXPECT_EQ(idx->append(5, 200), make_error_code(errc::invalid_index_entry));
    EXPECT_EQ(idx->append(4, 200), make_error_code(errc::invalid_index_entry));
    EXPECT_EQ(idx->append(6, 100), make_error_code(errc::invalid_index_entry));
    EXPECT_EQ(idx->append(-1, 300), make_error_code(errc::invalid_index_entry));
    ASSERT_FALSE(idx->append(6, 200));
    EXPECT_FALSE(idx->full());
    ASSERT_FALSE(idx->append(7, 300));
    EXPECT_TRUE(idx->full());
    EXPECT_EQ(idx->append(8, 400), make_error_code(errc::invalid_index_entry));
    // Relative offsets are 4 bytes.
    auto idx2 = offset_index::open(dir.path() / "y.index", 0, 1024);
    ASSERT_TRUE(idx2);
    EXPECT_EQ(idx2->append(int64_t{1} << 31, 100), make_error_code(errc::invalid_index_entry));
}

TEST(OffsetIndex, ReopenAndTruncate) {
    temp_dir dir;
    auto path = dir.path() / "00000000000000000000.index";
    {
        auto idx = offset_index::open(path, 0, 1024);
        ASSERT_TRUE(idx);
        for (int i = 1; i <= 5; ++i) ASSERT_FALSE(idx->append(i * 10, i * 1000));
        ASSERT_FALSE(idx->write_all());
    }
    auto idx = offset_index::open(path, 0, 1024);
    ASSERT_TRUE(idx);
    ASSERT_EQ(idx->entries(), 5u);
    EXPECT_EQ(idx->lookup(35), (offset_position{30, 3000}));
    // Exact offset: that entry goes too.
    ASSERT_FALSE(idx->truncate_to(40));
    EXPECT_EQ(idx->entries(), 3u);
    EXPECT_EQ(idx->last_entry(), (offset_position{30, 3000}));
    // Between entries: everything larger goes.
    ASSERT_FALSE(idx->truncate_to(25));
    EXPECT_EQ(idx->entries(), 2u);
    EXPECT_EQ(fs::file_size(path), 16u);
    ASSERT_FALSE(idx->append(22, 2500));  // appends continue after the cut
    ASSERT_FALSE(idx->write_all());
    EXPECT_EQ(fs::file_size(path), 24u);
    ASSERT_FALSE(idx->truncate_to(0));
    EXPECT_EQ(idx->entries(), 0u);
    EXPECT_EQ(fs::file_size(path), 0u);
}

TEST(OffsetIndex, LoadToleratesPartialEntryAndZeroFill) {
    temp_dir dir;
    auto path = dir.path() / "00000000000000000000.index";
    {
        auto idx = offset_index::open(path, 0, 1024);
        ASSERT_TRUE(idx);
        ASSERT_FALSE(idx->append(3, 500));
        ASSERT_FALSE(idx->append(9, 1200));
        ASSERT_FALSE(idx->write_all());
    }
    // Kafka preallocates (zero fill) and a crash can leave half an entry.
    append_bytes(path, std::vector<uint8_t>(80, 0));
    append_bytes(path, {0, 0, 0});
    {
        auto idx = offset_index::open(path, 0, 1024);
        ASSERT_TRUE(idx);
        EXPECT_EQ(idx->entries(), 2u);
        EXPECT_EQ(idx->last_entry(), (offset_position{9, 1200}));
        EXPECT_EQ(fs::file_size(path), 16u);  // trimmed so appends land after the real entries
        ASSERT_FALSE(idx->append(12, 2000));
        auto w = idx->take_pending();
        ASSERT_TRUE(w);
        EXPECT_EQ(w->position, 16);
        ASSERT_FALSE(w->run());
    }
    auto idx = offset_index::open(path, 0, 1024);
    ASSERT_TRUE(idx);
    EXPECT_EQ(idx->entries(), 3u);

    // A file that is all zero fill is an empty index (or one harmless (base, 0) entry).
    auto zero_path = dir.path() / "zero.index";
    append_bytes(zero_path, std::vector<uint8_t>(64, 0));
    auto zero = offset_index::open(zero_path, 0, 1024);
    ASSERT_TRUE(zero);
    EXPECT_LE(zero->entries(), 1u);
    EXPECT_EQ(zero->lookup(5), (offset_position{0, 0}));
}

TEST(TimeIndex, AppendsOnlyIncreasingTimestamps) {
    temp_dir dir;
    auto idx = time_index::open(dir.path() / "00000000000000000050.timeindex", 50, 1024);
    ASSERT_TRUE(idx);
    EXPECT_EQ(idx->last_entry(), (timestamp_offset{no_timestamp, 50}));
    ASSERT_FALSE(idx->maybe_append(1000, 55));
    ASSERT_FALSE(idx->maybe_append(1000, 57));  // same timestamp: ignored
    ASSERT_FALSE(idx->maybe_append(900, 58));   // smaller: ignored
    ASSERT_FALSE(idx->maybe_append(2000, 60));
    EXPECT_EQ(idx->entries(), 2u);
    EXPECT_EQ(idx->maybe_append(3000, 59), make_error_code(errc::invalid_index_entry));
    EXPECT_EQ(idx->lookup(999), (timestamp_offset{no_timestamp, 50}));
    EXPECT_EQ(idx->lookup(1000), (timestamp_offset{1000, 55}));
    EXPECT_EQ(idx->lookup(1999), (timestamp_offset{1000, 55}));
    EXPECT_EQ(idx->lookup(5000), (timestamp_offset{2000, 60}));
}

TEST(TimeIndex, FileIsKafkaFormatAndReloads) {
    temp_dir dir;
    auto path = dir.path() / "00000000000000000256.timeindex";
    {
        auto idx = time_index::open(path, 0x100, 1024);
        ASSERT_TRUE(idx);
        ASSERT_FALSE(idx->maybe_append(0x0102030405060708, 0x105));
        ASSERT_FALSE(idx->maybe_append(0x0102030405060709, 0x106));
        ASSERT_FALSE(idx->write_all());
    }
    auto bytes = file_bytes(path);
    std::vector<uint8_t> first{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 5};
    ASSERT_EQ(bytes.size(), 24u);
    EXPECT_TRUE(std::equal(first.begin(), first.end(), bytes.begin()));

    append_bytes(path, std::vector<uint8_t>(36, 0));  // zero-filled preallocation
    append_bytes(path, {1, 2, 3, 4, 5});              // torn entry
    auto idx = time_index::open(path, 0x100, 1024);
    ASSERT_TRUE(idx);
    EXPECT_EQ(idx->entries(), 2u);
    EXPECT_EQ(idx->last_entry(), (timestamp_offset{0x0102030405060709, 0x106}));
    EXPECT_EQ(fs::file_size(path), 24u);
}

TEST(TimeIndex, FullKeepsOneSlotForRoll) {
    temp_dir dir;
    auto idx = time_index::open(dir.path() / "t.timeindex", 0, 36);  // 3 entries
    ASSERT_TRUE(idx);
    ASSERT_FALSE(idx->maybe_append(10, 1));
    EXPECT_FALSE(idx->full());
    ASSERT_FALSE(idx->maybe_append(20, 2));
    EXPECT_TRUE(idx->full());
    EXPECT_EQ(idx->maybe_append(30, 3), make_error_code(errc::invalid_index_entry));
    ASSERT_FALSE(idx->maybe_append(30, 3, true));
    EXPECT_EQ(idx->entries(), 3u);
}

TEST(TimeIndex, TruncateTo) {
    temp_dir dir;
    auto idx = time_index::open(dir.path() / "t.timeindex", 0, 1024);
    ASSERT_TRUE(idx);
    ASSERT_FALSE(idx->maybe_append(10, 5));
    ASSERT_FALSE(idx->maybe_append(20, 9));
    ASSERT_FALSE(idx->maybe_append(30, 14));
    ASSERT_FALSE(idx->truncate_to(9));
    EXPECT_EQ(idx->entries(), 1u);
    EXPECT_EQ(idx->last_entry(), (timestamp_offset{10, 5}));
    ASSERT_FALSE(idx->maybe_append(15, 6));
    EXPECT_EQ(idx->entries(), 2u);
}

TEST(IndexFile, EntriesReachTheFileOnlyWhenWrittenOut) {
    temp_dir dir;
    auto path = dir.path() / "00000000000000000000.index";
    auto tpath = dir.path() / "00000000000000000000.timeindex";
    auto idx = offset_index::open(path, 0, 1000);
    auto tidx = time_index::open(tpath, 0, 1000);
    ASSERT_TRUE(idx && tidx);
    EXPECT_EQ(tidx->max_entries(), 83u);  // 996 bytes of 12-byte entries
    EXPECT_FALSE(idx->take_pending());    // nothing new
    for (int i = 1; i <= 4; ++i) {
        ASSERT_FALSE(idx->append(i * 10, i * 100));
        ASSERT_FALSE(tidx->maybe_append(i * 1000, i * 10));
    }
    EXPECT_EQ(fs::file_size(path), 0u);  // kept in memory: no descriptor stays open
    EXPECT_EQ(idx->lookup(25), (offset_position{20, 200}));

    // A flush job takes the new entries once and writes them where they belong.
    auto w = idx->take_pending();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->position, 0);
    EXPECT_EQ(w->bytes.size(), 32u);
    EXPECT_FALSE(idx->take_pending());
    ASSERT_FALSE(w->run());
    EXPECT_EQ(fs::file_size(path), 32u);
    ASSERT_FALSE(idx->append(50, 500));
    w = idx->take_pending();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->position, 32);
    ASSERT_FALSE(w->run());
    {
        auto again = offset_index::open(path, 0, 1000);
        ASSERT_TRUE(again);
        EXPECT_EQ(again->entries(), 5u);
        EXPECT_EQ(again->last_entry(), (offset_position{50, 500}));
    }

    // Truncation cuts the file too; write_all leaves exactly the entries.
    ASSERT_FALSE(idx->truncate_to(30));
    EXPECT_EQ(idx->entries(), 2u);
    EXPECT_EQ(fs::file_size(path), 16u);
    ASSERT_FALSE(tidx->truncate_to(30));
    ASSERT_FALSE(tidx->write_all());
    EXPECT_EQ(fs::file_size(tpath), 24u);
    auto tagain = time_index::open(tpath, 0, 1000);
    ASSERT_TRUE(tagain);
    EXPECT_EQ(tagain->last_entry(), (timestamp_offset{2000, 20}));
    // A write-out still needs a sync, handed to the next flush job.
    w = tidx->take_pending();
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->bytes.empty());
    ASSERT_FALSE(w->run());

    // A job for a file deleted meanwhile (retention) has nothing left to do.
    ASSERT_FALSE(idx->append(60, 600));
    w = idx->take_pending();
    fs::remove(path);
    EXPECT_FALSE(w->run());
    EXPECT_FALSE(fs::exists(path));
}

TEST(IndexFile, ShrunkIndexBytesNeverCutEntries) {
    temp_dir dir;
    auto path = dir.path() / "x.index";
    {
        auto idx = offset_index::open(path, 0, 1024);
        ASSERT_TRUE(idx);
        for (int i = 1; i <= 6; ++i) ASSERT_FALSE(idx->append(i, i * 10));
        ASSERT_FALSE(idx->flush());
    }
    // segment.index.bytes shrank below what the file holds: the entries stay.
    auto idx = offset_index::open(path, 0, 16);
    ASSERT_TRUE(idx);
    EXPECT_EQ(idx->entries(), 6u);
    EXPECT_TRUE(idx->full());
    EXPECT_EQ(fs::file_size(path), 48u);
}

TEST(IndexFile, LoadsKafkasPreallocatedFileQuickly) {
    temp_dir dir;
    auto path = dir.path() / "big.index";
    {
        // Kafka preallocates segment.index.bytes of zeros and may crash before trimming.
        std::vector<uint8_t> bytes(10u << 20, 0);
        bytes[3] = 5;     // relative offset 5
        bytes[6] = 0x10;  // position 4096
        append_bytes(path, bytes);
    }
    auto idx = offset_index::open(path, 0, 10 << 20);
    ASSERT_TRUE(idx);
    EXPECT_EQ(idx->entries(), 1u);
    EXPECT_EQ(idx->last_entry(), (offset_position{5, 4096}));
    EXPECT_EQ(fs::file_size(path), 8u);
}

}  // namespace
}  // namespace runnel::storage
