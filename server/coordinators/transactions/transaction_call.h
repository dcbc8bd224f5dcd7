// For handlers: running work on the shard that coordinates a transactional id, once its
// __transaction_state partition is loaded.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "protocol/errors.h"
#include "server/coordinators/coordinator_call.h"
#include "server/coordinators/transactions/transaction_coordinator_set.h"
#include "server/core/shard.h"

namespace runnel::server::transactions {

// Runs fn(transaction_coordinator&, partition) -> asio::awaitable<R> on the shard coordinating
// `transactional_id`, once its __transaction_state partition is ready (see
// server/coordinators/coordinator_call.h).
template <class R, class F>
asio::awaitable<coordinated<R>> call_transaction_coordinator(
    transaction_coordinator_set& transactions, std::string_view transactional_id, F& fn) {
    co_return co_await call_coordinator_of<R>(transactions.shards(), transactions, transactional_id,
                                              fn);
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
