#include "server/controller/leader_election.h"

#include <gtest/gtest.h>

namespace runnel::server {
namespace {

TEST(LeaderElectionTest, ANewPartitionIsLedByItsFirstLiveReplica) {
    auto s = initial_partition_state({3, 1, 2}, {1, 2, 3}, 7);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->leader, 3);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{3, 1, 2}));  // assignment order, not id order
    EXPECT_EQ(s->leader_epoch, 0);
    EXPECT_EQ(s->controller_epoch, 7);
    EXPECT_FALSE(s->recovering);

    // Replicas that are down are left out of the ISR; the first live one leads.
    s = initial_partition_state({3, 1, 2}, {1, 2}, 7);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->leader, 1);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{1, 2}));

    // No live replica: no state yet.
    EXPECT_FALSE(initial_partition_state({3, 4}, {1, 2}, 7));
    EXPECT_FALSE(initial_partition_state({}, {1}, 7));
}

}  // namespace
}  // namespace runnel::server
