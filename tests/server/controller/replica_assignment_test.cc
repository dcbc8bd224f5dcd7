#include "server/controller/replica_assignment.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace runnel::server {
namespace {

using assignment = std::vector<std::vector<int32_t>>;

TEST(ReplicaAssignmentTest, KafkasSpreadForFiveBrokers) {
    // The example in Kafka's AdminUtils: 5 brokers, 10 partitions, 3 replicas, start index 0
    // and shift 0.
    auto a = assign_replicas({0, 1, 2, 3, 4}, 10, 3, 0, 0);
    EXPECT_EQ(a, (assignment{{0, 1, 2},
                             {1, 2, 3},
                             {2, 3, 4},
                             {3, 4, 0},
                             {4, 0, 1},
                             {0, 2, 3},
                             {1, 3, 4},
                             {2, 4, 0},
                             {3, 0, 1},
                             {4, 1, 2}}));
}

TEST(ReplicaAssignmentTest, EveryPartitionHasDistinctReplicasAndLeadersAreEven) {
    const std::vector<int32_t> brokers{1, 2, 3};
    for (uint32_t start = 0; start < 3; ++start) {
        for (uint32_t shift = 0; shift < 3; ++shift) {
            auto a = assign_replicas(brokers, 12, 2, start, shift);
            ASSERT_EQ(a.size(), 12u);
            std::map<int32_t, int> leaders;
            for (const auto& r : a) {
                ASSERT_EQ(r.size(), 2u);
                EXPECT_NE(r[0], r[1]);
                ++leaders[r[0]];
            }
            for (int32_t b : brokers) EXPECT_EQ(leaders[b], 4);
        }
    }
    // One broker, replication factor 1.
    EXPECT_EQ(assign_replicas({7}, 3, 1, 5, 9), (assignment{{7}, {7}, {7}}));
    // Replication factor = broker count: every broker in every partition.
    for (const auto& r : assign_replicas({1, 2}, 4, 2, 1, 0)) {
        EXPECT_EQ(std::set<int32_t>(r.begin(), r.end()), (std::set<int32_t>{1, 2}));
    }
}

TEST(ReplicaAssignmentTest, AddedPartitionsContinueTheLeadersRoundRobin) {
    // Kafka's addPartitions: partitions 6..9 of a topic whose partition 0 is led by broker 0
    // (start and shift 0): leaders go on round the brokers, the followers' shift starts afresh.
    auto added = assign_replicas({0, 1, 2, 3, 4}, 4, 3, 0, 0, 6);
    EXPECT_EQ(added, (assignment{{1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1}}));
}

}  // namespace
}  // namespace runnel::server

namespace runnel::server {
namespace {

// Six brokers on three racks, as in Kafka's rack-aware assignment tests.
const std::map<int32_t, std::string> six_on_three_racks{{0, "rack1"}, {1, "rack3"}, {2, "rack3"},
                                                        {3, "rack2"}, {4, "rack2"}, {5, "rack1"}};

TEST(RackAwareAssignmentTest, BrokersAlternateBetweenRacks) {
    EXPECT_EQ(rack_alternated_brokers(six_on_three_racks),
              (std::vector<int32_t>{0, 3, 1, 5, 4, 2}));
}

TEST(RackAwareAssignmentTest, KafkasSpreadForSixBrokersOnThreeRacks) {
    auto a = assign_replicas_rack_aware(six_on_three_racks, 7, 3, 0, 0);
    EXPECT_EQ(a, (std::vector<std::vector<int32_t>>{
                     {0, 3, 1}, {3, 1, 5}, {1, 5, 4}, {5, 4, 2}, {4, 2, 0}, {2, 0, 3}, {0, 4, 2}}));
}

TEST(RackAwareAssignmentTest, EveryPartitionSpansAsManyRacksAsItCan) {
    for (uint32_t start = 0; start < 6; ++start) {
        for (uint32_t shift = 0; shift < 6; ++shift) {
            for (const auto& r :
                 assign_replicas_rack_aware(six_on_three_racks, 12, 3, start, shift)) {
                std::set<std::string> racks;
                for (int32_t b : r) racks.insert(six_on_three_racks.at(b));
                EXPECT_EQ(racks.size(), 3u);
                EXPECT_EQ(std::set<int32_t>(r.begin(), r.end()).size(), 3u);
            }
            // More replicas than racks: every rack, then distinct brokers.
            for (const auto& r :
                 assign_replicas_rack_aware(six_on_three_racks, 6, 4, start, shift)) {
                EXPECT_EQ(std::set<int32_t>(r.begin(), r.end()).size(), 4u);
            }
        }
    }
}

}  // namespace
}  // namespace runnel::server
