// Splitting per-partition work by owner shard and running the parts in parallel, each on the
// shard that owns its partitions (Produce, Fetch and ListOffsets all work this way).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <map>
#include <span>
#include <vector>

#include "server/kafka/request_context.h"
#include "server/core/shard.h"
#include "server/cluster/topic_registry.h"

namespace runnel::server {

// One requested partition on its way to its owner shard. `slot` says where its answer goes:
// topic `slot_topic(slot)`, partition entry `slot_partition(slot)` of the caller's response.
struct partition_work {
    size_t slot = 0;
    shard_id owner = 0;
    protocol::uuid topic_id{};
    int32_t index = 0;
};

inline size_t make_slot(size_t topic, size_t partition) { return (topic << 32) | partition; }
inline size_t slot_topic(size_t slot) { return slot >> 32; }
inline size_t slot_partition(size_t slot) { return slot & 0xffffffff; }

// Fills `w` for partition `index` of `topic`; false when the topic or partition doesn't exist.
inline bool locate_partition(const topic_metadata* topic, int32_t index, size_t slot,
                             partition_work& w) {
    if (!topic || index < 0 || index >= topic->partition_count()) return false;
    w.slot = slot;
    w.owner = topic->partitions[static_cast<size_t>(index)].owner;
    w.topic_id = topic->id;
    w.index = index;
    return true;
}

// Records in ctx.work_shard which shard owns every item, or that several do.
template <class Item>
void note_work_shard(request_context& ctx, std::span<const Item> items) {
    if (items.empty()) return;
    ctx.work_shard = items.front().owner;
    for (const auto& it : items) {
        if (it.owner != items.front().owner) {
            ctx.work_shard = request_context::several_work_shards;
            return;
        }
    }
}

// `Item` has `shard_id owner` and `size_t slot` (its position in the caller's answer).
// fn(owner, items) runs on shard `owner` and returns the items with results filled in.
// Returns every item, ordered by slot. Work for the caller's own shard runs inline.
// `fn` must be a named lambda (see on_shard).
template <class Item, class Fn>
asio::awaitable<std::vector<Item>> run_on_owners(shard_set& shards, shard& home,
                                                 std::vector<Item> items, Fn& fn) {
    std::map<shard_id, std::vector<Item>> groups;
    for (auto& it : items) groups[it.owner].push_back(std::move(it));
    std::vector<Item> done;
    done.reserve(items.size());

    using op_type = decltype(asio::co_spawn(home.executor(), fn(shard_id{}, std::vector<Item>{}),
                                            asio::deferred));
    std::vector<op_type> remote;
    std::vector<Item> local;
    bool has_local = false;
    for (auto& [owner, group] : groups) {
        if (owner == home.id()) {
            local = std::move(group);
            has_local = true;
            continue;
        }
        remote.push_back(asio::co_spawn(shards.at(owner).executor(), fn(owner, std::move(group)),
                                        asio::deferred));
    }
    if (has_local) {
        auto out = co_await fn(home.id(), std::move(local));
        for (auto& it : out) done.push_back(std::move(it));
    }
    if (!remote.empty()) {
        auto [order, errors, results] =
            co_await asio::experimental::make_parallel_group(std::move(remote))
                .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        for (auto& e : errors) {
            if (e) std::rethrow_exception(e);
        }
        for (auto& group : results) {
            for (auto& it : group) done.push_back(std::move(it));
        }
    }
    std::sort(done.begin(), done.end(),
              [](const Item& a, const Item& b) { return a.slot < b.slot; });
    co_return done;
}

}  // namespace runnel::server
