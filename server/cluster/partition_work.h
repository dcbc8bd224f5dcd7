// A requested partition on its way to its owner shard, and where its answer goes in the caller's
// response (for run_on_owners, server/core/cross_shard.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/codec.h"
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
};

inline size_t make_slot(size_t topic, size_t partition) { return (topic << 32) | partition; }
inline size_t slot_topic(size_t slot) { return slot >> 32; }
inline size_t slot_partition(size_t slot) { return slot & 0xffffffff; }

// Fills `w` for partition `index` of `topic`; false when the topic or partition doesn't exist.
inline bool locate_partition(const topic_metadata* topic, int32_t index, size_t slot,
                             partition_work& w) {
    if (!topic || index < 0 || index >= topic->partition_count()) return false;
    w.slot = slot;
    w.owner = topic->partitions[static_cast<size_t>(index)].owner;
    w.topic_id = topic->id;
    w.index = index;
    return true;
}

}  // namespace runnel::server
