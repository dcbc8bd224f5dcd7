// For handlers: running work on the shard that coordinates a transactional id, once its
// __transaction_state partition is loaded.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "protocol/errors.h"
#include "server/broker.h"
#include "server/shard.h"
#include "server/transactions/transaction_coordinator_set.h"

namespace runnel::server::transactions {

template <class R>
struct coordinator_answer {
    protocol::error_code error = protocol::error_code::none;  // set when `fn` did not run
    R value{};
};

// Runs fn(transaction_coordinator&, partition) -> asio::awaitable<R> on the shard coordinating
// `transactional_id`. `fn` must be a named lambda (see on_shard); what it captures is read on
// that shard.
template <class R, class F>
asio::awaitable<coordinator_answer<R>> call_transaction_coordinator(
    broker& b, std::string_view transactional_id, F& fn) {
    const transaction_location loc = b.transactions().locate(transactional_id);
    if (loc.error != protocol::error_code::none) co_return coordinator_answer<R>{loc.error, R{}};
    auto task = [&b, loc, &fn]() -> asio::awaitable<coordinator_answer<R>> {
        if (auto e = b.transactions().activate(loc.owner, loc.partition);
            e != protocol::error_code::none) {
            co_return coordinator_answer<R>{e, R{}};
        }
        R value = co_await fn(b.transactions().on(loc.owner), loc.partition);
        co_return coordinator_answer<R>{protocol::error_code::none, std::move(value)};
    };
    co_return co_await on_shard(b.shards().at(loc.owner), task);
}

// Kafka's answer for a fenced producer to clients too old to know PRODUCER_FENCED (KIP-588):
// the version where each API learned it is given.
inline protocol::error_code fenced_for_version(protocol::error_code e, int16_t version,
                                               int16_t first_version_with_fenced) {
    if (e == protocol::error_code::producer_fenced && version < first_version_with_fenced)
        return protocol::error_code::invalid_producer_epoch;
    return e;
}

}  // namespace runnel::server::transactions
