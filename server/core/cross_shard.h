// Every way work crosses shards, in one place: on_shard (one call on another shard, the caller
// resumed on its own), run_on_owners (per-item work split by owner shard, the parts run in
// parallel: Produce, Fetch and ListOffsets split their partitions this way, topic administration
// its partitions to open or close) and run_on_every_shard (start-up and shutdown). The
// coordinators add call_coordinator_of (coordinators/coordinator_call.h) on top.
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

// Runs f(shard id) on every shard and blocks until all are done; rethrows the first exception.
// For start-up and shutdown only: call it from a thread that is not a shard.
void run_on_every_shard(shard_set& shards, const std::function<void(shard_id)>& f);

// Runs the coroutine produced by `make()` on shard `target` and resumes the caller on its own
// shard with the result. Everything `make` captures crosses threads, so capture by value/move.
//
// `make` must be a named lambda (an lvalue): g++ 12 destroys a temporary lambda with
// non-trivially destructible captures twice when it appears in a co_await expression.
template <class F>
auto on_shard(shard& target, F& make) -> decltype(make()) {
    co_return co_await asio::co_spawn(target.executor(), make(), asio::use_awaitable);
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
