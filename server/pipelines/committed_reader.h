// Reading a partition as a read_committed consumer sees it: records below the last stable
// offset, without control batches and without the batches of aborted transactions. Runs on the
// partition's owner shard.
#pragma once

#include <cstdint>
#include <system_error>
#include <vector>

#include "server/cluster/partition.h"
#include "streams/runtime/stage_task.h"

namespace runnel::server::pipelines {

struct committed_records {
    std::vector<streams::input_record> records;
    int64_t next_offset = 0;  // where the next read starts
    std::error_code error;
};

// Records from `offset` (moved up to the log start if older data is gone), about max_bytes.
committed_records read_committed(const partition& p, int64_t offset, size_t max_bytes);

}  // namespace runnel::server::pipelines
