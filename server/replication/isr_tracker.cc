#include "server/replication/isr_tracker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/core/logger.h"
#include "storage/wall_clock.h"

namespace runnel::server {

namespace {

// How often each shard looks: Kafka checks for laggards every replica.lag.time.max.ms / 2 and
// for caught-up followers at each fetch; one short period serves both.
constexpr auto check_period = std::chrono::milliseconds(500);

}  // namespace

isr_tracker::isr_tracker(cluster_context& cluster, cluster_isr_writer& writer)
    : cluster_(cluster),
      writer_(writer),
      timers_(cluster.shards().size(),
              [&cluster](shard_id s) {
                  return std::make_unique<asio::steady_timer>(cluster.shards().at(s).context());
              }),
      stopped_(cluster.shards().size(), [](shard_id) { return std::make_unique<bool>(false); }) {}

void isr_tracker::start() {
    for (shard_id s = 0; s < cluster_.shards().size(); ++s) {
        asio::co_spawn(cluster_.shards().at(s).executor(), run(s),
                       log_failure("checking the ISRs of shard " + std::to_string(s)));
    }
}

void isr_tracker::stop_on(shard_id s) {
    stopped_.on(s) = true;
    timers_.on(s).cancel();
}

asio::awaitable<void> isr_tracker::run(shard_id s) {
    auto& timer = timers_.on(s);
    while (!stopped_.on(s)) {
        check(s);
        timer.expires_after(check_period);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

void isr_tracker::check(shard_id s) {
    const int64_t now = storage::wall_clock_ms();
    const int64_t lag = cluster_.config().replica_lag_time_max_ms;
    cluster_.partitions_on(s).for_each([&](partition& p) {
        auto isr = p.wanted_isr(now, lag);
        if (!isr) return;
        p.isr_change_started(now);
        // Written from the metadata shard; the answer comes back here. The partition is found
        // again then: it may have been closed meanwhile.
        auto write = [this, s, topic = p.topic(), id = p.topic_id(), index = p.index(),
                      role = *p.role(), isr = *isr]() -> asio::awaitable<void> {
            const bool written = co_await writer_.write_isr(topic, index, role, isr);
            if (written) co_return;  // set_role will bring it here
            if (partition* again = cluster_.partitions_on(s).find(id, index)) {
                if (again->role() == role) again->isr_change_failed();
            }
        };
        asio::co_spawn(
            cluster_.shards().at(s).executor(), write,
            log_failure("changing the ISR of " + p.topic() + "-" + std::to_string(p.index())));
    });
}

}  // namespace runnel::server
