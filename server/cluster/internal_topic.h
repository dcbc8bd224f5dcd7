// An internal topic the broker creates on first use (__consumer_offsets when the first group
// coordinator is looked for, __transaction_state for the first transactional id), as Kafka does.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/errors.h"
#include "server/cluster/topic_admin.h"
#include "server/cluster/topic_registry.h"
#include "server/core/shard.h"

namespace runnel::server {

class cluster_context;

// The CreateTopics spec of a coordinators' topic as Kafka makes it: compacted, replication factor
// 1 (one node), the given partitions, segment.bytes and compression.type.
new_topic compacted_internal_topic(std::string_view name, int32_t partitions, int32_t segment_bytes,
                                   std::string compression);

class internal_topic {
  public:
    // Where a key (a group id, a transactional id) is coordinated.
    struct location {
        protocol::error_code error = protocol::error_code::none;
        int32_t partition = -1;
        shard_id owner = 0;
        // In a ZooKeeper cluster, with NOT_COORDINATOR: the broker that leads the partition
        // (-1: none now), which FindCoordinator names.
        int32_t leader = -1;
    };
    using partitioner = int32_t (*)(std::string_view key, int32_t partitions);

    // `spec` is the topic as created; `replication_key` / `configured_replication` are the
    // configuration a user may have set above 1, which one node cannot honour (warned about once);
    // `partition_for` maps a key to its partition.
    internal_topic(cluster_context& b, new_topic spec, std::string replication_key,
                   int16_t configured_replication, partitioner partition_for);

    // Any shard: the key's partition and the shard owning it. If the topic does not exist yet,
    // starts creating it and answers COORDINATOR_LOAD_IN_PROGRESS.
    location locate(std::string_view key);

    // Any shard: creates the topic unless it exists; none or COORDINATOR_NOT_AVAILABLE.
    boost::asio::awaitable<protocol::error_code> ensure();

    const std::string& name() const { return spec_.name; }

  private:
    // The topic, or null after starting its creation in the background.
    std::shared_ptr<const topic_metadata> find_or_start_creating();
    boost::asio::awaitable<void> create_in_background();

    cluster_context& cluster_;
    new_topic spec_;
    std::string replication_key_;
    int16_t configured_replication_;
    partitioner partition_for_;
    std::atomic<bool> creating_{false};
    std::atomic<bool> warned_replication_{false};
};

}  // namespace runnel::server
