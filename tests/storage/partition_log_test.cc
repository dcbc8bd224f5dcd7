#include "storage/partition_log.h"
#include "storage/partition_dir.h"

#include "test_batches.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
namespace bl = protocol::batch_layout;
using test::make_batch;
using test::parsed_batch;
using test::split_batches;
using test::temp_dir;

struct appended {
    append_info info;
    std::vector<uint8_t> bytes;  // as stored (base offset stamped)
};

class PartitionLogTest : public ::testing::Test {
  protected:
    void open_log() {
        auto l = partition_log::open(path(), config_);
        ASSERT_TRUE(l) << l.error().message();
        log_ = std::move(*l);
        log_->set_clock([this] { return now_; });
    }
    fs::path path() const { return dir_.path() / "orders-3"; }

    appended append(int32_t records, int64_t ts, size_t value_size = 30) {
        auto b = make_batch(records, ts, value_size);
        auto info = log_->append(b, std::nullopt);
        EXPECT_TRUE(info) << info.error().message();
        return {info ? *info : append_info{}, b};
    }

    std::vector<uint8_t> read_all() {
        auto r = log_->read(log_->log_start_offset(), 1 << 30, true);
        EXPECT_TRUE(r);
        return r ? *r->bytes : std::vector<uint8_t>{};
    }

    temp_dir dir_;
    log_config config_{};
    std::unique_ptr<partition_log> log_;
    int64_t now_ = 1'700'000'000'000;
};

TEST_F(PartitionLogTest, AppendStampsOffsetsAndReadsBack) {
    open_log();
    EXPECT_EQ(log_->log_end_offset(), 0);
    EXPECT_TRUE(fs::exists(path() / "00000000000000000000.log"));

    auto a = append(3, 1000);
    EXPECT_EQ(a.info.base_offset, 0);
    EXPECT_EQ(a.info.last_offset, 2);
    EXPECT_EQ(a.info.record_count, 3);
    EXPECT_EQ(a.info.log_append_time, -1);
    EXPECT_EQ(bl::load_i64(a.bytes.data()), 0);
    auto b = append(5, 2000);
    EXPECT_EQ(b.info.base_offset, 3);
    EXPECT_EQ(b.info.last_offset, 7);
    EXPECT_EQ(bl::load_i64(b.bytes.data()), 3);  // stamped in place
    EXPECT_EQ(log_->log_end_offset(), 8);
    EXPECT_EQ(log_->next_offset(), 8);

    auto r = log_->read(0, 1 << 20, false);
    ASSERT_TRUE(r);
    auto batches = split_batches(*r->bytes);
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[0].base_offset, 0);
    EXPECT_EQ(batches[1].base_offset, 3);
    EXPECT_EQ(batches[1].last_offset, 7);
    EXPECT_EQ(r->first_offset, 0);
    EXPECT_EQ(r->next_offset, 8);
    EXPECT_EQ(r->log_end_offset, 8);
    std::vector<uint8_t> both = a.bytes;
    both.insert(both.end(), b.bytes.begin(), b.bytes.end());
    EXPECT_EQ(*r->bytes, both);
}

// Producers send partition_leader_epoch -1; the leader writes its own epoch into every batch it
// appends, markers included (outside the CRC), as Kafka's LogValidator does.
TEST_F(PartitionLogTest, AppendStampsTheLeaderEpoch) {
    open_log();
    auto a = append(2, 1000);
    log_->set_leader_epoch(4);
    auto b = append(1, 2000);
    ASSERT_TRUE(log_->append_marker(9, 0, protocol::txn_result::abort, 0, 3000));
    auto batches = split_batches(read_all());
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0].partition_leader_epoch, 0);
    EXPECT_EQ(batches[1].partition_leader_epoch, 4);
    EXPECT_EQ(batches[2].partition_leader_epoch, 4);
    EXPECT_EQ(bl::load_i32(a.bytes.data() + bl::partition_leader_epoch), 0);
    EXPECT_EQ(bl::load_i32(b.bytes.data() + bl::partition_leader_epoch), 4);
}

TEST_F(PartitionLogTest, SeveralBatchesInOneAppend) {
    open_log();
    append(2, 10);
    auto x = make_batch(3, 20);
    auto y = make_batch(1, 30);
    auto z = make_batch(4, 25);
    std::vector<uint8_t> all = x;
    all.insert(all.end(), y.begin(), y.end());
    all.insert(all.end(), z.begin(), z.end());
    auto info = log_->append(all, 99);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->base_offset, 2);
    EXPECT_EQ(info->last_offset, 9);
    EXPECT_EQ(info->record_count, 8);
    EXPECT_EQ(info->log_append_time, 99);
    auto parsed = split_batches(all);
    ASSERT_EQ(parsed.size(), 3u);
    EXPECT_EQ(parsed[0].base_offset, 2);
    EXPECT_EQ(parsed[1].base_offset, 5);
    EXPECT_EQ(parsed[2].base_offset, 6);
    // Offset 5 is the single record of the middle batch.
    auto r = log_->read(5, 1, true);
    ASSERT_TRUE(r);
    auto y_at = all.begin() + static_cast<std::ptrdiff_t>(x.size());
    EXPECT_EQ(*r->bytes, std::vector<uint8_t>(y_at, y_at + static_cast<std::ptrdiff_t>(y.size())));
}

TEST_F(PartitionLogTest, RejectsMalformedInput) {
    open_log();
    std::vector<uint8_t> empty;
    EXPECT_EQ(log_->append(empty, std::nullopt).error(), make_error_code(errc::invalid_batch));
    auto b = make_batch(2, 1);
    b.pop_back();  // length field now claims one byte too many
    EXPECT_EQ(log_->append(b, std::nullopt).error(), make_error_code(errc::invalid_batch));
    auto c = make_batch(2, 1);
    c[bl::magic] = 1;
    EXPECT_EQ(log_->append(c, std::nullopt).error(), make_error_code(errc::invalid_batch));
    EXPECT_EQ(log_->log_end_offset(), 0);
    EXPECT_EQ(log_->size_bytes(), 0);
}

TEST_F(PartitionLogTest, ReadInsideBatchReturnsWholeBatch) {
    open_log();
    auto a = append(10, 100);
    auto b = append(10, 200);
    for (int64_t o = 0; o < 10; ++o) {
        auto r = log_->read(o, 1 << 20, false);
        ASSERT_TRUE(r);
        auto batches = split_batches(*r->bytes);
        ASSERT_EQ(batches.size(), 2u);
        EXPECT_EQ(batches[0].base_offset, 0);
        EXPECT_EQ(r->first_offset, 0);
    }
    auto r = log_->read(15, 1 << 20, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->bytes, b.bytes);
    EXPECT_EQ(r->first_offset, 10);
    EXPECT_EQ(r->next_offset, 20);
}

TEST_F(PartitionLogTest, MaxBytesAndMinOneBatch) {
    open_log();
    std::vector<appended> v;
    for (int i = 0; i < 4; ++i) v.push_back(append(5, 100 * i, 50));
    size_t one = v[0].bytes.size();

    auto r = log_->read(0, one - 1, false);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
    EXPECT_EQ(r->next_offset, 0);

    r = log_->read(0, one - 1, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->bytes, v[0].bytes);
    EXPECT_EQ(r->next_offset, 5);

    r = log_->read(0, 0, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->bytes, v[0].bytes);

    r = log_->read(7, one * 2 + one / 2, false);
    ASSERT_TRUE(r);
    auto batches = split_batches(*r->bytes);
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[0].base_offset, 5);
    EXPECT_EQ(batches[1].base_offset, 10);
    EXPECT_EQ(r->next_offset, 15);

    r = log_->read(7, one * 2, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(split_batches(*r->bytes).size(), 2u);
}

TEST_F(PartitionLogTest, OutOfRangeAndEndReads) {
    open_log();
    append(3, 1);
    auto at_end = log_->read(3, 1000, true);
    ASSERT_TRUE(at_end);
    EXPECT_TRUE(at_end->empty());
    EXPECT_EQ(at_end->next_offset, 3);
    EXPECT_EQ(log_->read(4, 1000, true).error(), make_error_code(errc::offset_out_of_range));
    EXPECT_EQ(log_->read(-1, 1000, true).error(), make_error_code(errc::offset_out_of_range));
}

TEST_F(PartitionLogTest, RollsBySizeAndReadsAcrossSegments) {
    config_.segment_bytes = 1000;
    open_log();
    std::vector<appended> v;
    for (int i = 0; i < 30; ++i) v.push_back(append(2, 1000 + i, 40));
    EXPECT_GT(log_->segment_count(), 3u);
    auto bases = log_->segment_base_offsets();
    for (auto b : bases) {
        auto name = segment_file_name(b, ".log");
        ASSERT_TRUE(fs::exists(path() / name)) << name;
        EXPECT_LE(fs::file_size(path() / name), 1000u);
        EXPECT_TRUE(fs::exists(path() / segment_file_name(b, ".index")));
        EXPECT_TRUE(fs::exists(path() / segment_file_name(b, ".timeindex")));
    }
    // Each segment starts at a batch boundary.
    for (auto b : bases) EXPECT_EQ(b % 2, 0);

    std::vector<uint8_t> want;
    for (const auto& a : v) want.insert(want.end(), a.bytes.begin(), a.bytes.end());
    EXPECT_EQ(read_all(), want);
    EXPECT_EQ(log_->size_bytes(), static_cast<int64_t>(want.size()));

    // A read starting in one segment continues into the next ones.
    size_t one = v[0].bytes.size();
    auto r = log_->read(bases[1] + 1, one * 10, false);
    ASSERT_TRUE(r);
    auto batches = split_batches(*r->bytes);
    ASSERT_EQ(batches.size(), 10u);
    EXPECT_EQ(batches.front().base_offset, bases[1]);
    for (size_t i = 1; i < batches.size(); ++i)
        EXPECT_EQ(batches[i].base_offset, batches[i - 1].last_offset + 1);
}

TEST_F(PartitionLogTest, OversizedAppendGetsItsOwnSegment) {
    config_.segment_bytes = 300;
    open_log();
    append(1, 1, 10);
    auto big = append(3, 2, 400);
    EXPECT_EQ(log_->segment_count(), 2u);
    append(1, 3, 10);
    EXPECT_EQ(log_->segment_count(), 3u);
    auto r = log_->read(big.info.base_offset, 10, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->bytes, big.bytes);
}

TEST_F(PartitionLogTest, RollsByTime) {
    config_.segment_ms = 60'000;
    open_log();
    append(1, 1);
    now_ += 30'000;
    append(1, 2);
    EXPECT_EQ(log_->segment_count(), 1u);
    now_ += 30'001;
    append(1, 3);
    EXPECT_EQ(log_->segment_count(), 2u);
    EXPECT_EQ(log_->segment_base_offsets().back(), 2);
    now_ += 59'000;
    append(1, 4);
    EXPECT_EQ(log_->segment_count(), 2u);
}

TEST_F(PartitionLogTest, RollsWhenIndexFull) {
    config_.index_interval_bytes = 1;     // an index entry for every append but the first
    config_.segment_index_bytes = 8 * 4;  // 4 offset entries, 2 usable time index entries
    open_log();
    for (int i = 0; i < 20; ++i) append(1, 100 + i);
    EXPECT_GT(log_->segment_count(), 3u);
    auto r = log_->read(0, 1 << 20, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(split_batches(*r->bytes).size(), 20u);
}

TEST_F(PartitionLogTest, ReopenGivesSameDataAndOffsets) {
    config_.segment_bytes = 800;
    config_.index_interval_bytes = 100;
    open_log();
    for (int i = 0; i < 25; ++i) append(1 + i % 3, 5000 + 7 * i);
    auto before = read_all();
    auto leo = log_->log_end_offset();
    auto bases = log_->segment_base_offsets();
    ASSERT_FALSE(log_->close());
    EXPECT_EQ(log_->read(0, 100, true).error(), make_error_code(errc::log_closed));
    log_.reset();

    open_log();
    EXPECT_EQ(log_->log_end_offset(), leo);
    EXPECT_EQ(log_->segment_base_offsets(), bases);
    EXPECT_EQ(read_all(), before);
    auto next = append(2, 9999);
    EXPECT_EQ(next.info.base_offset, leo);
    // Lookups by offset still work through the loaded indexes.
    for (int64_t o = 0; o < leo; o += 3) {
        auto r = log_->read(o, 1, true);
        ASSERT_TRUE(r);
        auto batches = split_batches(*r->bytes);
        ASSERT_EQ(batches.size(), 1u);
        EXPECT_LE(batches[0].base_offset, o);
        EXPECT_GE(batches[0].last_offset, o);
    }
}

TEST_F(PartitionLogTest, ReopenWithoutCloseRecovers) {
    open_log();
    for (int i = 0; i < 10; ++i) append(2, i);
    auto before = read_all();
    log_.reset();  // no close(): as after a crash (the page cache still has the data)
    open_log();
    EXPECT_EQ(log_->log_end_offset(), 20);
    EXPECT_EQ(read_all(), before);
}

TEST_F(PartitionLogTest, TornTailIsCutOnOpen) {
    std::mt19937 rng(12345);
    for (int round = 0; round < 8; ++round) {
        SCOPED_TRACE(round);
        temp_dir d;
        auto dir = d.path() / "t-0";
        std::vector<size_t> ends;
        {
            auto l = partition_log::open(dir, config_);
            ASSERT_TRUE(l);
            size_t total = 0;
            for (int i = 0; i < 6; ++i) {
                auto b = make_batch(3, 100 + i, 20 + i * 7);
                ASSERT_TRUE((*l)->append(b, std::nullopt));
                total += b.size();
                ends.push_back(total);
            }
            ASSERT_FALSE((*l)->close());
        }
        // Cut somewhere strictly inside the last batch.
        size_t start = ends[4];
        size_t cut = start + 1 + rng() % (ends[5] - start - 1);
        fs::resize_file(dir / "00000000000000000000.log", cut);

        auto l = partition_log::open(dir, config_);
        ASSERT_TRUE(l);
        EXPECT_EQ((*l)->log_end_offset(), 15);
        EXPECT_EQ((*l)->size_bytes(), static_cast<int64_t>(start));
        EXPECT_EQ(fs::file_size(dir / "00000000000000000000.log"), start);
        auto r = (*l)->read(0, 1 << 20, false);
        ASSERT_TRUE(r);
        EXPECT_EQ(split_batches(*r->bytes).size(), 5u);
        // Appends continue from the cut.
        auto b = make_batch(1, 999);
        auto info = (*l)->append(b, std::nullopt);
        ASSERT_TRUE(info);
        EXPECT_EQ(info->base_offset, 15);
    }
}

TEST_F(PartitionLogTest, CorruptByteIsCutOnOpen) {
    std::mt19937 rng(777);
    for (int round = 0; round < 8; ++round) {
        SCOPED_TRACE(round);
        temp_dir d;
        auto dir = d.path() / "t-0";
        std::vector<size_t> starts;
        {
            auto l = partition_log::open(dir, config_);
            ASSERT_TRUE(l);
            size_t total = 0;
            for (int i = 0; i < 5; ++i) {
                auto b = make_batch(2, 100 + i, 30);
                starts.push_back(total);
                ASSERT_TRUE((*l)->append(b, std::nullopt));
                total += b.size();
            }
            starts.push_back(total);
            ASSERT_FALSE((*l)->close());
        }
        // Flip a byte in the last batch somewhere covered by a check: length, magic or CRC range.
        size_t start = starts[4];
        size_t len = starts[5] - start;
        size_t at;
        do {
            at = start + rng() % len;
        } while (at - start < bl::batch_length ||
                 (at - start >= bl::partition_leader_epoch && at - start < bl::magic));
        {
            std::fstream f(dir / "00000000000000000000.log",
                           std::ios::in | std::ios::out | std::ios::binary);
            f.seekg(static_cast<std::streamoff>(at));
            char c = 0;
            f.get(c);
            f.seekp(static_cast<std::streamoff>(at));
            f.put(static_cast<char>(c ^ 0x40));
        }
        auto l = partition_log::open(dir, config_);
        ASSERT_TRUE(l);
        EXPECT_EQ((*l)->log_end_offset(), 8);
        EXPECT_EQ((*l)->size_bytes(), static_cast<int64_t>(start));
    }
}

TEST_F(PartitionLogTest, OnlyLastSegmentIsRecoveredButMissingIndexesAreRebuilt) {
    config_.segment_bytes = 500;
    config_.index_interval_bytes = 64;
    open_log();
    for (int i = 0; i < 20; ++i) append(1, 100 + i, 40);
    auto before = read_all();
    auto bases = log_->segment_base_offsets();
    ASSERT_GT(bases.size(), 2u);
    ASSERT_FALSE(log_->close());
    log_.reset();
    fs::remove(path() / segment_file_name(bases[1], ".index"));
    fs::remove(path() / segment_file_name(bases[1], ".timeindex"));
    // Orphaned index files (no .log) are removed.
    { std::ofstream(path() / segment_file_name(999999, ".index")).put('x'); }
    open_log();
    EXPECT_TRUE(fs::exists(path() / segment_file_name(bases[1], ".index")));
    EXPECT_GT(fs::file_size(path() / segment_file_name(bases[1], ".index")), 0u);
    EXPECT_FALSE(fs::exists(path() / segment_file_name(999999, ".index")));
    EXPECT_EQ(read_all(), before);
}

TEST_F(PartitionLogTest, TimestampLookups) {
    config_.segment_bytes = 600;
    config_.index_interval_bytes = 50;
    open_log();
    // Batch i holds 2 records at ts 1000 + 10*i and +1; batch 13 (offsets 26, 27) jumps to 5000.
    std::vector<appended> v;
    for (int i = 0; i < 20; ++i) v.push_back(append(2, i == 13 ? 5000 : 1000 + 10 * i));
    ASSERT_GT(log_->segment_count(), 3u);

    auto find = [&](int64_t ts) -> int64_t {
        auto t = log_->find_batch_by_timestamp(ts);
        EXPECT_TRUE(t);
        if (!t || !*t) return -1;
        EXPECT_EQ(split_batches(*(*t)->batch).size(), 1u);
        EXPECT_EQ(bl::load_i64((*t)->batch->data()), (*t)->base_offset);
        return (*t)->base_offset;
    };
    EXPECT_EQ(find(0), 0);
    EXPECT_EQ(find(1001), 0);
    EXPECT_EQ(find(1002), 2);
    EXPECT_EQ(find(1061), 12);  // batch 6 (1060, 1061)
    EXPECT_EQ(find(1121), 24);  // batch 12
    EXPECT_EQ(find(1122), 26);  // batch 13 (5000) is the first with max >= 1122
    EXPECT_EQ(find(1191), 26);  // ... even though batch 19 (1190, 1191) matches too
    EXPECT_EQ(find(5001), 26);
    EXPECT_EQ(find(5002), -1);

    // Every timestamp against a brute-force scan of what was appended.
    auto brute = [&](int64_t ts) -> int64_t {
        for (const auto& a : v) {
            if (bl::load_i64(a.bytes.data() + bl::max_timestamp) >= ts) return a.info.base_offset;
        }
        return -1;
    };
    for (int64_t ts = 990; ts < 1200; ++ts) EXPECT_EQ(find(ts), brute(ts)) << ts;

    auto max = log_->max_timestamp_batch();
    ASSERT_TRUE(max && *max);
    EXPECT_EQ((*max)->base_offset, 26);
    EXPECT_EQ((*max)->max_timestamp, 5001);

    ASSERT_FALSE(log_->close());
    log_.reset();
    open_log();
    for (int64_t ts = 990; ts < 1200; ++ts) EXPECT_EQ(find(ts), brute(ts)) << ts;
    max = log_->max_timestamp_batch();
    ASSERT_TRUE(max && *max);
    EXPECT_EQ((*max)->base_offset, 26);
}

TEST_F(PartitionLogTest, EmptyLogLookups) {
    open_log();
    auto t = log_->find_batch_by_timestamp(0);
    ASSERT_TRUE(t);
    EXPECT_FALSE(*t);
    auto m = log_->max_timestamp_batch();
    ASSERT_TRUE(m);
    EXPECT_FALSE(*m);
}

TEST_F(PartitionLogTest, FlushMessages) {
    config_.flush_messages = 3;
    open_log();
    for (int i = 0; i < 10; ++i) append(1, i);
    ASSERT_FALSE(log_->flush());
    EXPECT_EQ(read_all().size(), static_cast<size_t>(log_->size_bytes()));
}

TEST_F(PartitionLogTest, RemoveDeletesDirectory) {
    open_log();
    append(1, 1);
    ASSERT_FALSE(log_->close());
    ASSERT_FALSE(partition_log::remove(path()));
    EXPECT_FALSE(fs::exists(path()));
}

// ---- partition directories ----

TEST(PartitionDir, ParsesNames) {
    EXPECT_EQ(parse_partition_dir_name("my-topic-10"), (topic_partition_name{"my-topic", 10}));
    EXPECT_EQ(parse_partition_dir_name("orders-0"), (topic_partition_name{"orders", 0}));
    EXPECT_EQ(parse_partition_dir_name("a-b-c-2147483647"),
              (topic_partition_name{"a-b-c", 2147483647}));
    EXPECT_EQ(parse_partition_dir_name("__consumer_offsets-49"),
              (topic_partition_name{"__consumer_offsets", 49}));
    EXPECT_EQ(parse_partition_dir_name("topic--1"), (topic_partition_name{"topic-", 1}));
    EXPECT_EQ(parse_partition_dir_name("orders"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("orders-"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("-3"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("orders-x"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("orders-01"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("orders-+1"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("orders-2147483648"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("bad topic-1"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("orders-0.4f2a9c-delete"), std::nullopt);
    EXPECT_EQ(parse_partition_dir_name("lost+found"), std::nullopt);
    EXPECT_EQ(partition_dir_name("my-topic", 10), "my-topic-10");
    auto round = parse_partition_dir_name(partition_dir_name("x.y_z-w", 7));
    EXPECT_EQ(round, (topic_partition_name{"x.y_z-w", 7}));
}

TEST(PartitionDir, TopicIdsAreBase64UrlWithoutPadding) {
    protocol::uuid seq{};
    for (int i = 0; i < 16; ++i) seq[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(topic_id_to_string(seq), "AAECAwQFBgcICQoLDA0ODw");
    protocol::uuid ones;
    ones.fill(0xff);
    EXPECT_EQ(topic_id_to_string(ones), "_____________________w");
    EXPECT_EQ(topic_id_from_string("AAECAwQFBgcICQoLDA0ODw"), seq);
    EXPECT_EQ(topic_id_from_string("AAECAwQFBgcICQoLDA0ODw=="), seq);
    EXPECT_EQ(topic_id_from_string("_____________________w"), ones);
    EXPECT_EQ(topic_id_from_string("AAECAwQFBgcICQoLDA0OD"), std::nullopt);
    EXPECT_EQ(topic_id_from_string("AAECAwQFBgcICQoLDA0OD+"), std::nullopt);
    std::mt19937 rng(1);
    for (int i = 0; i < 100; ++i) {
        protocol::uuid u;
        for (auto& b : u) b = static_cast<uint8_t>(rng());
        auto s = topic_id_to_string(u);
        EXPECT_EQ(s.size(), 22u);
        EXPECT_EQ(topic_id_from_string(s), u);
    }
}

TEST(PartitionDir, MetadataFile) {
    temp_dir d;
    protocol::uuid id{};
    for (int i = 0; i < 16; ++i) id[i] = static_cast<uint8_t>(0xA0 + i);
    ASSERT_FALSE(write_partition_metadata(d.path(), id));
    std::ifstream in(d.path() / "partition.metadata", std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "version: 0\ntopic_id: " + topic_id_to_string(id));
    EXPECT_FALSE(fs::exists(d.path() / "partition.metadata.tmp"));
    auto read = read_partition_metadata(d.path());
    ASSERT_TRUE(read);
    EXPECT_EQ(*read, id);

    auto write = [&](const std::string& s) {
        std::ofstream(d.path() / "partition.metadata", std::ios::binary | std::ios::trunc) << s;
    };
    write("version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw\n");  // trailing newline is fine
    ASSERT_TRUE(read_partition_metadata(d.path()));
    write("version:  1\r\ntopic_id:\tAAECAwQFBgcICQoLDA0ODw\r\n");
    ASSERT_TRUE(read_partition_metadata(d.path()));
    for (const char* bad :
         {"", "version: 0", "version: x\ntopic_id: AAECAwQFBgcICQoLDA0ODw",
          "version: -1\ntopic_id: AAECAwQFBgcICQoLDA0ODw",
          "version:0\ntopic_id: AAECAwQFBgcICQoLDA0ODw",
          "version: 0\ntopic: AAECAwQFBgcICQoLDA0ODw",
          "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA", "version: 0\ntopic_id: nope"}) {
        write(bad);
        EXPECT_EQ(read_partition_metadata(d.path()).error(),
                  make_error_code(errc::corrupt_metadata))
            << bad;
    }
    fs::remove(d.path() / "partition.metadata");
    EXPECT_EQ(read_partition_metadata(d.path()).error(),
              std::make_error_code(std::errc::no_such_file_or_directory));
}

TEST(PartitionDir, ChooseAndScanLogDirs) {
    temp_dir a, b;
    auto mk = [](const fs::path& p) { fs::create_directories(p); };
    mk(a.path() / "orders-0");
    mk(a.path() / "orders-1");
    mk(a.path() / "my-topic-10");
    mk(a.path() / "gone-0.8a7c3e9f-delete");
    mk(a.path() / "moving-1.8a7c3e9f-future");
    mk(a.path() / "not_a_partition");
    { std::ofstream(a.path() / "meta.properties") << "x"; }
    { std::ofstream(a.path() / "file-3") << "x"; }  // a file, not a dir
    mk(b.path() / "orders-2");
    mk(b.path() / "lost+found");

    auto chosen = choose_log_dir({a.path(), b.path()});
    ASSERT_TRUE(chosen);
    EXPECT_EQ(*chosen, b.path());
    chosen = choose_log_dir({a.path(), b.path() / "missing", b.path()});
    ASSERT_TRUE(chosen);
    EXPECT_EQ(*chosen, b.path());
    EXPECT_FALSE(choose_log_dir({}));
    EXPECT_FALSE(choose_log_dir({b.path() / "missing"}));

    protocol::uuid id{};
    id[0] = 7;
    ASSERT_FALSE(write_partition_metadata(a.path() / "my-topic-10", id));
    auto found = scan_log_dirs({a.path(), b.path() / "missing", b.path()});
    ASSERT_EQ(found.size(), 4u);
    EXPECT_EQ(found[0].topic, "my-topic");
    EXPECT_EQ(found[0].partition, 10);
    EXPECT_EQ(found[0].path, a.path() / "my-topic-10");
    EXPECT_EQ(found[0].topic_id, id);
    EXPECT_EQ(found[1].topic, "orders");
    EXPECT_EQ(found[1].partition, 0);
    EXPECT_EQ(found[1].topic_id, std::nullopt);
    EXPECT_EQ(found[2].partition, 1);
    EXPECT_EQ(found[3].path, b.path() / "orders-2");
}

}  // namespace
}  // namespace runnel::storage

namespace runnel::storage {
namespace {

// Zero-copy reads return the same batches as copied reads, as ranges of the segment files, for
// every start offset and budget: the index jump in segment::read must find the same end.
TEST_F(PartitionLogTest, ZeroCopyReadsMatchCopiedReads) {
    config_.segment_bytes = 3000;
    config_.index_interval_bytes = 100;
    open_log();
    std::mt19937 rng(7);
    for (int i = 0; i < 60; ++i) {
        append(static_cast<int32_t>(rng() % 4 + 1), 1000 + i, rng() % 150);
    }
    ASSERT_GT(log_->segment_count(), 2u);
    for (int64_t offset = 0; offset <= log_->log_end_offset(); offset += 3) {
        for (size_t budget :
             {size_t{1}, size_t{90}, size_t{500}, size_t{2999}, size_t{7000}, size_t{1} << 20}) {
            for (bool min_one : {false, true}) {
                SCOPED_TRACE(::testing::Message() << "offset " << offset << " budget " << budget
                                                  << " min_one " << min_one);
                auto copied = log_->read(offset, budget, min_one, read_mode::copy);
                auto ranged = log_->read(offset, budget, min_one, read_mode::zero_copy);
                ASSERT_TRUE(copied && ranged);
                EXPECT_EQ(ranged->bytes, nullptr);
                std::vector<uint8_t> joined;
                for (const auto& fr : ranged->ranges) {
                    ASSERT_GT(fr.length, 0u);
                    std::vector<uint8_t> part(fr.length);
                    auto got = fr.log->read_at(part.data(), part.size(), fr.position);
                    ASSERT_TRUE(got && *got == fr.length);
                    joined.insert(joined.end(), part.begin(), part.end());
                }
                EXPECT_EQ(joined, *copied->bytes);
                EXPECT_EQ(ranged->size, copied->bytes->size());
                EXPECT_EQ(copied->size, copied->bytes->size());
                EXPECT_EQ(ranged->first_offset, copied->first_offset);
                EXPECT_EQ(ranged->next_offset, copied->next_offset);
                EXPECT_EQ(ranged->first_batch_size, copied->first_batch_size);
                if (!joined.empty()) {
                    EXPECT_EQ(static_cast<size_t>(ranged->first_batch_size),
                              split_batches(joined)[0].size);
                }
            }
        }
    }
}

// A range handed out keeps its file readable after the segment is deleted by retention.
TEST_F(PartitionLogTest, FileRangesOutliveDeletedSegments) {
    config_.segment_bytes = 500;
    open_log();
    for (int i = 0; i < 20; ++i) append(1, 1000 + i, 100);
    auto r = log_->read(0, 400, true, read_mode::zero_copy);
    ASSERT_TRUE(r && !r->ranges.empty());
    auto first = log_->segment_base_offsets().front();
    ASSERT_TRUE(log_->delete_records_before(log_->log_end_offset()));
    EXPECT_NE(log_->segment_base_offsets().front(), first);
    std::vector<uint8_t> buf(r->ranges[0].length);
    auto got = r->ranges[0].log->read_at(buf.data(), buf.size(), r->ranges[0].position);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, buf.size());
    EXPECT_EQ(bl::load_i64(buf.data()), 0);  // the first batch, intact
}

}  // namespace
}  // namespace runnel::storage
