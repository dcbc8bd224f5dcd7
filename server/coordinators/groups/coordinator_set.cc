#include "server/coordinators/groups/coordinator_set.h"
#include "server/core/cross_shard.h"

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
             cluster.config().offsets_topic_replication_factor, partition_for_group),
      runtime_(cluster, topic_, [this](shard_id i) { return make_loader(i); }) {}

coordinator_set::~coordinator_set() = default;

shard_set& coordinator_set::shards() { return cluster_.shards(); }

append_fn coordinator_set::make_append(shard_id id) {
    return [this, id](int32_t p, std::vector<protocol::record_input> records,
                      const std::optional<txn_producer>& txn) -> storage::result<int64_t> {
        auto batch = group_records_batch(records, txn);
        // Flushed in the background: the coordinator answers without waiting for the sync.
        auto appended = runtime_.append(id, p, batch);
        if (!appended.ok()) return appended.cause;
        return appended.base_offset;
    };
}

coordinator_runtime::loader coordinator_set::make_loader(shard_id id) {
    struct progress {
        std::map<int32_t, load_stats> stats;
        std::vector<uint8_t> scratch;
    };
    auto state = std::make_shared<progress>();
    group_coordinator* c = per_shard_.on(id).coordinator.get();
    coordinator_runtime::loader l;
    l.begin = [c](int32_t p) { c->begin_load(p); };
    l.apply = [c, state](int32_t p, const protocol::batch_header& h,
                         std::span<const uint8_t> batch) {
        replay_batch(*c, p, h, batch, state->stats[p], state->scratch);
    };
    l.finish = [c, state](int32_t p) {
        const auto& s = state->stats[p];
        if (s.records > 0) {
            server_log().debug("__consumer_offsets-{}: replayed {} record(s), {} skipped", p,
                               s.records, s.skipped);
        }
        state->stats.erase(p);
        c->finish_load(p);
    };
    return l;
}

void coordinator_set::start() { runtime_.start(); }

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

}  // namespace runnel::server::groups
