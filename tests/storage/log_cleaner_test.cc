// partition_log::clean: log compaction (see storage/log_cleaner.h).
#include "partition_log_fixture.h"

#include "protocol/record_batch.h"
#include "storage/checkpoint_file.h"
#include "storage/log_cleaner.h"

#include <fmt/format.h>

#include <map>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
namespace bl = protocol::batch_layout;
using kv = std::pair<std::string, std::optional<std::string>>;

struct rec {
    int64_t offset;
    std::string key;
    std::optional<std::string> value;
    int64_t timestamp;
    bool operator==(const rec& o) const {
        return offset == o.offset && key == o.key && value == o.value;
    }
};

std::ostream& operator<<(std::ostream& os, const rec& r) {
    return os << r.offset << ":" << r.key << "=" << (r.value ? *r.value : "<null>");
}

// Every batch in `bytes` (header view).
std::vector<protocol::batch_header> headers_of(const std::vector<uint8_t>& bytes) {
    std::vector<protocol::batch_header> out;
    for (size_t pos = 0; pos + bl::header_size <= bytes.size();) {
        auto h = protocol::parse_batch_header(std::span(bytes).subspan(pos));
        out.push_back(*h);
        pos += static_cast<size_t>(h->total_size());
    }
    return out;
}

std::vector<rec> records_of(const std::vector<uint8_t>& bytes) {
    std::vector<rec> out;
    std::vector<uint8_t> scratch;
    for (size_t pos = 0; pos + bl::header_size <= bytes.size();) {
        auto h = protocol::parse_batch_header(std::span(bytes).subspan(pos));
        auto size = static_cast<size_t>(h->total_size());
        bool ok = protocol::for_each_record(
            std::span(bytes).subspan(pos, size),
            [&](const protocol::record& r) {
                rec x{r.offset, "", std::nullopt, r.timestamp};
                if (r.key) x.key.assign(r.key->begin(), r.key->end());
                if (r.value) x.value = std::string(r.value->begin(), r.value->end());
                out.push_back(x);
                return true;
            },
            &scratch);
        EXPECT_TRUE(ok);
        pos += size;
    }
    return out;
}

class LogCleanerTest : public test::PartitionLogFixture {
  protected:
    void SetUp() override {
        config_.segment_ms = 100;  // roll() makes the next append start a new segment
        open_log();
        opts_.min_cleanable_dirty_ratio = 0;
        opts_.delete_retention_ms = 1000;
    }
    // Appends one batch with the given records (timestamps = ts, or now_); returns its base offset.
    int64_t put(const std::vector<kv>& kvs, protocol::batch_options o = {}, int64_t ts = -1) {
        std::vector<protocol::record_input> recs;
        for (const auto& [k, v] : kvs) {
            protocol::record_input r;
            r.key = k;
            r.value = v;
            r.timestamp = ts >= 0 ? ts : now_;
            recs.push_back(r);
        }
        auto b = protocol::build_batch(o, recs);
        auto info = log_->append(b, std::nullopt);
        EXPECT_TRUE(info) << info.error().message();
        return info ? info->base_offset : -1;
    }
    void roll() { now_ += 1000; }
    // Runs clean() until the pass ends; returns whether a pass ran.
    bool clean_all(int64_t at = -1) {
        bool started = false;
        for (int i = 0; i < 1000; ++i) {
            auto r = log_->clean(opts_, at >= 0 ? at : now_);
            EXPECT_TRUE(r) << r.error().message();
            if (!r) return started;
            started |= r->started_pass;
            if (r->pass_done) return started;
        }
        ADD_FAILURE() << "pass never ended";
        return started;
    }
    std::vector<rec> all() { return records_of(read_all()); }

    cleaning_options opts_;
};

TEST_F(LogCleanerTest, LatestValuePerKeySurvivesWithOriginalOffsets) {
    put({{"k1", "a0"}, {"k2", "b0"}});
    roll();
    put({{"k1", "a1"}, {"k3", "c0"}});
    roll();
    put({{"k1", "a2"}});
    roll();
    put({{"k2", "b9"}});  // active segment: not cleaned, not in the map
    ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 2, 4, 5}));
    const int64_t leo = log_->log_end_offset();
    EXPECT_GT(log_->dirty_ratio(opts_, now_), 0.99);

    ASSERT_TRUE(clean_all());
    EXPECT_EQ(all(),
              (std::vector<rec>{
                  {1, "k2", "b0", 0}, {3, "k3", "c0", 0}, {4, "k1", "a2", 0}, {5, "k2", "b9", 0}}));
    // The three closed segments became one; the active one is untouched.
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 5}));
    EXPECT_EQ(log_->log_end_offset(), leo);
    EXPECT_EQ(log_->cleaner_offset(), 5);
    EXPECT_EQ(log_->dirty_ratio(opts_, now_), 0.0);
    // Batches keep their base offsets and offset ranges.
    auto hs = headers_of(read_all());
    ASSERT_EQ(hs.size(), 4u);
    EXPECT_EQ(hs[0].base_offset, 0);
    EXPECT_EQ(hs[0].last_offset_delta, 1);
    EXPECT_EQ(hs[0].records_count, 1);
    EXPECT_EQ(hs[1].base_offset, 2);
    EXPECT_EQ(hs[1].last_offset(), 3);
    EXPECT_EQ(hs[2].base_offset, 4);

    // Survives a reopen (indexes rebuilt and consistent).
    close_log();
    open_log();
    EXPECT_EQ(all().size(), 4u);
    EXPECT_FALSE(fs::exists(path() / (segment_file_name(0, log_suffix) + ".swap")));
}

TEST_F(LogCleanerTest, ReadOfAnyOffsetReturnsTheNextRetainedRecord) {
    for (int i = 0; i < 20; ++i) {
        put({{fmt::format("k{}", i % 3), fmt::format("v{}", i)}, {"x", std::to_string(i)}});
        if (i % 4 == 3) roll();
    }
    roll();
    put({{"last", "1"}});
    ASSERT_TRUE(clean_all());
    auto kept = all();
    std::vector<int64_t> offsets;
    for (const auto& r : kept) offsets.push_back(r.offset);
    ASSERT_TRUE(std::is_sorted(offsets.begin(), offsets.end()));
    EXPECT_LT(kept.size(), 10u);
    for (int64_t o = 0; o < log_->log_end_offset(); ++o) {
        auto r = log_->read(o, 1 << 20, true);
        ASSERT_TRUE(r) << o;
        auto recs = records_of(*r->bytes);
        auto next = std::lower_bound(offsets.begin(), offsets.end(), o);
        ASSERT_NE(next, offsets.end());
        // The first record at or after `o` in what was read is the next retained one.
        auto it =
            std::find_if(recs.begin(), recs.end(), [&](const rec& x) { return x.offset >= o; });
        ASSERT_NE(it, recs.end()) << o;
        EXPECT_EQ(it->offset, *next) << o;
        EXPECT_LE(r->first_offset, *next);
    }
}

TEST_F(LogCleanerTest, TombstonesGoOnlyAfterDeleteRetention) {
    const int64_t t0 = now_;
    put({{"k1", "a"}, {"k2", "b"}}, {}, t0);
    roll();
    put({{"k1", std::nullopt}}, {}, t0);  // tombstone at offset 2
    roll();
    put({{"k3", "x"}});
    ASSERT_TRUE(clean_all());
    EXPECT_EQ(all(),
              (std::vector<rec>{{1, "k2", "b", 0}, {2, "k1", std::nullopt, 0}, {3, "k3", "x", 0}}));
    // The tombstone's batch got a delete horizon (KIP-534), its record timestamp unchanged.
    auto hs = headers_of(read_all());
    ASSERT_EQ(hs.size(), 3u);
    EXPECT_TRUE(hs[1].attributes & delete_horizon_bit);
    EXPECT_EQ(hs[1].base_timestamp, now_ + 1000);
    EXPECT_EQ(all()[1].timestamp, t0);
    EXPECT_FALSE(hs[0].attributes & delete_horizon_bit);

    // Before the horizon nothing is due; the tombstone stays.
    EXPECT_FALSE(clean_all(now_ + 500));
    EXPECT_EQ(all().size(), 3u);
    // After it, a pass runs although nothing is dirty, and the tombstone goes.
    EXPECT_TRUE(clean_all(now_ + 1001));
    EXPECT_EQ(all(), (std::vector<rec>{{1, "k2", "b", 0}, {3, "k3", "x", 0}}));
}

TEST_F(LogCleanerTest, RecordsYoungerThanMinCompactionLagAreUntouched) {
    put({{"k1", "old"}}, {}, now_ - 100000);
    roll();
    put({{"k1", "new"}}, {}, now_);
    roll();
    put({{"k2", "active"}});
    opts_.min_compaction_lag_ms = 10000;
    auto seg1 = fs::file_size(file(1, log_suffix));
    clean_all();
    // The segment holding "new" is within the lag: it is neither cleaned nor used for the map.
    EXPECT_EQ(all().size(), 3u);
    EXPECT_EQ(fs::file_size(file(1, log_suffix)), seg1);
    EXPECT_EQ(log_->cleaner_offset(), 1);
    opts_.min_compaction_lag_ms = 0;
    ASSERT_TRUE(clean_all());
    EXPECT_EQ(all(), (std::vector<rec>{{1, "k1", "new", 0}, {2, "k2", "active", 0}}));
}

TEST_F(LogCleanerTest, CompressedBatchesAreRecompressedWithTheirCodec) {
    for (auto codec : {protocol::compression_codec::gzip, protocol::compression_codec::zstd,
                       protocol::compression_codec::lz4, protocol::compression_codec::snappy}) {
        protocol::batch_options o;
        o.codec = codec;
        int64_t base = put({{"a", "1"}, {"b", "1"}, {"a", "2"}}, o);
        roll();
        put({{"c", "active"}});
        roll();
        ASSERT_TRUE(clean_all());
        auto bytes = log_->read(base, 1 << 20, true);
        ASSERT_TRUE(bytes);
        auto hs = headers_of(*bytes->bytes);
        ASSERT_FALSE(hs.empty());
        EXPECT_EQ(hs[0].base_offset, base);
        EXPECT_EQ(hs[0].codec(), codec);
        EXPECT_EQ(hs[0].records_count, 2);
        EXPECT_EQ(hs[0].last_offset_delta, 2);
        auto recs = records_of(*bytes->bytes);
        ASSERT_GE(recs.size(), 2u);
        EXPECT_EQ(recs[0], (rec{base + 1, "b", "1", 0}));
        EXPECT_EQ(recs[1], (rec{base + 2, "a", "2", 0}));
    }
}

TEST_F(LogCleanerTest, ProducerFieldsArePreservedAndEmptyIdempotentBatchesKept) {
    protocol::batch_options o;
    o.producer_id = 77;
    o.producer_epoch = 3;
    o.base_sequence = 0;                 // a new producer starts at 0
    log_->set_leader_epoch(5);           // stamped into the batches by append
    put({{"k1", "a"}, {"k1", "b"}}, o);  // offsets 0-1
    o.base_sequence = 2;
    put({{"k2", "x"}}, o);  // offset 2: superseded below, batch kept empty
    put({{"k3", "x"}});     // offset 3: no producer id, superseded: dropped
    roll();
    o.base_sequence = 3;
    put({{"k2", "y"}, {"k3", "y"}}, o);
    roll();
    put({{"z", "active"}});
    ASSERT_TRUE(clean_all());
    auto hs = headers_of(read_all());
    ASSERT_EQ(hs.size(), 4u);
    EXPECT_EQ(hs[0].base_offset, 0);
    EXPECT_EQ(hs[0].producer_id, 77);
    EXPECT_EQ(hs[0].producer_epoch, 3);
    EXPECT_EQ(hs[0].base_sequence, 0);
    EXPECT_EQ(hs[0].partition_leader_epoch, 5);
    EXPECT_EQ(hs[0].last_offset_delta, 1);
    EXPECT_EQ(hs[0].records_count, 1);
    EXPECT_EQ(hs[1].base_offset, 2);
    EXPECT_EQ(hs[1].producer_id, 77);
    EXPECT_EQ(hs[1].base_sequence, 2);
    EXPECT_EQ(hs[1].records_count, 0);
    EXPECT_EQ(hs[1].total_size(), static_cast<int64_t>(bl::header_size));
    EXPECT_EQ(hs[2].base_offset, 4);
    EXPECT_EQ(hs[2].base_sequence, 3);
    EXPECT_EQ(all(),
              (std::vector<rec>{
                  {1, "k1", "b", 0}, {4, "k2", "y", 0}, {5, "k3", "y", 0}, {6, "z", "active", 0}}));
    // The rewritten log passes recovery (CRCs, framing).
    close_log();
    open_log({.recovery_point = 0});
    EXPECT_EQ(all().size(), 4u);
}

TEST_F(LogCleanerTest, ActiveSegmentIsNeverTouched) {
    for (int i = 0; i < 10; ++i) put({{"k", std::to_string(i)}});
    ASSERT_EQ(log_->segment_count(), 1u);
    auto before = read_all();
    EXPECT_FALSE(clean_all());
    EXPECT_EQ(read_all(), before);
    EXPECT_EQ(log_->dirty_ratio(opts_, now_), 0.0);
}

TEST_F(LogCleanerTest, DirtyRatioDecides) {
    put({{"k", "1"}, {"k", "2"}});
    roll();
    put({{"j", "active"}});
    opts_.min_cleanable_dirty_ratio = 0.5;
    ASSERT_TRUE(clean_all());
    EXPECT_EQ(log_->cleaner_offset(), 2);
    roll();
    put({{"k", "3"}});  // the old active segment closes; a small dirty part
    roll();
    put({{"x", "y"}});
    double ratio = log_->dirty_ratio(opts_, now_);
    EXPECT_GT(ratio, 0.0);
    EXPECT_LT(ratio, 1.0);
    opts_.min_cleanable_dirty_ratio = ratio + 0.01;
    EXPECT_FALSE(clean_all());
    // max.compaction.lag.ms forces it.
    opts_.max_compaction_lag_ms = 10;
    EXPECT_TRUE(clean_all(now_ + 5000));
    EXPECT_EQ(all(), (std::vector<rec>{{2, "j", "active", 0}, {3, "k", "3", 0}, {4, "x", "y", 0}}));
}

TEST_F(LogCleanerTest, UnfinishedCleanedFileIsDeletedOnOpen) {
    put({{"k", "1"}});
    roll();
    put({{"k", "2"}});
    auto before = read_all();
    close_log();
    auto cleaned = path() / (segment_file_name(0, log_suffix) + ".cleaned");
    {
        std::ofstream f(cleaned, std::ios::binary);
        f << "partial garbage";
    }
    open_log();
    EXPECT_FALSE(fs::exists(cleaned));
    EXPECT_EQ(read_all(), before);
}

TEST_F(LogCleanerTest, InterruptedSwapIsFinishedOnOpen) {
    put({{"a", "1"}, {"b", "1"}});
    roll();
    put({{"a", "2"}});
    roll();
    put({{"b", "2"}});
    roll();
    put({{"c", "active"}});
    close_log();
    // Clean a copy of the log to get the .swap file a crash would have left.
    ASSERT_EQ(leave_swap_file(opts_), (std::vector<int64_t>{0, 4}));
    // Crash in the middle of deleting the old segments: 0 gone, 2 and 3 still there.
    fs::remove(file(0, log_suffix));
    fs::remove(file(0, index_suffix));
    open_log();
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 4}));
    EXPECT_EQ(all(), (std::vector<rec>{{2, "a", "2", 0}, {3, "b", "2", 0}, {4, "c", "active", 0}}));
    EXPECT_FALSE(fs::exists(path() / (segment_file_name(0, log_suffix) + ".swap")));
    EXPECT_FALSE(fs::exists(file(2, log_suffix)));
    EXPECT_FALSE(fs::exists(file(3, log_suffix)));
}

TEST_F(LogCleanerTest, CleanerOffsetCheckpointRoundTrip) {
    put({{"k", "1"}});
    roll();
    put({{"k", "2"}});
    roll();
    put({{"k", "3"}});
    ASSERT_TRUE(clean_all());
    EXPECT_EQ(log_->cleaner_offset(), 2);
    checkpoint_file cp(dir_.path() / std::string(cleaner_offset_checkpoint_file_name));
    ASSERT_FALSE(cp.write({{{"orders", 3}, log_->cleaner_offset()}}));
    close_log();
    auto read = cp.read();
    ASSERT_TRUE(read);
    ASSERT_EQ(read->size(), 1u);
    open_options o;
    o.cleaner_offset = read->begin()->second;
    open_log(o);
    EXPECT_EQ(log_->cleaner_offset(), 2);
    opts_.min_cleanable_dirty_ratio = 0.5;
    EXPECT_FALSE(clean_all());  // nothing dirty
}

}  // namespace
}  // namespace runnel::storage

namespace runnel::storage {
namespace {

TEST_F(LogCleanerTest, GroupsLargerThanTheWriteChunkAreCleaned) {
    const std::string big(200 * 1024, 'x');
    auto value = [&](int i) {
        std::string v = big;
        v.append(std::to_string(i));
        return v;
    };
    for (int i = 0; i < 12; ++i) {
        put({{fmt::format("k{}", i % 6), value(i)}});
        if (i % 3 == 2) roll();
    }
    put({{"active", "1"}});
    ASSERT_TRUE(clean_all());
    auto got = all();
    ASSERT_EQ(got.size(), 7u);
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(got[i].offset, 6 + i);
        EXPECT_EQ(got[i].value, value(6 + i));
    }
    close_log();
    open_log({.recovery_point = 0});
    EXPECT_EQ(all().size(), 7u);
}

}  // namespace
}  // namespace runnel::storage

namespace runnel::storage {
namespace {

// log.cleaner.dedupe.buffer.size: a map of 3 keys cannot hold the 4 keys of the dirty part, so
// the first pass stops where the map filled and the second pass goes on from there.
TEST_F(LogCleanerTest, KeyMapCapSplitsCleaningIntoPassesWithTheSameResult) {
    auto fill = [&] {
        put({{"k1", "a0"}, {"k2", "b0"}});  // offsets 0, 1
        roll();
        put({{"k1", "a1"}, {"k3", "c0"}});  // 2, 3
        roll();
        put({{"k2", "b1"}, {"k4", "d0"}});  // 4, 5: k4 does not fit the map of pass 1
        roll();
        put({{"k3", "c1"}, {"k1", "a2"}});  // 6, 7
        roll();
        put({{"k9", "z"}});  // 8, active
    };
    const std::vector<rec> want{{4, "k2", "b1", 0},
                                {5, "k4", "d0", 0},
                                {6, "k3", "c1", 0},
                                {7, "k1", "a2", 0},
                                {8, "k9", "z", 0}};

    // One pass with an uncapped map: the reference result.
    fill();
    ASSERT_TRUE(clean_all());
    ASSERT_EQ(all(), want);
    close_log();
    fs::remove_all(path());
    open_log();

    fill();
    opts_.key_map_bytes = 4 * key_offset_map::entry_bytes;  // 4 slots: 3 keys at load 0.9
    opts_.key_map_load_factor = 0.9;
    // Runs one pass to its end; returns whether its map filled.
    auto pass = [&] {
        bool full = false, started = false;
        for (int i = 0; i < 100; ++i) {
            auto r = log_->clean(opts_, now_);
            EXPECT_TRUE(r) << r.error().message();
            if (!r) break;
            started |= r->started_pass;
            full |= r->key_map_full;
            if (r->pass_done) break;
        }
        EXPECT_TRUE(started);
        return full;
    };

    EXPECT_TRUE(pass());
    // k1, k2, k3 were mapped (k1 and k2 up to offsets 2 and 4); the map filled at k4 (offset 5).
    EXPECT_EQ(log_->cleaner_offset(), 5);
    EXPECT_EQ(all(), (std::vector<rec>{{2, "k1", "a1", 0},
                                       {3, "k3", "c0", 0},
                                       {4, "k2", "b1", 0},
                                       {5, "k4", "d0", 0},
                                       {6, "k3", "c1", 0},
                                       {7, "k1", "a2", 0},
                                       {8, "k9", "z", 0}}));

    // The cleaner offset sits inside a segment now; it survives a restart through the checkpoint.
    close_log();
    open_log({.recovery_point = 0, .cleaner_offset = 5});
    EXPECT_EQ(log_->cleaner_offset(), 5);

    EXPECT_FALSE(pass());  // k4, k3, k1 fit
    EXPECT_EQ(log_->cleaner_offset(), 8);
    EXPECT_EQ(all(), want);
    EXPECT_FALSE(clean_all());  // nothing dirty is left
    EXPECT_EQ(all(), want);
}

}  // namespace
}  // namespace runnel::storage
