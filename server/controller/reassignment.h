// The rules of a partition reassignment (KIP-455), as Kafka's controller applies them: while a
// partition moves, its assignment lists the target replicas first and then the original ones
// being removed, with `adding_replicas` and `removing_replicas` beside it in the topic's znode;
// once every target replica is in the ISR, the partition is cut to the target (the leader moves
// into it if it must, in a new leader epoch) and the others are dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "server/zookeeper/kafka_znodes.h"

namespace runnel::server {

struct partition_move {
    std::vector<int32_t> replicas;  // target, then the original replicas not in it
    std::vector<int32_t> adding;    // target − original
    std::vector<int32_t> removing;  // original − target
};

// `a` without the members of `b`, in `a`'s order.
std::vector<int32_t> without(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// The move from `original` to `target` (no adding or removing when they hold the same brokers).
partition_move start_move(const std::vector<int32_t>& original, const std::vector<int32_t>& target);

// The partition's state once its replicas are cut to `keep`: the ISR without the others, the
// leader kept if it is in `keep` and electable, else the first electable replica of `keep` in the
// ISR; always a new leader epoch (the replica set changed). nullopt when no replica of `keep` is
// electable and in the ISR.
std::optional<zookeeper::partition_state> cut_to(const std::vector<int32_t>& keep,
                                                 const zookeeper::partition_state& current,
                                                 const std::set<int32_t>& electable,
                                                 int32_t controller_epoch);

// Whether every replica of `target` is in the ISR of `current` (the move can finish).
bool caught_up(const std::vector<int32_t>& target, const zookeeper::partition_state& current);

}  // namespace runnel::server
