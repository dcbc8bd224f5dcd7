// Reading a partition's whole log, batch by batch, from its start: how the coordinators rebuild
// their state at start-up (__consumer_offsets for groups, __transaction_state for
// transactions). The log is read in chunks; the async form lets the shard serve other work
// between chunks, so a big partition does not stall it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <span>
#include <system_error>

#include "protocol/record_batch.h"
#include "storage/partition_log.h"

namespace runnel::server {

// Called for each whole batch, in log order.
using replay_batch_fn =
    std::function<void(const protocol::batch_header& header, std::span<const uint8_t> batch)>;

// Reads everything now (a partition created after start-up is empty). Returns a read error;
// `bytes`, if given, counts what was read.
std::error_code replay_log(const storage::partition_log& log, const replay_batch_fn& fn,
                           int64_t* bytes = nullptr);

// The same, yielding to the shard's event loop between chunks.
boost::asio::awaitable<std::error_code> replay_log_async(const storage::partition_log& log,
                                                         const replay_batch_fn& fn,
                                                         int64_t* bytes = nullptr);

}  // namespace runnel::server
