#include "server/coordinators/transactions/transaction_markers.h"

#include <chrono>

#include "protocol/end_txn_marker.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/partition_work.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "storage/errors.h"
#include "storage/wall_clock.h"

namespace runnel::server::transactions {

namespace {

struct marker_work : partition_work {
    bool offsets_topic = false;
    std::error_code error;
};

}  // namespace

asio::awaitable<std::error_code> write_transaction_markers(cluster_context& cluster,
                                                           groups::coordinator_set& groups,
                                                           shard_id home, int64_t producer_id,
                                                           int16_t producer_epoch, bool commit,
                                                           std::set<topic_partition> partitions) {
    auto snap = cluster.topics().snapshot();
    std::vector<marker_work> work;
    for (const auto& tp : partitions) {
        marker_work w;
        if (!locate_partition(snap->find(tp.topic).get(), tp.partition, work.size(), w)) {
            server_log().info("transaction marker for {}-{} skipped: the partition is gone",
                              tp.topic, tp.partition);
            continue;
        }
        w.offsets_topic = tp.topic == groups::offsets_topic_name;
        work.push_back(std::move(w));
    }
    const auto result = commit ? protocol::txn_result::commit : protocol::txn_result::abort;
    auto write_all =
        [&cluster, &groups, producer_id, producer_epoch, result](
            shard_id owner,
            std::vector<marker_work> items) -> asio::awaitable<std::vector<marker_work>> {
        for (auto& w : items) {
            partition* p = cluster.partitions_on(owner).find(w.topic_id, w.index);
            if (!p) continue;  // deleted meanwhile
            auto appended =
                p->append_marker(producer_id, producer_epoch, result, coordinator_epoch);
            if (!appended.ok()) {
                if (appended.cause == storage::errc::invalid_producer_epoch) {
                    // The producer already writes with a newer epoch here, so this transaction
                    // was ended by a later one: the marker has nothing left to end.
                    server_log().warn("{}-{}: stale transaction marker for producer {} epoch {}",
                                      p->topic(), p->index(), producer_id, producer_epoch);
                    continue;
                }
                w.error = appended.cause;
                continue;
            }
            if (w.offsets_topic) {
                // Right after the marker, with no wait in between: a TxnOffsetCommit of the
                // producer's next transaction must not be settled by this marker.
                groups.on(owner).complete_transaction(w.index, producer_id,
                                                      result == protocol::txn_result::commit);
            }
            w.error = co_await p->acknowledged(appended, required_acks::all);
        }
        co_return items;
    };
    auto done = co_await run_on_owners(cluster.shards(), cluster.shards().at(home), std::move(work),
                                       write_all);
    for (const auto& w : done) {
        if (w.error) {
            server_log().error("cannot write a transaction marker for producer {}: {}", producer_id,
                               w.error.message());
            co_return w.error;
        }
    }
    co_return std::error_code{};
}

}  // namespace runnel::server::transactions
