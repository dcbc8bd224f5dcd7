// Writing a transaction's commit or abort marker to every partition in it (the work Kafka's
// TransactionMarkerChannelManager sends as WriteTxnMarkers requests; on one node each marker is
// appended directly on its partition's owner shard).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <set>
#include <system_error>

#include "server/coordinators/transactions/transaction_metadata.h"
#include "server/core/shard.h"

namespace runnel::server {
class cluster_context;
namespace groups {
class coordinator_set;
}
}  // namespace runnel::server

namespace runnel::server::transactions {

// The coordinator epoch markers carry. It changes in Kafka when a __transaction_state
// partition moves to another broker; a single node's coordinators never move.
inline constexpr int32_t coordinator_epoch = 0;

// From shard `home`: writes the markers, the partitions of each owner shard in one hop, and
// returns once all are stored (synced when the partition's flush policy asks for it), or the
// first storage error, in which case the caller retries the whole set later (a marker written
// twice is harmless: the second finds no open transaction). Partitions of deleted topics are
// skipped, as Kafka skips partitions with no leader. A marker on a __consumer_offsets partition
// also settles that producer's pending transactional offset commits.
asio::awaitable<std::error_code> write_transaction_markers(cluster_context& cluster,
                                                           groups::coordinator_set& groups,
                                                           shard_id home, int64_t producer_id,
                                                           int16_t producer_epoch, bool commit,
                                                           std::set<topic_partition> partitions);

}  // namespace runnel::server::transactions
