// OffsetForLeaderEpoch (23): the end offset of a leader epoch in the partition's log, as Kafka's
// LeaderEpochFileCache.endOffsetFor answers it. Consumers ask after a leader change, with the
// epoch of the last record they consumed, to learn whether their position survived it (KIP-320:
// librdkafka and the Java consumer's position validation).
#include "protocol/messages/offset_for_leader_epoch.h"

#include "protocol/errors.h"
#include "server/cluster/partition_work.h"
#include "server/core/cross_shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

struct epoch_lookup : partition_work {
    int32_t requested_epoch = -1;

    error_code error = error_code::none;
    int32_t end_epoch = -1;
    int64_t end_offset = -1;
};

// From the log's leader epochs (leader-epoch-checkpoint, Kafka's LeaderEpochFileCache): the
// latest epoch ends at the log end; an older one at the start of the next epoch, answered with
// the epoch itself or the latest before it; an unknown one with -1 and -1. A single node's log,
// which records no epochs, answers its current epoch only.
void look_up(kafka_services& b, shard_id owner, epoch_lookup& q) {
    partition* p = b.partitions_on(owner).find(q.topic_id, q.index);
    if (!p) {
        q.error = error_code::unknown_topic_or_partition;
        return;
    }
    if (!p->leads()) {
        q.error = error_code::not_leader_or_follower;
        return;
    }
    const auto end = p->log().end_offset_for(q.requested_epoch);
    q.end_epoch = end.epoch;
    q.end_offset = end.end_offset;
}

asio::awaitable<std::optional<offset_for_leader_epoch_response>> handle(
    request_context& ctx, offset_for_leader_epoch_request req) {
    kafka_services& b = ctx.services;
    offset_for_leader_epoch_response resp;
    auto snap = b.topics().snapshot();
    std::vector<epoch_lookup> work;
    for (size_t ti = 0; ti < req.topics.size(); ++ti) {
        auto& rt = req.topics[ti];
        auto& tr = resp.topics.emplace_back();
        tr.topic = rt.topic;
        auto topic = snap->find(rt.topic);
        for (auto& rp : rt.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition = rp.partition;
            epoch_lookup q;
            if (!locate_partition(topic.get(), rp.partition,
                                  make_slot(ti, tr.partitions.size() - 1), q)) {
                pr.error_code = to_wire(missing_partition_error(topic.get(), rp.partition));
                continue;
            }
            if (auto fenced = leader_epoch_check(q, rp.current_leader_epoch);
                fenced != error_code::none) {
                pr.error_code = to_wire(fenced);
                continue;
            }
            q.requested_epoch = rp.leader_epoch;
            work.push_back(q);
        }
    }
    auto look_up_all =
        [&b](shard_id owner,
             std::vector<epoch_lookup> items) -> asio::awaitable<std::vector<epoch_lookup>> {
        for (auto& q : items) look_up(b, owner, q);
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), ctx.home, std::move(work), look_up_all);
    for (auto& q : done) {
        auto& pr = resp.topics[slot_topic(q.slot)].partitions[slot_partition(q.slot)];
        pr.error_code = to_wire(q.error);
        pr.leader_epoch = q.end_epoch;
        pr.end_offset = q.end_offset;
    }
    co_return resp;
}

}  // namespace

void register_offset_for_leader_epoch(dispatch& d) { d.add<api_types<23>>(handle); }

}  // namespace runnel::server
