#include "server/admin/metrics/shard_snapshot.h"

#include <time.h>

#include "server/core/cross_shard.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server::admin {

namespace {

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

asio::awaitable<std::vector<shard_snapshot>> snapshot_shards(kafka_services& kafka) {
    std::vector<shard_snapshot> out;
    for (shard_id id = 0; id < kafka.shards().size(); ++id) {
        auto take = [&kafka, id]() -> asio::awaitable<shard_snapshot> {
            shard_snapshot s;
            s.id = id;
            s.requests = kafka.shards().at(id).requests();
            s.log_flushes = kafka.shards().at(id).log_flushes();
            kafka.partitions_on(id).for_each([&s](partition& p) {
                const auto& log = p.log();
                s.partitions.push_back(partition_row{p.topic(), p.index(), log.log_start_offset(),
                                                     log.log_end_offset(), log.size_bytes(),
                                                     log.segment_count(), p.traffic()});
            });
            s.cpu_seconds = thread_cpu_seconds();
            co_return s;
        };
        shard_snapshot s = co_await on_shard(kafka.shards().at(id), take);
        out.push_back(std::move(s));
    }
    co_return out;
}

}  // namespace runnel::server::admin
