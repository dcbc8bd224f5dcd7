// For handlers: running work on the shard that coordinates a key (a group id, a transactional
// id), once the key's partition of the coordinators' internal topic is ready there. `Set` is a
// coordinator set (groups::coordinator_set, transactions::transaction_coordinator_set) with
//   location locate(key);  error_code activate(owner, partition);  Coordinator& on(owner);
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "protocol/errors.h"
#include "server/core/cross_shard.h"
#include "server/core/shard.h"

namespace runnel::server {

template <class R>
struct coordinated {
    protocol::error_code error = protocol::error_code::none;  // set when `fn` did not run
    R value{};
};

// Runs fn(coordinator, partition) -> asio::awaitable<R> on the owner shard. `fn` must be a named
// lambda (see on_shard); what it captures is read on that shard.
template <class R, class Set, class F>
asio::awaitable<coordinated<R>> call_coordinator_of(shard_set& shards, Set& set,
                                                    std::string_view key, F& fn) {
    const auto loc = set.locate(key);
    if (loc.error != protocol::error_code::none) co_return coordinated<R>{loc.error, R{}};
    auto task = [&set, loc, &fn]() -> asio::awaitable<coordinated<R>> {
        if (auto e = set.activate(loc.owner, loc.partition); e != protocol::error_code::none) {
            co_return coordinated<R>{e, R{}};
        }
        R value = co_await fn(set.on(loc.owner), loc.partition);
        co_return coordinated<R>{protocol::error_code::none, std::move(value)};
    };
    co_return co_await on_shard(shards.at(loc.owner), task);
}

}  // namespace runnel::server
