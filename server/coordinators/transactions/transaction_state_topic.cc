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
    auto spec = compacted_internal_topic(transaction_state_topic_name,
                                         c.transaction_state_log_num_partitions,
                                         c.transaction_state_log_segment_bytes, "uncompressed");
    if (!c.zookeeper_connect.empty()) {
        // A cluster's transactional ids are coordinated by the leaders of their partitions of
        // __transaction_state, a topic of the cluster's with Kafka's replication settings; more
        // replicas than live brokers: COORDINATOR_NOT_AVAILABLE until there are enough.
        spec.local = false;
        spec.replication_factor = c.transaction_state_log_replication_factor;
        spec.configs["min.insync.replicas"] = std::to_string(c.transaction_state_log_min_isr);
    }
    return spec;
}

}  // namespace runnel::server::transactions
