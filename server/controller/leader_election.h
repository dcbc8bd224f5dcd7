// How the controller chooses leaders, as Kafka's PartitionLeaderElectionAlgorithms do. Pure:
// given a partition's replicas, what is alive and its state, it answers; the controller writes
// the answer to ZooKeeper.
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "server/zookeeper/kafka_znodes.h"

namespace runnel::server {

// A new partition: its live replicas, in assignment order, form the ISR and the first of them
// leads, in leader epoch 0. Nullopt while none is alive (it waits for one to come).
std::optional<zookeeper::partition_state> initial_partition_state(
    const std::vector<int32_t>& replicas, const std::set<int32_t>& live, int32_t controller_epoch);

}  // namespace runnel::server
