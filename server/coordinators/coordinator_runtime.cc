#include "server/coordinators/coordinator_runtime.h"
#include "server/core/cross_shard.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/cluster/log_replay.h"
#include "server/core/logger.h"
#include "storage/errors.h"

namespace runnel::server {

using protocol::error_code;

coordinator_runtime::coordinator_runtime(cluster_context& cluster, internal_topic& topic,
                                         std::function<loader(shard_id)> make_loader)
    : cluster_(cluster),
      topic_(topic),
      loaders_(cluster.shards().size(),
               [&make_loader](shard_id i) { return std::make_unique<loader>(make_loader(i)); }),
      statuses_(cluster.shards().size(), [](shard_id) { return std::make_unique<statuses>(); }) {}

const std::string& coordinator_runtime::topic_name() const { return topic_.name(); }

partition* coordinator_runtime::partition_on(shard_id owner, int32_t index) {
    auto t = cluster_.topics().snapshot()->find(topic_.name());
    return t ? cluster_.partitions_on(owner).find(t->id, index) : nullptr;
}

void coordinator_runtime::start(std::function<asio::awaitable<void>(shard_id)> then) {
    auto t = cluster_.topics().snapshot()->find(topic_.name());
    run_on_every_shard(cluster_.shards(), [&](shard_id me) {
        std::vector<int32_t> mine;
        for (int32_t p = 0; t && p < t->partition_count(); ++p) {
            const auto& placement = t->partitions[static_cast<size_t>(p)];
            if (!placement.hosted || !placement.leading || placement.owner != me) continue;
            statuses_.on(me)[p] = status::loading;
            loaders_.on(me).begin(p);
            mine.push_back(p);
        }
        asio::co_spawn(cluster_.shards().at(me).executor(), load_shard(me, std::move(mine), then),
                       log_failure("loading " + topic_.name() + " failed"));
    });
}

asio::awaitable<void> coordinator_runtime::load_shard(
    shard_id id, std::vector<int32_t> partitions,
    std::function<asio::awaitable<void>(shard_id)> then) {
    auto& l = loaders_.on(id);
    for (int32_t index : partitions) {
        if (partition* p = partition_on(id, index)) {
            // Named, so no temporary with a destructor sits in the co_await expression (g++ 12).
            const replay_batch_fn apply = [&l, index](const protocol::batch_header& h,
                                                      std::span<const uint8_t> batch) {
                l.apply(index, h, batch);
            };
            if (auto ec = co_await replay_log_async(p->log(), apply)) {
                server_log().error("cannot read {}-{}: {}", topic_.name(), index, ec.message());
            }
        }
        l.finish(index);
        statuses_.on(id)[index] = status::active;
        // Between partitions too, so requests for those loaded already are served.
        co_await asio::post(cluster_.shards().at(id).executor(), asio::use_awaitable);
    }
    if (then) co_await then(id);
}

std::error_code coordinator_runtime::load_now(shard_id id, int32_t index) {
    partition* p = partition_on(id, index);
    if (!p) return storage::make_error_code(storage::errc::log_closed);
    auto& l = loaders_.on(id);
    l.begin(index);
    auto ec = replay_log(
        p->log(), [&l, index](const protocol::batch_header& h, std::span<const uint8_t> batch) {
            l.apply(index, h, batch);
        });
    l.finish(index);
    return ec;
}

error_code coordinator_runtime::activate(shard_id owner, int32_t index) {
    auto& s = statuses_.on(owner);
    if (auto it = s.find(index); it != s.end()) {
        return it->second == status::active ? error_code::none
                                            : error_code::coordinator_load_in_progress;
    }
    // Created after start-up (so empty), or in a ZooKeeper cluster a partition this broker came
    // to lead after start-up: replayed now.
    if (auto ec = load_now(owner, index)) {
        server_log().error("cannot read {}-{}: {}", topic_.name(), index, ec.message());
        return error_code::coordinator_not_available;
    }
    s[index] = status::active;
    return error_code::none;
}

bool coordinator_runtime::loading(shard_id owner) const {
    for (const auto& [index, st] : statuses_.on(owner)) {
        if (st == status::loading) return true;
    }
    return false;
}

append_result coordinator_runtime::append(shard_id owner, int32_t index, std::span<uint8_t> batch) {
    partition* p = partition_on(owner, index);
    if (!p) {
        append_result r;
        r.cause = storage::make_error_code(storage::errc::log_closed);
        r.error = error_code::not_coordinator;
        return r;
    }
    return p->append(batch, storage::append_origin::coordinator);
}

asio::awaitable<std::error_code> coordinator_runtime::acknowledged(shard_id owner, int32_t index,
                                                                   const append_result& r,
                                                                   required_acks acks) {
    partition* p = partition_on(owner, index);
    if (!p) co_return storage::make_error_code(storage::errc::log_closed);
    co_return co_await p->acknowledged(r, acks);
}

}  // namespace runnel::server
