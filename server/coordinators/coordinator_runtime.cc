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
            statuses_.on(me)[p] = loaded{status::loading, placement.leader_epoch};
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
        statuses_.on(id)[index].state = status::active;
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

std::optional<int32_t> coordinator_runtime::led_here(shard_id owner, int32_t index) const {
    auto t = cluster_.topics().snapshot()->find(topic_.name());
    if (!t || index < 0 || index >= t->partition_count()) return std::nullopt;
    const auto& placement = t->partitions[static_cast<size_t>(index)];
    if (!placement.hosted || !placement.leading || placement.owner != owner) return std::nullopt;
    return placement.leader_epoch;
}

error_code coordinator_runtime::activate(shard_id owner, int32_t index) {
    auto& s = statuses_.on(owner);
    const auto epoch = led_here(owner, index);
    if (auto it = s.find(index); it != s.end() && epoch && it->second.leader_epoch == *epoch) {
        return it->second.state == status::active ? error_code::none
                                                  : error_code::coordinator_load_in_progress;
    }
    // Created after start-up (so empty), or in a ZooKeeper cluster a partition this broker came
    // to lead after start-up, or leads again after another broker did: replayed now, so that
    // what the other leaders wrote meanwhile is in the state.
    if (auto ec = load_now(owner, index)) {
        server_log().error("cannot read {}-{}: {}", topic_.name(), index, ec.message());
        s.erase(index);
        return error_code::coordinator_not_available;
    }
    s[index] = loaded{status::active, epoch.value_or(-1)};
    return error_code::none;
}

bool coordinator_runtime::loading(shard_id owner) const {
    for (const auto& [index, l] : statuses_.on(owner)) {
        if (l.state == status::loading) return true;
    }
    return false;
}

bool coordinator_runtime::follow_leadership(shard_id owner) {
    auto t = cluster_.topics().snapshot()->find(topic_.name());
    if (!t || !t->in_cluster) return false;
    auto& s = statuses_.on(owner);
    auto& l = loaders_.on(owner);
    for (auto it = s.begin(); it != s.end();) {
        if (it->second.state == status::active && !led_here(owner, it->first)) {
            server_log().info("{}-{}: led elsewhere now; its coordinator state here is unloaded",
                              topic_.name(), it->first);
            if (l.unload) l.unload(it->first);
            it = s.erase(it);
        } else {
            ++it;
        }
    }
    bool any = false;
    for (int32_t p = 0; p < t->partition_count(); ++p) {
        const auto epoch = led_here(owner, p);
        if (!epoch) continue;
        auto it = s.find(p);
        if (it != s.end() && it->second.leader_epoch == *epoch) continue;
        if (activate(owner, p) == error_code::none) {
            server_log().info("{}-{}: led here in epoch {}; its coordinator state is loaded",
                              topic_.name(), p, *epoch);
            any = true;
        }
    }
    return any;
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
