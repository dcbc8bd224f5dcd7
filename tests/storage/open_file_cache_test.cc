#include "storage/open_file_cache.h"
#include "storage/partition_log.h"

#include "test_batches.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::make_batch;
using test::temp_dir;

size_t open_descriptors() {
    size_t n = 0;
    for (auto it = fs::directory_iterator("/proc/self/fd"); it != fs::directory_iterator(); ++it)
        ++n;
    return n;
}

// Sets this thread's budget for one test and puts the old one back.
class budget {
  public:
    explicit budget(size_t files) : old_(open_file_cache::local().capacity()) {
        open_file_cache::local().set_capacity(files);
    }
    ~budget() { open_file_cache::local().set_capacity(old_); }

  private:
    size_t old_;
};

TEST(OpenFileCacheTest, KeepsAtMostItsBudgetOpenAndReopensOnDemand) {
    temp_dir dir;
    budget b(2);
    auto& cache = open_file_cache::local();
    const size_t before = open_descriptors();
    std::vector<cached_file> files;
    for (int i = 0; i < 5; ++i) {
        auto f =
            cached_file::open(dir.path() / std::to_string(i), O_RDWR | O_CREAT | O_EXCL, O_RDWR);
        ASSERT_TRUE(f) << f.error().message();
        files.push_back(std::move(*f));
        EXPECT_LE(cache.open_count(), 2u);
    }
    EXPECT_LE(open_descriptors(), before + 2);
    // Writes through descriptors that get closed in between all land.
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 5; ++i) {
            auto f = files[static_cast<size_t>(i)].get();
            ASSERT_TRUE(f) << f.error().message();
            uint8_t byte = static_cast<uint8_t>(10 * i + round);
            ASSERT_FALSE((*f)->write_at(&byte, 1, round));
        }
    }
    EXPECT_GT(cache.reopens(), 0u);
    EXPECT_LE(open_descriptors(), before + 2);
    for (int i = 0; i < 5; ++i) {
        auto f = files[static_cast<size_t>(i)].get();
        ASSERT_TRUE(f);
        uint8_t got[3] = {};
        auto n = (*f)->read_at(got, 3, 0);
        ASSERT_TRUE(n);
        ASSERT_EQ(*n, 3u);
        for (int round = 0; round < 3; ++round) EXPECT_EQ(got[round], 10 * i + round);
    }
}

TEST(OpenFileCacheTest, LeastRecentlyUsedIsClosedFirst) {
    temp_dir dir;
    budget b(2);
    auto& cache = open_file_cache::local();
    auto a = cached_file::open(dir.path() / "a", O_RDWR | O_CREAT, O_RDWR);
    auto c = cached_file::open(dir.path() / "c", O_RDWR | O_CREAT, O_RDWR);
    ASSERT_TRUE(a && c);
    ASSERT_TRUE(a->get());  // a is now the most recently used
    const auto reopens = cache.reopens();
    auto d = cached_file::open(dir.path() / "d", O_RDWR | O_CREAT, O_RDWR);  // closes c
    ASSERT_TRUE(d);
    ASSERT_TRUE(a->get());
    EXPECT_EQ(cache.reopens(), reopens);
    ASSERT_TRUE(c->get());
    EXPECT_EQ(cache.reopens(), reopens + 1);
}

TEST(OpenFileCacheTest, HolderKeepsItsDescriptorThroughEviction) {
    temp_dir dir;
    budget b(1);
    auto a = cached_file::open(dir.path() / "a", O_RDWR | O_CREAT, O_RDWR);
    ASSERT_TRUE(a);
    auto held = a->get();
    ASSERT_TRUE(held);
    const uint8_t data[4] = {1, 2, 3, 4};
    ASSERT_FALSE((*held)->write_at(data, 4, 0));
    auto other = cached_file::open(dir.path() / "b", O_RDWR | O_CREAT, O_RDWR);  // evicts a
    ASSERT_TRUE(other);
    EXPECT_EQ(open_file_cache::local().open_count(), 1u);
    ASSERT_GE(fcntl((*held)->fd(), F_GETFD), 0);
    uint8_t got[4] = {};
    auto n = (*held)->read_at(got, 4, 0);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 4u);
    EXPECT_EQ(got[3], 4);
}

TEST(OpenFileCacheTest, ClosedFileCannotBeReopened) {
    temp_dir dir;
    auto a = cached_file::open(dir.path() / "a", O_RDWR | O_CREAT, O_RDWR);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_open());
    EXPECT_FALSE(a->close());
    EXPECT_FALSE(a->is_open());
    auto f = a->get();
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error(), make_error_code(errc::log_closed));
    EXPECT_FALSE(a->close());  // twice is fine
}

TEST(OpenFileCacheTest, FileOutlivesTheThreadThatOpenedIt) {
    // At shutdown partitions are destroyed after their shard threads have ended.
    temp_dir dir;
    std::optional<cached_file> kept;
    std::thread([&] {
        auto f = cached_file::open(dir.path() / "a", O_RDWR | O_CREAT, O_RDWR);
        ASSERT_TRUE(f);
        kept = std::move(*f);
    }).join();
    ASSERT_TRUE(kept->get());
    EXPECT_FALSE(kept->close());
}

TEST(OpenFileCacheTest, ManyPartitionLogsWithinAFewDescriptors) {
    temp_dir dir;
    budget b(8);
    const size_t before = open_descriptors();
    log_config config;
    config.segment_bytes = 4096;  // several segments per log
    std::vector<std::unique_ptr<partition_log>> logs;
    std::vector<std::vector<std::vector<uint8_t>>> written(40);
    for (int p = 0; p < 40; ++p) {
        auto l = partition_log::open(dir.path() / ("t-" + std::to_string(p)), config);
        ASSERT_TRUE(l) << l.error().message();
        logs.push_back(std::move(*l));
    }
    for (int round = 0; round < 12; ++round) {
        for (size_t p = 0; p < logs.size(); ++p) {
            auto batch = make_batch(3, 1'700'000'000'000 + round, 400);
            auto info = logs[p]->append(batch, std::nullopt);
            ASSERT_TRUE(info) << info.error().message();
            written[p].push_back(batch);
        }
    }
    EXPECT_LE(open_descriptors(), before + 8);
    for (size_t p = 0; p < logs.size(); ++p) {
        EXPECT_GT(logs[p]->segment_count(), 1u);
        auto r = logs[p]->read(0, 1 << 20, true);
        ASSERT_TRUE(r) << r.error().message();
        std::vector<uint8_t> expected;
        for (const auto& b : written[p]) expected.insert(expected.end(), b.begin(), b.end());
        EXPECT_EQ(*r->bytes, expected) << "partition " << p;
    }
    // Zero-copy reads hand out the files themselves.
    auto zc = logs[0]->read(0, 1 << 20, true, read_mode::zero_copy);
    ASSERT_TRUE(zc) << zc.error().message();
    EXPECT_FALSE(zc->ranges.empty());
    for (auto& l : logs) EXPECT_FALSE(l->close());
    EXPECT_LE(open_descriptors(), before + zc->ranges.size());
}

}  // namespace
}  // namespace runnel::storage
