// What a scrape reads on each shard, copied there (the counters are plain integers that only
// their shard writes): its request counts and latencies, its partitions' offsets, sizes and
// traffic, and the CPU time its thread has used (busy time: the shard sleeps when idle).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "server/cluster/partition.h"
#include "server/core/request_metrics.h"
#include "server/core/shard.h"

namespace runnel::server {
class kafka_services;
}

namespace runnel::server::admin {

struct partition_row {
    std::string topic;
    int32_t index = 0;
    int64_t log_start_offset = 0;
    int64_t log_end_offset = 0;
    int64_t size_bytes = 0;
    size_t segments = 0;
    partition_traffic traffic;
};

struct shard_snapshot {
    shard_id id = 0;
    request_metrics requests;
    latency_histogram log_flushes;
    std::vector<partition_row> partitions;
    double cpu_seconds = 0;
};

// One snapshot per shard, in shard order.
asio::awaitable<std::vector<shard_snapshot>> snapshot_shards(kafka_services& kafka);

}  // namespace runnel::server::admin
