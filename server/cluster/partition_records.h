// Reading a partition's records as a consumer sees them, decoded: up to the high watermark
// (read_uncommitted), or up to the last stable offset without control batches and without the
// batches of aborted transactions (read_committed). For the broker's own readers (pipelines, the
// admin API's record browser); Fetch sends the stored batches instead. Runs on the owner shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "server/cluster/partition.h"

namespace runnel::server {

enum class isolation { read_uncommitted, read_committed };

struct stored_record {
    int64_t offset = 0;
    int64_t timestamp = -1;
    std::optional<std::string> key, value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct records_read {
    std::vector<stored_record> records;
    // Where the next read starts: past the last record returned (or every batch skipped).
    int64_t next_offset = 0;
    std::error_code error;
};

// The offset a reader under `iso` may read up to (exclusive).
int64_t readable_end(const partition& p, isolation iso);

// Records from `offset` (moved up to the log start if older data is gone): whole batches up to
// about max_bytes (at least one), at most max_records records.
records_read read_records(const partition& p, int64_t offset, size_t max_bytes, isolation iso,
                          size_t max_records = SIZE_MAX);

}  // namespace runnel::server
