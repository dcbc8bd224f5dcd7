#include "server/coordinators/transactions/transaction_state_topic.h"

#include <string>

#include "server/cluster/internal_topic.h"
#include "server/config/broker_config.h"
#include "server/coordinators/groups/offsets_topic.h"

namespace runnel::server::transactions {

int32_t partition_for_transactional_id(std::string_view transactional_id, int32_t partitions) {
    return groups::partition_for_group(transactional_id, partitions);
}

new_topic transaction_state_topic_spec(const broker_config& c) {
    return compacted_internal_topic(transaction_state_topic_name,
                                    c.transaction_state_log_num_partitions,
                                    c.transaction_state_log_segment_bytes, "uncompressed");
}

}  // namespace runnel::server::transactions
