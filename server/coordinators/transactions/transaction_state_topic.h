// The __transaction_state topic: which partition (and so which shard's coordinator) owns a
// transactional id, and how the topic is created.
#pragma once

#include <cstdint>
#include <string_view>

#include "server/cluster/topic_admin.h"

namespace runnel::server {
struct broker_config;
}

namespace runnel::server::transactions {

inline constexpr std::string_view transaction_state_topic_name = "__transaction_state";

// Kafka's TransactionStateManager.partitionFor: abs(transactionalId.hashCode) % partitions, the
// same hash as for group ids, so a Kafka-written __transaction_state keeps its ids in place.
int32_t partition_for_transactional_id(std::string_view transactional_id, int32_t partitions);

// CreateTopics spec: transaction.state.log.num.partitions partitions, replication factor 1 (one
// node), cleanup.policy=compact, segment.bytes=transaction.state.log.segment.bytes,
// compression.type=uncompressed, as Kafka creates it.
new_topic transaction_state_topic_spec(const broker_config& c);

}  // namespace runnel::server::transactions
