// producer_ids: ids are unique, reserved in durable blocks, and never reused after a restart.
#include "server/cluster/producer_ids.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "../../storage/test_batches.h"

namespace runnel::server {
namespace {

TEST(ProducerIds, NeverReusedAcrossRestarts) {
    storage::test::temp_dir dir;
    const auto file = dir.path() / "runnel-producer-ids";
    std::set<int64_t> seen;
    int64_t id = -1;
    {
        producer_ids ids(file);
        ids.load();  // no file yet: a new cluster
        for (int i = 0; i < 1500; ++i) {
            ASSERT_FALSE(ids.next(id));
            EXPECT_TRUE(seen.insert(id).second);
        }
    }
    // Crash or restart: the next start begins past the last reserved block.
    producer_ids again(file);
    again.load();
    ASSERT_FALSE(again.next(id));
    EXPECT_GE(id, 2 * producer_ids::block_size);
    EXPECT_TRUE(seen.insert(id).second);
}

TEST(ProducerIds, MalformedFileStopsStartUp) {
    storage::test::temp_dir dir;
    const auto file = dir.path() / "runnel-producer-ids";
    std::ofstream(file) << "12x\n";
    producer_ids ids(file);
    EXPECT_THROW(ids.load(), std::runtime_error);
}

TEST(ProducerIds, UnwritableFileGivesAnErrorAndNoId) {
    storage::test::temp_dir dir;
    producer_ids ids(dir.path() / "missing-dir" / "runnel-producer-ids");
    ids.load();
    int64_t id = -1;
    EXPECT_TRUE(ids.next(id));
    EXPECT_EQ(id, -1);
}

}  // namespace
}  // namespace runnel::server
