#include "server/coordinators/transactions/transaction_markers.h"

#include <chrono>
#include <vector>

#include "protocol/end_txn_marker.h"
#include "protocol/messages/api_table.h"
#include "protocol/messages/write_txn_markers.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/error_mapping.h"
#include "server/cluster/partition_work.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "server/replication/broker_link_pool.h"
#include "storage/errors.h"

namespace runnel::server::transactions {

using protocol::error_code;

namespace {

struct marker_work : partition_work {
    topic_partition tp;
    bool offsets_topic = false;
    error_code error = error_code::none;
};

// How long one WriteTxnMarkers may take: the leader waits for its in-sync replicas before it
// answers (Kafka's request.timeout.ms for the marker channel).
constexpr auto marker_call_timeout = std::chrono::seconds(30);

std::error_code not_settled() {
    return std::make_error_code(std::errc::resource_unavailable_try_again);
}

// The answers that leave nothing for the coordinator to do at a partition.
bool settled(error_code e) {
    // INVALID_PRODUCER_EPOCH: the producer already writes with a newer epoch there, so this
    // transaction was ended by a later one and the marker has nothing left to end.
    return e == error_code::none || e == error_code::invalid_producer_epoch;
}

}  // namespace

asio::awaitable<std::map<topic_partition, error_code>> write_markers_here(
    cluster_context& cluster, groups::coordinator_set& groups, shard_id home,
    const transaction_marker& marker, const std::set<topic_partition>& partitions) {
    std::map<topic_partition, error_code> answers;
    auto snap = cluster.topics().snapshot();
    std::vector<marker_work> work;
    for (const auto& tp : partitions) {
        const topic_metadata* topic = snap->find(tp.topic).get();
        marker_work w;
        if (!locate_partition(topic, tp.partition, work.size(), w)) {
            answers[tp] = missing_partition_error(topic, tp.partition);
            continue;
        }
        w.tp = tp;
        w.offsets_topic = tp.topic == groups::offsets_topic_name;
        work.push_back(std::move(w));
    }
    const auto result = marker.commit ? protocol::txn_result::commit : protocol::txn_result::abort;
    auto write_all =
        [&cluster, &groups, marker, result](
            shard_id owner,
            std::vector<marker_work> items) -> asio::awaitable<std::vector<marker_work>> {
        for (auto& w : items) {
            partition* p = cluster.partitions_on(owner).find(w.topic_id, w.index);
            if (!p) {
                w.error = error_code::unknown_topic_or_partition;  // deleted meanwhile
                continue;
            }
            auto appended = p->append_marker(marker.producer_id, marker.producer_epoch, result,
                                             marker.coordinator_epoch);
            if (!appended.ok()) {
                w.error = appended.error;
                if (w.error == error_code::invalid_producer_epoch) {
                    server_log().warn("{}-{}: stale transaction marker for producer {} epoch {}",
                                      p->topic(), p->index(), marker.producer_id,
                                      marker.producer_epoch);
                }
                continue;
            }
            if (w.offsets_topic) {
                // Right after the marker, with no wait in between: a TxnOffsetCommit of the
                // producer's next transaction must not be settled by this marker.
                groups.on(owner).complete_transaction(w.index, marker.producer_id,
                                                      result == protocol::txn_result::commit);
            }
            if (auto ec = co_await p->acknowledged(appended, required_acks::all)) {
                w.error = map_to_kafka_error(ec);
            }
        }
        co_return items;
    };
    auto done = co_await run_on_owners(cluster.shards(), cluster.shards().at(home), std::move(work),
                                       write_all);
    for (const auto& w : done) answers[w.tp] = w.error;
    co_return answers;
}

namespace {

// WriteTxnMarkers to `leader` for `partitions`; whether every one is settled there.
asio::awaitable<bool> send_markers(broker_link_pool& links, int32_t leader,
                                   const transaction_marker& marker,
                                   const std::set<topic_partition>& partitions) {
    protocol::msg::write_txn_markers_request req;
    auto& m = req.markers.emplace_back();
    m.producer_id = marker.producer_id;
    m.producer_epoch = marker.producer_epoch;
    m.transaction_result = marker.commit;
    m.coordinator_epoch = marker.coordinator_epoch;
    for (const auto& tp : partitions) {
        if (m.topics.empty() || m.topics.back().name != tp.topic)
            m.topics.emplace_back().name = tp.topic;
        m.topics.back().partition_indexes.push_back(tp.partition);
    }
    using api = protocol::msg::api_types<27>;
    auto answer = co_await links.call<api>(leader, req, 1, marker_call_timeout);
    if (!answer) {
        server_log().warn("transaction markers for producer {}: broker {} not reached: {}",
                          marker.producer_id, leader, answer.error().message());
        co_return false;
    }
    size_t answered = 0;
    bool all = true;
    for (const auto& result : answer->markers) {
        for (const auto& t : result.topics) {
            for (const auto& p : t.partitions) {
                ++answered;
                const auto e = static_cast<error_code>(p.error_code);
                if (settled(e)) continue;
                all = false;
                server_log().warn("transaction marker for producer {} at {}-{} (broker {}): {}",
                                  marker.producer_id, t.name, p.partition_index, leader,
                                  protocol::error_name(e));
            }
        }
    }
    const bool every_one_answered = answered == partitions.size();
    co_return all&& every_one_answered;
}

}  // namespace

asio::awaitable<std::error_code> write_transaction_markers(cluster_context& cluster,
                                                           groups::coordinator_set& groups,
                                                           broker_link_pool& links, shard_id home,
                                                           transaction_marker marker,
                                                           std::set<topic_partition> partitions) {
    // Where each partition's marker goes now; those of deleted topics nowhere.
    auto snap = cluster.topics().snapshot();
    std::set<topic_partition> here;
    std::map<int32_t, std::set<topic_partition>> elsewhere;  // by leader
    bool leaderless = false;
    for (const auto& tp : partitions) {
        auto topic = snap->find(tp.topic);
        if (!topic || tp.partition < 0 || tp.partition >= topic->partition_count()) {
            server_log().info("transaction marker for {}-{} skipped: the partition is gone",
                              tp.topic, tp.partition);
            continue;
        }
        const auto& placement = topic->partitions[static_cast<size_t>(tp.partition)];
        if (!topic->in_cluster || (placement.hosted && placement.leading)) {
            here.insert(tp);
        } else if (placement.leader >= 0 && placement.leader != cluster.node_id()) {
            elsewhere[placement.leader].insert(tp);
        } else {
            leaderless = true;  // no leader now (or not taken up here yet): later
        }
    }
    bool all = !leaderless;
    if (!here.empty()) {
        auto answers = co_await write_markers_here(cluster, groups, home, marker, here);
        for (const auto& [tp, e] : answers) {
            if (settled(e)) continue;
            if (e == error_code::unknown_topic_or_partition &&
                !cluster.topics().snapshot()->find(tp.topic)) {
                continue;  // deleted meanwhile
            }
            all = false;
            server_log().error("cannot write a transaction marker for producer {} to {}-{}: {}",
                               marker.producer_id, tp.topic, tp.partition, protocol::error_name(e));
        }
    }
    for (const auto& [leader, tps] : elsewhere) {
        if (!co_await send_markers(links, leader, marker, tps)) all = false;
    }
    co_return all ? std::error_code{} : not_settled();
}

}  // namespace runnel::server::transactions
