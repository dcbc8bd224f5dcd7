// Splitting per-item work by owner shard and running the parts in parallel, each on the shard
// that owns its items (Produce, Fetch and ListOffsets split their partitions this way; topic
// administration its partitions to open or close).
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <map>
#include <span>
#include <vector>

#include "server/core/shard.h"

namespace runnel::server {

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
