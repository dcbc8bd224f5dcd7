// A requested partition on its way to its owner shard, and where its answer goes in the caller's
// response (for run_on_owners, server/core/cross_shard.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/codec.h"
#include "protocol/errors.h"
#include "server/cluster/topic_registry.h"
#include "server/core/shard.h"

namespace runnel::server {

// One requested partition on its way to its owner shard. `slot` says where its answer goes:
// topic `slot_topic(slot)`, partition entry `slot_partition(slot)` of the caller's response.
struct partition_work {
    size_t slot = 0;
    shard_id owner = 0;
    protocol::uuid topic_id{};
    int32_t index = 0;
    int32_t leader_epoch = 0;  // the partition's, when the request was read
};

inline size_t make_slot(size_t topic, size_t partition) { return (topic << 32) | partition; }
inline size_t slot_topic(size_t slot) { return slot >> 32; }
inline size_t slot_partition(size_t slot) { return slot & 0xffffffff; }

// Fills `w` for partition `index` of `topic`; false when the topic or partition doesn't exist or
// (in a ZooKeeper cluster) is served by another broker: missing_partition_error says which.
inline bool locate_partition(const topic_metadata* topic, int32_t index, size_t slot,
                             partition_work& w) {
    if (!topic || index < 0 || index >= topic->partition_count()) return false;
    const auto& placement = topic->partitions[static_cast<size_t>(index)];
    if (!placement.hosted || !placement.leading) return false;
    w.slot = slot;
    w.owner = placement.owner;
    w.topic_id = topic->id;
    w.index = index;
    w.leader_epoch = placement.leader_epoch;
    return true;
}

// The answer for a partition locate_partition did not find: NOT_LEADER_OR_FOLLOWER when the
// partition exists but another broker leads it (the client refreshes its metadata and goes
// there), UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
inline protocol::error_code missing_partition_error(const topic_metadata* topic, int32_t index) {
    if (topic && index >= 0 && index < topic->partition_count()) {
        return protocol::error_code::not_leader_or_follower;
    }
    return protocol::error_code::unknown_topic_or_partition;
}

// KIP-320's fencing of a request that says which leader epoch its sender knows (-1: none):
// a newer one than ours means our metadata is behind (UNKNOWN_LEADER_EPOCH, the client retries);
// an older one means the client's is (FENCED_LEADER_EPOCH, it refreshes its metadata).
inline protocol::error_code leader_epoch_check(const partition_work& w,
                                               int32_t client_leader_epoch) {
    if (client_leader_epoch < 0 || client_leader_epoch == w.leader_epoch) {
        return protocol::error_code::none;
    }
    return client_leader_epoch > w.leader_epoch ? protocol::error_code::unknown_leader_epoch
                                                : protocol::error_code::fenced_leader_epoch;
}

}  // namespace runnel::server
