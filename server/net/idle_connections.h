// connections.max.idle.ms: closes client connections that have waited that long for their next
// request, as Kafka's network threads do (a consumer or producer that went quiet frees its
// socket; clients reconnect on their next request). One registry per shard, used only on that
// shard's thread; a connection is idle only while it waits for bytes with nothing buffered, so a
// long-polling Fetch or a request being served never counts.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "server/core/shard.h"
#include "server/core/sharded.h"

namespace runnel::server {

class connection;

class idle_connections {
  public:
    using clock = std::chrono::steady_clock;

    // max_idle_ms <= 0, or more than the clock can count: connections are never closed for
    // being idle.
    idle_connections(size_t shards, int64_t max_idle_ms);

    // On the connection's shard, for as long as it is served there.
    void add(shard_id s, connection* c) { per_shard_.on(s).insert(c); }
    void remove(shard_id s, connection* c) { per_shard_.on(s).erase(c); }

    // Runs on shard `s` until the io_context stops: every tenth of the idle time (100 ms to
    // 30 s) closes the connections idle for at least max_idle_ms.
    asio::awaitable<void> reap(shard_id s);
    bool enabled() const { return max_idle_.count() > 0; }

  private:
    std::chrono::milliseconds max_idle_;
    sharded<std::unordered_set<connection*>> per_shard_;
};

}  // namespace runnel::server
