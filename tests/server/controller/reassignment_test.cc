#include "server/controller/reassignment.h"

#include <gtest/gtest.h>

namespace runnel::server {
namespace {

using zookeeper::partition_state;

partition_state state(int32_t leader, int32_t epoch, std::vector<int32_t> isr) {
    partition_state s;
    s.leader = leader;
    s.leader_epoch = epoch;
    s.isr = std::move(isr);
    s.controller_epoch = 1;
    return s;
}

TEST(ReassignmentTest, AMoveListsTheTargetFirstThenWhatGoes) {
    // Kafka's example: [1,2,3] to [4,5,6].
    auto m = start_move({1, 2, 3}, {4, 5, 6});
    EXPECT_EQ(m.replicas, (std::vector<int32_t>{4, 5, 6, 1, 2, 3}));
    EXPECT_EQ(m.adding, (std::vector<int32_t>{4, 5, 6}));
    EXPECT_EQ(m.removing, (std::vector<int32_t>{1, 2, 3}));
    // Overlapping: only the differences move.
    m = start_move({1, 2}, {2, 3});
    EXPECT_EQ(m.replicas, (std::vector<int32_t>{2, 3, 1}));
    EXPECT_EQ(m.adding, (std::vector<int32_t>{3}));
    EXPECT_EQ(m.removing, (std::vector<int32_t>{1}));
    // A new order of the same brokers moves nothing.
    m = start_move({1, 2}, {2, 1});
    EXPECT_EQ(m.replicas, (std::vector<int32_t>{2, 1}));
    EXPECT_TRUE(m.adding.empty());
    EXPECT_TRUE(m.removing.empty());
}

TEST(ReassignmentTest, FinishesOnlyOnceEveryTargetReplicaIsInSync) {
    EXPECT_FALSE(caught_up({2, 3}, state(1, 0, {1, 2})));
    EXPECT_TRUE(caught_up({2, 3}, state(1, 0, {1, 2, 3})));
}

TEST(ReassignmentTest, CuttingMovesTheLeaderIntoTheTargetInANewEpoch) {
    // The leader leaves: the first electable target replica in the ISR leads.
    auto next = cut_to({2, 3}, state(1, 4, {1, 2, 3}), {1, 2, 3}, 7);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->leader, 2);
    EXPECT_EQ(next->leader_epoch, 5);
    EXPECT_EQ(next->isr, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(next->controller_epoch, 7);
    // The leader stays: still a new epoch, ISR cut.
    next = cut_to({1, 3}, state(1, 4, {1, 2, 3}), {1, 2, 3}, 7);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->leader, 1);
    EXPECT_EQ(next->leader_epoch, 5);
    EXPECT_EQ(next->isr, (std::vector<int32_t>{1, 3}));
    // Broker 2 shutting down (not electable): 3 leads.
    next = cut_to({2, 3}, state(1, 4, {1, 2, 3}), {1, 3}, 7);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->leader, 3);
    // No target replica in the ISR can lead.
    EXPECT_FALSE(cut_to({4}, state(1, 4, {1, 2}), {1, 2, 4}, 7));
}

}  // namespace
}  // namespace runnel::server
