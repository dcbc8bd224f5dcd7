// A replicated partition as this broker sees it (Kafka's Partition in a ZooKeeper cluster): who
// leads in which epoch, the replicas and the ISR, on the leader each follower's progress, and
// the high watermark that acks=all writes wait for. A single node has none of it: it is its
// partitions' only replica, always in sync, and its high watermark is the log end.
#pragma once

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "server/core/shard.h"

namespace runnel::server {

// The partition's state in ZooKeeper, as the controller wrote it, and this broker's id.
struct partition_role {
    int32_t self = -1;
    int32_t leader = -1;
    int32_t leader_epoch = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
    // The state znode's: who wrote it last (the controller's epoch) and its version, which the
    // leader's own ISR change must match (Kafka 2.x's conditional update).
    int32_t controller_epoch = 0;
    int32_t state_version = -1;

    bool leads() const { return leader >= 0 && leader == self; }
    bool in_isr(int32_t broker) const {
        return std::find(isr.begin(), isr.end(), broker) != isr.end();
    }
    bool operator==(const partition_role&) const = default;
};

// What the leader knows of one follower (Kafka's remote replica state).
struct follower_progress {
    int32_t broker = -1;
    // The offset its last fetch asked for, which is its log end offset; -1 until it fetched
    // from this leader in this epoch.
    int64_t log_end_offset = -1;
    // When it last fetched up to the leader's log end (replica.lag.time.max.ms counts from it).
    int64_t last_caught_up_ms = 0;
    // The leader's log end and the time at its previous fetch: a fetch reaching that offset
    // means it was caught up then (Kafka's lastFetchLeaderLogEndOffset), so a follower kept
    // busy by a steady stream of appends is not taken for a laggard.
    int64_t previous_fetch_leader_end = -1;
    int64_t previous_fetch_ms = 0;
};

// What acks=all writers wait on. Shared with them, so that a writer woken after the partition
// was closed finds `closed` rather than a dangling partition.
struct high_watermark_waits {
    int64_t high_watermark = 0;
    bool leading = true;
    bool closed = false;
    int32_t in_sync = 1;  // the ISR's size
    int32_t min_isr = 1;  // the effective min.insync.replicas
    // (offset the high watermark must reach, the timer the writer waits on)
    std::vector<std::pair<int64_t, std::shared_ptr<asio::steady_timer>>> waiting;

    // Wakes the writers whose offset the high watermark reached.
    void advanced() {
        std::erase_if(waiting, [this](const auto& w) {
            if (w.first > high_watermark) return false;
            w.second->cancel();
            return true;
        });
    }
    // Wakes every writer to look again (leadership, ISR or the partition itself changed).
    void wake_all() {
        for (auto& w : waiting) w.second->cancel();
        waiting.clear();
    }
};

}  // namespace runnel::server
