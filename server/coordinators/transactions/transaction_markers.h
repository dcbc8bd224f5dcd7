// Writing a transaction's commit or abort marker to every partition in it (the work of Kafka's
// TransactionMarkerChannelManager). The partitions this broker leads get theirs directly, on
// their owner shards; in a ZooKeeper cluster the others' leaders get a WriteTxnMarkers request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <system_error>

#include "protocol/errors.h"
#include "server/coordinators/transactions/transaction_metadata.h"
#include "server/core/shard.h"

namespace runnel::server {
class broker_link_pool;
class cluster_context;
namespace groups {
class coordinator_set;
}
}  // namespace runnel::server

namespace runnel::server::transactions {

// A transaction's outcome, as its markers carry it.
struct transaction_marker {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    bool commit = false;
    // The leader epoch of the coordinator's __transaction_state partition: a partition refuses
    // markers from a coordinator older than the last it heard from (a deposed coordinator).
    int32_t coordinator_epoch = 0;
};

// From shard `home`: writes `marker` to those of `partitions` this broker leads, each owner
// shard's in one hop, and answers for every partition: NONE once stored (synced when the
// partition's flush policy asks, and in every in-sync replica), UNKNOWN_TOPIC_OR_PARTITION,
// NOT_LEADER_OR_FOLLOWER (led elsewhere), INVALID_PRODUCER_EPOCH (the producer writes with a
// newer epoch there: a later transaction ended this one), TRANSACTION_COORDINATOR_FENCED, or the
// storage's error. A marker on a __consumer_offsets partition also settles that producer's
// pending transactional offset commits. (WriteTxnMarkers; the coordinator for its own leaders.)
asio::awaitable<std::map<topic_partition, protocol::error_code>> write_markers_here(
    cluster_context& cluster, groups::coordinator_set& groups, shard_id home,
    const transaction_marker& marker, const std::set<topic_partition>& partitions);

// The coordinator's part: every partition of the transaction gets `marker`, from here for those
// this broker leads, from their leaders (WriteTxnMarkers through `links`, a pool of shard
// `home`) for the others. Partitions of deleted topics are skipped, as Kafka skips them, and so
// are those where the producer has moved on to a newer epoch. Returns once all are stored, or an
// error (a leader unreachable or not settled yet, a storage error): the caller retries the whole
// set later; a marker written twice is harmless (the second finds no open transaction).
asio::awaitable<std::error_code> write_transaction_markers(cluster_context& cluster,
                                                           groups::coordinator_set& groups,
                                                           broker_link_pool& links, shard_id home,
                                                           transaction_marker marker,
                                                           std::set<topic_partition> partitions);

}  // namespace runnel::server::transactions
