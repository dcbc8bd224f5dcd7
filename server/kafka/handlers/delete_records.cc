// DeleteRecords (21): moves a partition's log start offset forward; whole segments below it are
// deleted and reads below it answer OFFSET_OUT_OF_RANGE. Offset -1 means the high watermark.
#include "protocol/messages/delete_records.h"

#include "protocol/errors.h"
#include "server/cluster/error_mapping.h"
#include "server/cluster/partition_work.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

struct records_deletion : partition_work {
    int64_t offset = 0;

    error_code error = error_code::none;
    int64_t low_watermark = -1;
};

void delete_one(kafka_services& b, shard_id owner, records_deletion& d) {
    partition* p = b.partitions_on(owner).find(d.topic_id, d.index);
    if (!p) {
        d.error = error_code::unknown_topic_or_partition;
        return;
    }
    // Kafka deletes up to the high watermark at most (-1: up to it).
    const int64_t target = d.offset == -1 ? p->high_watermark() : d.offset;
    if (target > p->high_watermark()) {
        d.error = error_code::offset_out_of_range;
        return;
    }
    auto moved = p->delete_records_before(target);
    if (!moved) {
        d.error = map_to_kafka_error(moved.error());
        return;
    }
    d.low_watermark = *moved;
    server_log().info("DeleteRecords: log start offset of {}-{} is now {}", p->topic(), p->index(),
                      d.low_watermark);
}

asio::awaitable<std::optional<delete_records_response>> handle(request_context& ctx,
                                                               delete_records_request req) {
    kafka_services& b = ctx.services;
    delete_records_response resp;
    auto snap = b.topics().snapshot();
    std::vector<records_deletion> work;
    for (size_t ti = 0; ti < req.topics.size(); ++ti) {
        auto& rt = req.topics[ti];
        auto& tr = resp.topics.emplace_back();
        tr.name = rt.name;
        auto topic = snap->find(rt.name);
        for (auto& rp : rt.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = rp.partition_index;
            pr.low_watermark = -1;
            records_deletion d;
            if (!locate_partition(topic.get(), rp.partition_index,
                                  make_slot(ti, tr.partitions.size() - 1), d)) {
                pr.error_code = to_wire(missing_partition_error(topic.get(), rp.partition_index));
                continue;
            }
            if (rp.offset < -1) {
                pr.error_code = to_wire(error_code::offset_out_of_range);
                continue;
            }
            d.offset = rp.offset;
            work.push_back(d);
        }
    }
    auto delete_all = [&b](shard_id owner, std::vector<records_deletion> items)
        -> asio::awaitable<std::vector<records_deletion>> {
        for (auto& d : items) delete_one(b, owner, d);
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), ctx.home, std::move(work), delete_all);
    for (auto& d : done) {
        auto& pr = resp.topics[slot_topic(d.slot)].partitions[slot_partition(d.slot)];
        pr.error_code = to_wire(d.error);
        pr.low_watermark = d.low_watermark;
    }
    co_return resp;
}

}  // namespace

void register_delete_records(dispatch& d) { d.add<api_types<21>>(handle); }

}  // namespace runnel::server
