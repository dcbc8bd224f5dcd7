#include "server/transactions/transaction_state_topic.h"

#include <string>

#include "server/broker_config.h"
#include "server/groups/offsets_topic.h"

namespace runnel::server::transactions {

int32_t partition_for_transactional_id(std::string_view transactional_id, int32_t partitions) {
    return groups::partition_for_group(transactional_id, partitions);
}

new_topic transaction_state_topic_spec(const broker_config& c) {
    new_topic t;
    t.name = std::string(transaction_state_topic_name);
    t.partitions = c.transaction_state_log_num_partitions;
    t.replication_factor = 1;
    t.configs["cleanup.policy"] = "compact";
    t.configs["segment.bytes"] = std::to_string(c.transaction_state_log_segment_bytes);
    t.configs["compression.type"] = "uncompressed";
    return t;
}

}  // namespace runnel::server::transactions
