#include "storage/segment.h"

#include "file_size_limit.h"
#include "test_batches.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::make_batch;
using test::split_batches;
using test::temp_dir;
namespace bl = protocol::batch_layout;

struct written {
    int64_t base_offset;
    int64_t last_offset;
    int64_t position;
    int64_t max_timestamp;
    std::vector<uint8_t> bytes;
};

// Appends batches of `records` records (offsets follow on), one append per batch.
class SegmentTest : public ::testing::Test {
  protected:
    static constexpr int64_t base = 1000;

    void SetUp() override {
        auto s = segment::create(dir_.path(), base, options_, 0);
        ASSERT_TRUE(s) << s.error().message();
        seg_.emplace(std::move(*s));
    }

    void append(int32_t records, int64_t ts, size_t value_size = 40) {
        auto b = make_batch(records, ts, value_size);
        int64_t first = batches_.empty() ? base : batches_.back().last_offset + 1;
        bl::store_i64(b.data(), first);
        int64_t last = first + records - 1;
        int64_t max_ts = bl::load_i64(b.data() + bl::max_timestamp);
        int64_t position = seg_->size();
        ASSERT_FALSE(seg_->append(b, last, max_ts, last, 0));
        batches_.push_back({first, last, position, max_ts, std::move(b)});
    }

    std::vector<uint8_t> all_bytes() const {
        std::vector<uint8_t> v;
        for (const auto& b : batches_) v.insert(v.end(), b.bytes.begin(), b.bytes.end());
        return v;
    }

    temp_dir dir_;
    segment_options options_{200, 4096};
    std::optional<segment> seg_;
    std::vector<written> batches_;
};

TEST(SegmentNames, TwentyDigits) {
    EXPECT_EQ(segment_file_name(0, ".log"), "00000000000000000000.log");
    EXPECT_EQ(segment_file_name(1234567, ".index"), "00000000000001234567.index");
    EXPECT_EQ(parse_segment_file_name("00000000000001234567.timeindex", ".timeindex"), 1234567);
    EXPECT_EQ(parse_segment_file_name("0000000000001234567.log", ".log"), std::nullopt);
    EXPECT_EQ(parse_segment_file_name("0000000000000123456x.log", ".log"), std::nullopt);
    EXPECT_EQ(parse_segment_file_name("00000000000001234567.log", ".index"), std::nullopt);
    EXPECT_EQ(parse_segment_file_name("99999999999999999999.log", ".log"), std::nullopt);
}

TEST_F(SegmentTest, CreatesKafkaFileNames) {
    EXPECT_TRUE(fs::exists(dir_.path() / "00000000000000001000.log"));
    EXPECT_TRUE(fs::exists(dir_.path() / "00000000000000001000.index"));
    EXPECT_TRUE(fs::exists(dir_.path() / "00000000000000001000.timeindex"));
    auto again = segment::create(dir_.path(), base, options_, 0);
    EXPECT_FALSE(again);  // never clobbers an existing .log
}

TEST_F(SegmentTest, AppendReadRoundTripAndIndexEntries) {
    for (int i = 0; i < 20; ++i) append(1 + i % 4, 10'000 + i * 10);
    EXPECT_EQ(seg_->size(), static_cast<int64_t>(all_bytes().size()));
    EXPECT_EQ(seg_->next_offset(), batches_.back().last_offset + 1);
    EXPECT_EQ(seg_->max_timestamp(), 10'000 + 19 * 10 + (1 + 19 % 4) - 1);

    std::vector<uint8_t> out;
    auto r = seg_->read(0, 1 << 20, false, &out);
    ASSERT_TRUE(r);
    EXPECT_EQ(out, all_bytes());
    EXPECT_EQ(r->first_offset, base);
    EXPECT_EQ(r->last_offset, batches_.back().last_offset);
    EXPECT_TRUE(r->to_end);

    // Index entries: more than one, each pointing at a batch start for the recorded offset.
    ASSERT_GT(seg_->offsets().entries(), 2u);
    for (size_t i = 0; i < seg_->offsets().entries(); ++i) {
        auto e = seg_->offsets().entry(i);
        auto it = std::find_if(batches_.begin(), batches_.end(),
                               [&](const written& w) { return w.position == e.position; });
        ASSERT_NE(it, batches_.end());
        EXPECT_EQ(it->last_offset, e.offset);
    }
    EXPECT_GT(seg_->times().entries(), 0u);
}

TEST_F(SegmentTest, FindPositionFindsContainingBatch) {
    for (int i = 0; i < 30; ++i) append(3, 5'000 + i);
    for (const auto& w : batches_) {
        for (int64_t o = w.base_offset; o <= w.last_offset; ++o) {
            auto h = seg_->find_position(o);
            ASSERT_TRUE(h);
            ASSERT_TRUE(*h) << o;
            EXPECT_EQ((*h)->position, w.position) << o;
            EXPECT_EQ((*h)->base_offset, w.base_offset);
        }
    }
    auto before = seg_->find_position(base - 5);
    ASSERT_TRUE(before && *before);
    EXPECT_EQ((*before)->position, 0);
    auto after = seg_->find_position(batches_.back().last_offset + 1);
    ASSERT_TRUE(after);
    EXPECT_FALSE(*after);
}

TEST_F(SegmentTest, ReadLimitsToWholeBatches) {
    for (int i = 0; i < 5; ++i) append(2, 100 + i, 100);
    size_t one = batches_[0].bytes.size();
    std::vector<uint8_t> out{0xAA};  // reads append after existing content
    auto r = seg_->read(0, one * 2 + one / 2, false, &out);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->length, one * 2);
    EXPECT_EQ(out.size(), 1 + one * 2);
    EXPECT_EQ(out[0], 0xAA);
    EXPECT_FALSE(r->to_end);
    EXPECT_EQ(r->last_offset, batches_[1].last_offset);

    out.clear();
    r = seg_->read(0, one - 1, false, &out);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->length, 0u);
    EXPECT_TRUE(out.empty());

    r = seg_->read(0, one - 1, true, &out);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->length, one);
    EXPECT_EQ(out, batches_[0].bytes);

    // Without a buffer only the range is computed, the same range.
    auto range = seg_->read(batches_[1].position, one * 3, false);
    ASSERT_TRUE(range);
    EXPECT_EQ(range->position, batches_[1].position);
    EXPECT_EQ(range->length, one * 3);
    EXPECT_EQ(range->first_offset, batches_[1].base_offset);
    EXPECT_EQ(range->last_offset, batches_[3].last_offset);
    std::vector<uint8_t> copy(range->length);
    ASSERT_FALSE(seg_->read_bytes(range->position, range->length, copy.data()));
    auto all = all_bytes();
    auto from = all.begin() + batches_[1].position;
    EXPECT_EQ(copy, std::vector<uint8_t>(from, from + static_cast<int64_t>(one * 3)));

    auto end = seg_->read(seg_->size(), 100, true);
    ASSERT_TRUE(end);
    EXPECT_EQ(end->length, 0u);
    EXPECT_TRUE(end->to_end);
}

TEST_F(SegmentTest, FindByTimestamp) {
    // Timestamps: batch i has records at 1000 + 10*i .. +2 (max 1000 + 10*i + 2).
    for (int i = 0; i < 40; ++i) append(3, 1000 + 10 * i);
    auto find = [&](int64_t ts) -> int64_t {
        auto h = seg_->find_by_timestamp(ts);
        EXPECT_TRUE(h);
        return h && *h ? (*h)->base_offset : -1;
    };
    EXPECT_EQ(find(0), base);
    EXPECT_EQ(find(1002), base);
    EXPECT_EQ(find(1003), batches_[1].base_offset);
    EXPECT_EQ(find(1010), batches_[1].base_offset);
    EXPECT_EQ(find(1000 + 10 * 25 + 1), batches_[25].base_offset);
    EXPECT_EQ(find(1000 + 10 * 39 + 2), batches_[39].base_offset);
    EXPECT_EQ(find(1000 + 10 * 39 + 3), -1);
}

TEST_F(SegmentTest, RecoverRebuildsSameIndexes) {
    for (int i = 0; i < 25; ++i) append(2, 7'000 + i);
    ASSERT_FALSE(seg_->seal());
    std::vector<offset_position> offsets;
    for (size_t i = 0; i < seg_->offsets().entries(); ++i)
        offsets.push_back(seg_->offsets().entry(i));
    std::vector<timestamp_offset> times;
    for (size_t i = 0; i < seg_->times().entries(); ++i) times.push_back(seg_->times().entry(i));
    ASSERT_FALSE(seg_->close());

    auto s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->needs_recovery());
    EXPECT_EQ(s->max_timestamp(), batches_.back().max_timestamp);
    EXPECT_EQ(s->offset_of_max_timestamp(), batches_.back().last_offset);
    auto dropped = s->recover();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, 0);
    std::vector<offset_position> offsets2;
    for (size_t i = 0; i < s->offsets().entries(); ++i) offsets2.push_back(s->offsets().entry(i));
    std::vector<timestamp_offset> times2;
    for (size_t i = 0; i < s->times().entries(); ++i) times2.push_back(s->times().entry(i));
    EXPECT_EQ(offsets, offsets2);
    EXPECT_EQ(times, times2);
    EXPECT_EQ(s->next_offset(), batches_.back().last_offset + 1);
}

TEST_F(SegmentTest, MissingIndexNeedsRecovery) {
    for (int i = 0; i < 10; ++i) append(1, 50 + i);
    ASSERT_FALSE(seg_->close());
    fs::remove(dir_.path() / "00000000000000001000.index");
    auto s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->needs_recovery());
    ASSERT_TRUE(s->recover());
    EXPECT_GT(s->offsets().entries(), 0u);
    EXPECT_FALSE(s->needs_recovery());
}

TEST_F(SegmentTest, RecoverCutsTornAndCorruptTails) {
    for (int i = 0; i < 8; ++i) append(2, 100 + i, 60);
    ASSERT_FALSE(seg_->close());
    auto log_path = dir_.path() / "00000000000000001000.log";
    int64_t good = batches_[7].position;

    // Torn: the file ends inside the last batch.
    fs::resize_file(log_path, static_cast<uintmax_t>(good + 30));
    auto s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    auto dropped = s->recover();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, 30);
    EXPECT_EQ(s->size(), good);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(log_path)), good);
    EXPECT_EQ(s->next_offset(), batches_[6].last_offset + 1);
    ASSERT_FALSE(s->close());

    // Corrupt: one flipped byte in the records of batch 5 drops batches 5 and 6.
    {
        std::fstream f(log_path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(batches_[5].position + 70);
        char c;
        f.seekg(batches_[5].position + 70);
        f.get(c);
        f.seekp(batches_[5].position + 70);
        f.put(static_cast<char>(c ^ 0x01));
    }
    s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    dropped = s->recover();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, good - batches_[5].position);
    EXPECT_EQ(s->next_offset(), batches_[4].last_offset + 1);
    EXPECT_EQ(s->max_timestamp(), batches_[4].max_timestamp);
    // Index entries never point past the cut.
    EXPECT_LT(s->offsets().last_entry().position, s->size());
}

TEST_F(SegmentTest, RecoverRejectsGarbageHeaders) {
    append(3, 100);
    append(3, 200);
    ASSERT_FALSE(seg_->close());
    auto log_path = dir_.path() / "00000000000000001000.log";
    // Zero fill (Kafka's log preallocation) after the real batches.
    {
        std::ofstream f(log_path, std::ios::binary | std::ios::app);
        std::vector<char> zeros(500, 0);
        f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    }
    auto s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    auto dropped = s->recover();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, 500);
    EXPECT_EQ(s->next_offset(), batches_.back().last_offset + 1);
    ASSERT_FALSE(s->close());

    // Wrong magic in the second batch (CRC does not cover it, so the check must be explicit).
    {
        std::fstream f(log_path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(batches_[1].position + static_cast<int64_t>(bl::magic));
        f.put(1);
    }
    s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    dropped = s->recover();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(s->size(), batches_[1].position);
}

TEST_F(SegmentTest, RecoverRejectsOffsetsGoingBackwards) {
    append(3, 100);
    // A second batch whose base offset overlaps the first.
    auto b = make_batch(2, 200);
    bl::store_i64(b.data(), base + 1);
    ASSERT_FALSE(seg_->append(b, base + 2, 201, base + 2, 0));
    ASSERT_FALSE(seg_->close());
    auto s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    auto dropped = s->recover();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, static_cast<int64_t>(b.size()));
}

TEST_F(SegmentTest, FailedWriteLeavesFileUnchanged) {
    append(2, 100, 50);
    append(2, 101, 50);
    int64_t before = seg_->size();
    auto log_path = dir_.path() / "00000000000000001000.log";

    auto big = make_batch(5, 200, 100);
    bl::store_i64(big.data(), batches_.back().last_offset + 1);
    std::error_code ec;
    {
        // The kernel accepts only part of the write, then fails with EFBIG.
        test::file_size_limit limit(before + 100);
        ec = seg_->append(big, batches_.back().last_offset + 5, 204,
                          batches_.back().last_offset + 5, 0);
    }

    EXPECT_EQ(ec, make_error_code(errc::no_space));  // EFBIG counts as no space
    EXPECT_EQ(seg_->size(), before);
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(log_path)), before);
    EXPECT_EQ(seg_->next_offset(), batches_.back().last_offset + 1);

    // The segment still works afterwards.
    append(1, 300);
    std::vector<uint8_t> out;
    ASSERT_TRUE(seg_->read(0, 1 << 20, false, &out));
    EXPECT_EQ(out, all_bytes());
}

TEST_F(SegmentTest, RemoveDeletesFiles) {
    append(1, 1);
    ASSERT_FALSE(seg_->remove());
    EXPECT_TRUE(fs::is_empty(dir_.path()));
}

TEST_F(SegmentTest, IndexesAreWrittenOutWhenSealedClosedAndFlushed) {
    auto index = dir_.path() / "00000000000000001000.index";
    auto time_index = dir_.path() / "00000000000000001000.timeindex";
    EXPECT_EQ(fs::file_size(index), 0u);  // no preallocation: nothing maps the files
    for (int i = 0; i < 10; ++i) append(2, 3'000 + i);
    size_t offset_entries = seg_->offsets().entries();
    ASSERT_GT(offset_entries, 0u);
    EXPECT_EQ(fs::file_size(index), 0u);  // entries wait in memory
    ASSERT_FALSE(seg_->seal());
    EXPECT_EQ(fs::file_size(index), offset_entries * 8);
    EXPECT_EQ(fs::file_size(time_index), seg_->times().entries() * 12);
    EXPECT_EQ(seg_->times().last_entry().timestamp, seg_->max_timestamp());
    for (int i = 0; i < 10; ++i) append(2, 4'000 + i);
    ASSERT_GT(seg_->offsets().entries(), offset_entries);
    ASSERT_FALSE(seg_->flush());
    EXPECT_EQ(fs::file_size(index), seg_->offsets().entries() * 8);
    for (int i = 0; i < 10; ++i) append(2, 5'000 + i);
    ASSERT_FALSE(seg_->close());  // close writes them out too
    EXPECT_EQ(fs::file_size(index), seg_->offsets().entries() * 8);
    EXPECT_EQ(fs::file_size(time_index), seg_->times().entries() * 12);
}

TEST_F(SegmentTest, LoadTailFindsTheEndWithoutRecovery) {
    for (int i = 0; i < 12; ++i) append(3, 4'000 + i);
    ASSERT_FALSE(seg_->close());
    auto s = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->next_offset());
    auto ok = s->load_tail();
    ASSERT_TRUE(ok);
    EXPECT_TRUE(*ok);
    EXPECT_EQ(s->next_offset(), batches_.back().last_offset + 1);
    EXPECT_EQ(s->max_timestamp(), batches_.back().max_timestamp);
    EXPECT_EQ(s->first_append_ms(), 0);  // the first batch's timestamp (4000) is not earlier
    ASSERT_FALSE(s->close());

    // A torn tail is noticed (and left for recover()).
    auto log_path = dir_.path() / "00000000000000001000.log";
    fs::resize_file(log_path, fs::file_size(log_path) - 5);
    auto t = segment::open(dir_.path(), base, options_, 0);
    ASSERT_TRUE(t);
    ok = t->load_tail();
    ASSERT_TRUE(ok);
    EXPECT_FALSE(*ok);
    EXPECT_TRUE(t->needs_recovery());
    auto dropped = t->recover();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(*dropped, static_cast<int64_t>(batches_.back().bytes.size()) - 5);
    EXPECT_EQ(t->next_offset(), batches_.back().base_offset);
}

TEST_F(SegmentTest, LargestTimestampFallsBackToFileTime) {
    EXPECT_EQ(seg_->max_timestamp(), no_timestamp);
    auto largest = seg_->largest_timestamp();
    ASSERT_TRUE(largest);
    auto mtime = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    EXPECT_NEAR(static_cast<double>(*largest), static_cast<double>(mtime), 60'000.0);
    append(1, 777);
    EXPECT_EQ(seg_->largest_timestamp().value(), 777);
}

}  // namespace
}  // namespace runnel::storage
