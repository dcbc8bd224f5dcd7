// Transaction verification of Produce (KIP-890 part 1, Kafka's default since 3.6): a
// transactional batch is appended only to a partition its producer's transaction contains, so a
// late or misdirected batch cannot open a transaction no marker will ever close (a "hanging
// transaction" that holds the last stable offset back forever). On one node the check is a
// question to the transaction coordinator's shard; a coordinator on another broker of a cluster
// gets Kafka's AddPartitionsToTxn VerifyOnly request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <set>
#include <string>

#include "protocol/errors.h"
#include "server/coordinators/transactions/transaction_metadata.h"
#include "server/core/shard.h"

namespace runnel::server::transactions {

class transaction_coordinator_set;

// From shard `home`: the transaction coordinator's answer for each partition
// (transaction_coordinator::verify_partitions), wherever it runs: on a shard of this broker, or
// in a cluster on the broker leading the id's partition of __transaction_state, asked with
// AddPartitionsToTxn VerifyOnly. A problem with the whole question (the coordinator loading,
// elsewhere with no leader now, unreachable: COORDINATOR_NOT_AVAILABLE) is every partition's.
boost::asio::awaitable<std::map<topic_partition, protocol::error_code>> verify_with_coordinator(
    transaction_coordinator_set& transactions, shard_id home, const std::string& transactional_id,
    int64_t producer_id, int16_t epoch, const std::set<topic_partition>& partitions);

// From shard `home`: the error for each partition that must not take the producer's transactional
// batch (absent: append it), in the terms Kafka's Produce answers with: INVALID_TXN_STATE (not in
// the transaction), INVALID_PRODUCER_EPOCH (fenced), NOT_ENOUGH_REPLICAS (the coordinator is busy
// or loading: a retriable error every producer retries).
boost::asio::awaitable<std::map<topic_partition, protocol::error_code>>
verify_transactional_produce(transaction_coordinator_set& transactions, shard_id home,
                             const std::string& transactional_id, int64_t producer_id,
                             int16_t epoch, const std::set<topic_partition>& partitions);

}  // namespace runnel::server::transactions
