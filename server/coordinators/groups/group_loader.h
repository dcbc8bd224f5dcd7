// Replays a __consumer_offsets partition into a group_coordinator: every record from the log
// start, in order, so the last record of a key wins and tombstones delete. Offset commits of
// transactional batches become pending for the batch's producer and transaction markers end them,
// so committed transactions' offsets are back and undecided ones stay pending. The caller
// brackets the replay with group_coordinator::begin_load / finish_load.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <system_error>

#include "server/coordinators/groups/group_coordinator.h"
#include "storage/partition_log.h"

namespace runnel::server::groups {

struct load_stats {
    int64_t records = 0;  // records applied
    int64_t markers = 0;  // transaction markers applied
    int64_t skipped = 0;  // records of other types (KIP-848 groups) or malformed
    int64_t bytes = 0;
};

// Reads the whole log now (used for partitions created after start-up, which are empty).
std::error_code replay_partition(group_coordinator& c, int32_t partition,
                                 const storage::partition_log& log, load_stats* stats = nullptr);

// The same in chunks, letting the shard serve other work between them (start-up loading).
boost::asio::awaitable<std::error_code> replay_partition_async(group_coordinator& c,
                                                               int32_t partition,
                                                               const storage::partition_log& log,
                                                               load_stats* stats);

}  // namespace runnel::server::groups
