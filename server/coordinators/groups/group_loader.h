// Replays a __consumer_offsets partition into a group_coordinator: every record from the log
// start, in order, so the last record of a key wins and tombstones delete. Offset commits of
// transactional batches become pending for the batch's producer and transaction markers end them,
// so committed transactions' offsets are back and undecided ones stay pending. The caller
// brackets the replay with group_coordinator::begin_load / finish_load.
#pragma once

#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "protocol/record_batch.h"
#include "server/coordinators/groups/group_coordinator.h"
#include "storage/partition_log.h"

namespace runnel::server::groups {

struct load_stats {
    int64_t records = 0;  // records applied
    int64_t markers = 0;  // transaction markers applied
    int64_t skipped = 0;  // records of other types (KIP-848 groups) or malformed
    int64_t bytes = 0;
};

// Applies one batch of a __consumer_offsets partition's log (records, or a transaction marker),
// counting into `stats`; `scratch` is reused for decompression.
void replay_batch(group_coordinator& c, int32_t partition, const protocol::batch_header& h,
                  std::span<const uint8_t> batch, load_stats& stats, std::vector<uint8_t>& scratch);

// Replays the whole log now (tests; the broker loads through coordinator_runtime).
std::error_code replay_partition(group_coordinator& c, int32_t partition,
                                 const storage::partition_log& log, load_stats* stats = nullptr);

}  // namespace runnel::server::groups
