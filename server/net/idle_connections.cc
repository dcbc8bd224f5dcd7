#include "server/net/idle_connections.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/net/connection.h"

namespace runnel::server {

namespace {
// Settings beyond what the clock can count (Long.MAX_VALUE is a common "never") mean never.
constexpr int64_t longest_idle_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(idle_connections::clock::duration::max())
        .count() /
    2;
}  // namespace

idle_connections::idle_connections(size_t shards, int64_t max_idle_ms)
    : max_idle_(max_idle_ms > 0 && max_idle_ms <= longest_idle_ms ? max_idle_ms : 0),
      per_shard_(shards,
                 [](shard_id) { return std::make_unique<std::unordered_set<connection*>>(); }) {}

asio::awaitable<void> idle_connections::reap(shard_id s) {
    using std::chrono::milliseconds;
    const auto every =
        std::clamp<milliseconds>(max_idle_ / 10, milliseconds(100), milliseconds(30000));
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::vector<connection*> expired;
    for (;;) {
        timer.expires_after(every);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        const auto now = clock::now();
        expired.clear();
        for (connection* c : per_shard_.on(s)) {
            const auto idle = c->idle_for(now);  // zero unless waiting for the client
            if (idle > clock::duration::zero() && idle >= max_idle_) expired.push_back(c);
        }
        // Closing cancels the connection's pending read; it leaves the registry when its
        // coroutine ends, later on this thread.
        for (connection* c : expired) c->close_idle(max_idle_);
    }
}

}  // namespace runnel::server
