#include "server/coordinators/groups/coordinator_set.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <exception>

#include "server/cluster/cluster_context.h"
#include "server/coordinators/groups/group_loader.h"
#include "server/coordinators/groups/offsets_append.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/core/logger.h"
#include "storage/errors.h"

namespace runnel::server::groups {

using protocol::error_code;

coordinator_set::coordinator_set(cluster_context& cluster)
    : cluster_(cluster),
      per_shard_(cluster.shards().size(),
                 [this, config = coordinator_config::from(cluster.config())](shard_id i) {
                     auto s = std::make_unique<per_shard>();
                     s->timers =
                         std::make_unique<asio_group_timers>(cluster_.shards().at(i).context());
                     s->coordinator =
                         std::make_unique<group_coordinator>(config, *s->timers, make_append(i));
                     return s;
                 }),
      topic_(cluster, offsets_topic_spec(cluster.config()), "offsets.topic.replication.factor",
             cluster.config().offsets_topic_replication_factor, partition_for_group) {}

coordinator_set::~coordinator_set() = default;

shard_set& coordinator_set::shards() { return cluster_.shards(); }

append_fn coordinator_set::make_append(shard_id id) {
    return [this, id](int32_t p, std::vector<protocol::record_input> records,
                      const std::optional<txn_producer>& txn) -> storage::result<int64_t> {
        auto t = cluster_.topics().snapshot()->find(offsets_topic_name);
        partition* part = t ? cluster_.partitions_on(id).find(t->id, p) : nullptr;
        if (!part) return storage::make_error_code(storage::errc::log_closed);
        auto batch = group_records_batch(records, txn);
        // Flushed in the background: the coordinator answers without waiting for the sync
        // (required_acks::none: nothing to wait for).
        auto appended = part->append(batch, storage::append_origin::coordinator);
        if (!appended.ok()) return appended.cause;
        return appended.base_offset;
    };
}

void coordinator_set::start() {
    auto t = cluster_.topics().snapshot()->find(offsets_topic_name);
    if (!t) return;  // created on first use
    run_on_every_shard(cluster_.shards(), [&](shard_id me) {
        std::vector<int32_t> mine;
        for (int32_t p = 0; p < t->partition_count(); ++p) {
            if (t->partitions[static_cast<size_t>(p)].owner != me) continue;
            per_shard_.on(me).coordinator->begin_load(p);
            mine.push_back(p);
        }
        if (mine.empty()) return;
        asio::co_spawn(cluster_.shards().at(me).executor(), load_shard(me, std::move(mine)),
                       log_failure("group coordinator task failed"));
    });
}

asio::awaitable<void> coordinator_set::load_shard(shard_id id, std::vector<int32_t> partitions) {
    auto& c = *per_shard_.on(id).coordinator;
    for (int32_t p : partitions) {
        auto t = cluster_.topics().snapshot()->find(offsets_topic_name);
        partition* part = t ? cluster_.partitions_on(id).find(t->id, p) : nullptr;
        if (part) {
            load_stats stats;
            if (auto ec = co_await replay_partition_async(c, p, part->log(), &stats)) {
                server_log().error("cannot read __consumer_offsets-{}: {}", p, ec.message());
            }
            if (stats.records > 0) {
                server_log().debug("__consumer_offsets-{}: replayed {} record(s), {} skipped", p,
                                   stats.records, stats.skipped);
            }
        }
        c.finish_load(p);
    }
}

void coordinator_set::stop() {
    // A coordinator that fails to shut down must not keep the others from it.
    run_on_every_shard(cluster_.shards(), [&](shard_id me) {
        try {
            per_shard_.on(me).coordinator->shutdown();
        } catch (const std::exception& e) {
            server_log().error("group coordinator on shard {}: {}", me, e.what());
        }
    });
}

group_location coordinator_set::locate(std::string_view group_id) {
    return topic_.locate(group_id);
}

asio::awaitable<error_code> coordinator_set::ensure_topic() { return topic_.ensure(); }

error_code coordinator_set::activate(shard_id owner, int32_t index) {
    auto& c = *per_shard_.on(owner).coordinator;
    switch (c.status(index)) {
        case group_coordinator::partition_status::active:
            return error_code::none;
        case group_coordinator::partition_status::loading:
            return error_code::coordinator_load_in_progress;
        case group_coordinator::partition_status::unknown:
            break;
    }
    auto t = cluster_.topics().snapshot()->find(offsets_topic_name);
    partition* part = t ? cluster_.partitions_on(owner).find(t->id, index) : nullptr;
    if (!part) return error_code::coordinator_not_available;
    c.begin_load(index);
    if (auto ec = replay_partition(c, index, part->log())) {
        server_log().error("cannot read __consumer_offsets-{}: {}", index, ec.message());
    }
    c.finish_load(index);
    return error_code::none;
}

}  // namespace runnel::server::groups
