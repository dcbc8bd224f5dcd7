#include "streams/state/rocksdb_store.h"
#include "streams/spec/pipeline_yaml.h"
#include "streams/windows/windowed_aggregation.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace runnel::streams {
namespace {

namespace fs = std::filesystem;

class RocksdbStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("runnel-state-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::unique_ptr<rocksdb_store> open(int64_t& offset) {
        std::string error;
        std::optional<int64_t> checkpoint;
        auto s = rocksdb_store::open(dir_, memory_, checkpoint, error);
        offset = checkpoint.value_or(-1);
        EXPECT_TRUE(s) << error;
        // As a task does once it has replayed the changelog (here: nothing).
        if (s) {
            EXPECT_TRUE(s->finish_replay(error)) << error;
        }
        return s;
    }

    fs::path dir_;
    state_memory memory_{8 << 20};
};

TEST_F(RocksdbStoreTest, KeysInOrderAndScansWithinBounds) {
    int64_t offset = -1;
    auto s = open(offset);
    EXPECT_EQ(offset, -1);  // nothing to trust: replay the changelog from its start
    for (auto k : {"b2", "a1", "b1", "c"}) s->put(k, std::string("v") + k);
    s->erase("b2");
    EXPECT_EQ(s->get("a1"), "va1");
    EXPECT_EQ(s->get("b2"), std::nullopt);
    std::vector<std::string> seen;
    s->scan("b", "c", [&](std::string_view k, std::string_view v) {
        seen.emplace_back(k);
        return true;
    });
    EXPECT_EQ(seen, std::vector<std::string>{"b1"});
    seen.clear();
    s->scan("a", "", [&](std::string_view k, std::string_view) {
        seen.emplace_back(k);
        return seen.size() < 2;
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"a1", "b1"}));
}

TEST_F(RocksdbStoreTest, AStoreClosedCleanlyIsKeptWithItsChangelogOffset) {
    int64_t offset = -1;
    {
        auto s = open(offset);
        s->put("k", "v");
        std::string error;
        ASSERT_TRUE(s->close(42, error)) << error;
    }
    auto again = open(offset);
    EXPECT_EQ(offset, 42);
    EXPECT_EQ(again->get("k"), "v");
    {
        std::string error;
        ASSERT_TRUE(again->close(0, error)) << error;  // an empty changelog is a checkpoint too
    }
    again.reset();
    open(offset);
    EXPECT_EQ(offset, 0);
}

TEST_F(RocksdbStoreTest, AStoreNotClosedCleanlyIsEmptiedForARebuild) {
    int64_t offset = -1;
    {
        auto s = open(offset);
        s->put("k", "v");
        std::string error;
        ASSERT_TRUE(s->close(42, error)) << error;
    }
    {
        auto s = open(offset);  // opened: the checkpoint is used up...
        s->put("uncommitted", "x");
    }  // ...and not written again (a crash)
    auto again = open(offset);
    EXPECT_EQ(offset, -1);
    EXPECT_EQ(again->get("k"), std::nullopt);
    EXPECT_EQ(again->get("uncommitted"), std::nullopt);
}

TEST_F(RocksdbStoreTest, ARebuildReplaysInBulkThenServesLookupsAndScans) {
    std::string error;
    std::optional<int64_t> checkpoint;
    auto s = rocksdb_store::open(dir_, memory_, checkpoint, error);
    ASSERT_TRUE(s) << error;
    ASSERT_FALSE(checkpoint);  // empty: filled in bulk
    // Enough for several memtable flushes (1 MiB each at this budget), with keys written
    // again and deleted in later batches, as a changelog holds them before compaction.
    const std::string filler(100, 'x');
    std::vector<std::string> keys, values;
    for (int i = 0; i < 30'000; ++i) {
        // (Appended, not "k" + ...: g++ 12 warns wrongly about that concatenation, -Wrestrict.)
        keys.emplace_back("k").append(std::to_string(i * 7919 % 30'000));
        values.push_back(std::to_string(i).append(filler));
    }
    for (size_t from = 0; from < keys.size(); from += 1000) {
        std::vector<rocksdb_store::replayed> batch;
        for (size_t i = from; i < from + 1000; ++i) batch.push_back({keys[i], values[i]});
        s->replay(batch);
    }
    std::vector<rocksdb_store::replayed> later;
    for (int i = 0; i < 30'000; i += 3) later.push_back({keys[i], std::nullopt});
    later.push_back({keys[1], std::string_view("again")});
    s->replay(later);
    ASSERT_TRUE(s->finish_replay(error)) << error;

    EXPECT_EQ(s->get(keys[1]), "again");
    EXPECT_EQ(s->get(keys[2]), values[2]);
    EXPECT_EQ(s->get(keys[3]), std::nullopt);
    size_t seen = 0;
    std::string previous;
    s->scan("", "", [&](std::string_view k, std::string_view) {
        EXPECT_LT(previous, k);
        previous = k;
        ++seen;
        return true;
    });
    EXPECT_EQ(seen, 20'000u);
    s->put("new", "v");  // and takes writes as usual
    EXPECT_EQ(s->get("new"), "v");
    ASSERT_TRUE(s->close(7, error)) << error;
    s.reset();
    int64_t offset = -1;
    auto again = open(offset);
    EXPECT_EQ(offset, 7);
    EXPECT_EQ(again->get(keys[2]), values[2]);
}

TEST_F(RocksdbStoreTest, WindowsCountTheSameOnDisk) {
    auto r = load_pipeline(
        "pipeline: p\nsource: {topic: t}\nsteps:\n"
        "  - window: {type: hopping, size: 20ms, advance: 10ms, grace: 0ms}\n"
        "  - count: {by: value}\nsink: {topic: o}\n",
        "p.yaml");
    ASSERT_TRUE(r.spec) << r.error;
    const auto& spec = std::get<aggregate_step>(r.spec->steps[0]);
    int64_t offset = 0;
    auto disk = open(offset);
    memory_store memory;
    auto a = make_windowed_aggregation(spec, *disk);
    auto b = make_windowed_aggregation(spec, memory);
    std::vector<window_result> none, on_disk, in_memory;
    for (int64_t t : {1, 5, 12, 19, 25, 33, 34, 60}) {
        stream_record rec{nullptr, t % 2 ? "odd" : "even", t, {}};
        a->add(rec, t - 5, false, none);
        b->add(rec, t - 5, false, none);
        a->close_until(t - 5, true, on_disk);
        b->close_until(t - 5, true, in_memory);
    }
    ASSERT_FALSE(in_memory.empty());
    ASSERT_EQ(on_disk.size(), in_memory.size());
    for (size_t i = 0; i < on_disk.size(); ++i) {
        EXPECT_EQ(on_disk[i].record.value, in_memory[i].record.value);
    }
}

}  // namespace
}  // namespace runnel::streams
