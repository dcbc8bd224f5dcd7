#include "server/cluster/internal_topic.h"

#include <boost/asio/co_spawn.hpp>
#include <exception>

#include "server/cluster/cluster_context.h"
#include "server/core/logger.h"

namespace runnel::server {

using protocol::error_code;

new_topic compacted_internal_topic(std::string_view name, int32_t partitions, int32_t segment_bytes,
                                   std::string compression) {
    new_topic t;
    t.local = true;  // its coordinators run on this broker
    t.name = std::string(name);
    t.partitions = partitions;
    t.replication_factor = 1;
    t.configs["cleanup.policy"] = "compact";
    t.configs["segment.bytes"] = std::to_string(segment_bytes);
    t.configs["compression.type"] = std::move(compression);
    return t;
}

internal_topic::internal_topic(cluster_context& b, new_topic spec, std::string replication_key,
                               int16_t configured_replication, partitioner partition_for)
    : cluster_(b),
      spec_(std::move(spec)),
      replication_key_(std::move(replication_key)),
      configured_replication_(configured_replication),
      partition_for_(partition_for) {}

internal_topic::location internal_topic::locate(std::string_view key) {
    location loc;
    auto t = find_or_start_creating();
    if (!t) {
        loc.error = error_code::coordinator_load_in_progress;
        return loc;
    }
    loc.partition = partition_for_(key, t->partition_count());
    const auto& placement = t->partitions[static_cast<size_t>(loc.partition)];
    loc.owner = placement.owner;
    if (!placement.hosted || !placement.leading) {
        // A cluster's partition led by another broker (or by none yet).
        loc.error = error_code::not_coordinator;
        loc.leader = placement.leader;
    }
    return loc;
}

std::shared_ptr<const topic_metadata> internal_topic::find_or_start_creating() {
    auto t = cluster_.topics().snapshot()->find(spec_.name);
    if (t && t->partition_count() > 0) return t;
    if (!creating_.exchange(true)) {
        asio::co_spawn(cluster_.metadata_shard().executor(), create_in_background(),
                       log_failure("creating " + spec_.name + " failed"));
    }
    return nullptr;
}

asio::awaitable<void> internal_topic::create_in_background() {
    co_await ensure();
    creating_ = false;
}

asio::awaitable<error_code> internal_topic::ensure() {
    if (cluster_.topics().snapshot()->find(spec_.name)) co_return error_code::none;
    if (spec_.local && configured_replication_ > 1 && !warned_replication_.exchange(true)) {
        server_log().warn(
            "{} is {}, but a single node holds one replica: creating {} with replication "
            "factor 1",
            replication_key_, configured_replication_, spec_.name);
    }
    auto created = co_await cluster_.admin().create_topic(spec_, false);
    if (created.error == error_code::none || created.error == error_code::topic_already_exists) {
        co_return error_code::none;
    }
    server_log().error("cannot create {}: {}", spec_.name,
                       created.message.value_or("unknown error"));
    co_return error_code::coordinator_not_available;
}

}  // namespace runnel::server
