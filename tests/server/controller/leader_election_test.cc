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

zookeeper::partition_state state(int32_t leader, int32_t epoch, std::vector<int32_t> isr) {
    zookeeper::partition_state s;
    s.leader = leader;
    s.leader_epoch = epoch;
    s.isr = std::move(isr);
    s.controller_epoch = 2;
    return s;
}

TEST(LeaderElectionTest, AGoneLeaderIsReplacedByTheFirstLiveReplicaOfItsIsr) {
    // Replica 3 is first in the assignment but not in the ISR: 2 leads (clean election).
    auto s = after_brokers_changed({1, 3, 2}, state(1, 4, {1, 2}), {2, 3}, false, 9);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->leader, 2);
    EXPECT_EQ(s->leader_epoch, 5);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{2}));
    EXPECT_EQ(s->controller_epoch, 9);
}

TEST(LeaderElectionTest, GoneFollowersLeaveTheIsrInANewEpoch) {
    auto s = after_brokers_changed({1, 2, 3}, state(1, 0, {1, 2, 3}), {1, 2}, false, 3);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->leader, 1);
    EXPECT_EQ(s->leader_epoch, 1);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{1, 2}));
    // Nothing gone: nothing to write.
    EXPECT_FALSE(after_brokers_changed({1, 2, 3}, state(1, 0, {1, 2}), {1, 2}, false, 3));
    EXPECT_FALSE(after_brokers_changed({1, 2, 3}, state(1, 0, {1, 2}), {1, 2, 3}, false, 3));
}

TEST(LeaderElectionTest, WithoutALiveIsrReplicaThePartitionWaitsUnlessUncleanIsAllowed) {
    auto s = after_brokers_changed({1, 2}, state(1, 3, {1}), {2}, false, 3);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->leader, -1);
    EXPECT_EQ(s->leader_epoch, 4);
    EXPECT_EQ(s->isr, (std::vector<int32_t>{1}));  // kept: 1 leads again when it is back
    EXPECT_FALSE(after_brokers_changed({1, 2}, *s, {2}, false, 3));
    auto back = after_brokers_changed({1, 2}, *s, {1, 2}, false, 3);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->leader, 1);
    EXPECT_EQ(back->leader_epoch, 5);
    EXPECT_EQ(back->isr, (std::vector<int32_t>{1}));

    auto unclean = after_brokers_changed({1, 2}, state(1, 3, {1}), {2}, true, 3);
    ASSERT_TRUE(unclean);
    EXPECT_EQ(unclean->leader, 2);
    EXPECT_EQ(unclean->isr, (std::vector<int32_t>{2}));
    EXPECT_EQ(unclean->leader_epoch, 4);
}

TEST(LeaderElectionTest, RequestedElectionsAnswerAsKafkaDoes) {
    using protocol::error_code;
    // Preferred: replica 1 alive and in the ISR takes over from 2.
    auto e = elect({1, 2, 3}, state(2, 3, {2, 3, 1}), {1, 2, 3}, false, 4);
    ASSERT_TRUE(e.next);
    EXPECT_EQ(e.next->leader, 1);
    EXPECT_EQ(e.next->leader_epoch, 4);
    EXPECT_EQ(e.next->isr, (std::vector<int32_t>{2, 3, 1}));
    EXPECT_EQ(elect({1, 2, 3}, state(1, 3, {1, 2}), {1, 2, 3}, false, 4).error,
              error_code::election_not_needed);
    EXPECT_EQ(elect({1, 2, 3}, state(2, 3, {2, 3}), {1, 2, 3}, false, 4).error,
              error_code::preferred_leader_not_available);
    EXPECT_EQ(elect({1, 2, 3}, state(2, 3, {2, 3, 1}), {2, 3}, false, 4).error,
              error_code::preferred_leader_not_available);
    // Unclean: only a partition whose leader is gone, from outside the ISR if need be.
    EXPECT_EQ(elect({1, 2}, state(1, 3, {1}), {1, 2}, true, 4).error,
              error_code::election_not_needed);
    auto u = elect({1, 2}, state(-1, 3, {1}), {2}, true, 4);
    ASSERT_TRUE(u.next);
    EXPECT_EQ(u.next->leader, 2);
    EXPECT_EQ(u.next->isr, (std::vector<int32_t>{2}));
    EXPECT_EQ(elect({1, 2}, state(-1, 3, {1}), {3}, true, 4).error,
              error_code::eligible_leaders_not_available);
}

}  // namespace
}  // namespace runnel::server
