// ListOffsets (2): the earliest, latest, max-timestamp offset, or the first offset whose
// timestamp is at or after a target, per partition; looked up on the owner shard. As in Kafka,
// isolation_level=1 (read_committed) answers latest with the last stable offset, and a
// max-timestamp or timestamp lookup finding an offset at or past it with no offset (-1); earliest
// is the log start offset either way.
#include "protocol/messages/list_offsets.h"

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "server/cluster/error_mapping.h"
#include "server/cluster/partition_work.h"
#include "server/core/cross_shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

// Special timestamps of ListOffsets (KIP-79, KIP-734, KIP-405, KIP-1005).
constexpr int64_t latest_timestamp = -1;
constexpr int64_t earliest_timestamp = -2;
constexpr int64_t max_timestamp = -3;
constexpr int64_t earliest_local_timestamp = -4;
constexpr int64_t latest_tiered_timestamp = -5;

struct offset_lookup : partition_work {
    int64_t target = 0;
    bool read_committed = false;

    error_code error = error_code::none;
    int64_t offset = -1;
    int64_t timestamp = -1;
    int32_t found_epoch = -1;        // the leader epoch the found offset was written in
    std::vector<int64_t> old_style;  // v0
};

// The first record in `batch` satisfying `pick` (offset, timestamp), or nothing.
template <class Pick>
std::optional<std::pair<int64_t, int64_t>> first_record(const std::vector<uint8_t>& batch,
                                                        Pick pick) {
    std::optional<std::pair<int64_t, int64_t>> found;
    std::vector<uint8_t> scratch;
    protocol::for_each_record(
        batch,
        [&](const protocol::record& r) {
            if (!pick(r.timestamp)) return true;
            found = std::pair(r.offset, r.timestamp);
            return false;
        },
        &scratch);
    return found;
}

void look_up(kafka_services& b, shard_id owner, offset_lookup& q) {
    partition* p = b.partitions_on(owner).find(q.topic_id, q.index);
    if (!p) {
        q.error = error_code::unknown_topic_or_partition;
        return;
    }
    auto& log = p->log();
    // Kafka's lastFetchableOffset: what a consumer of this isolation level may read up to.
    const int64_t fetchable_end =
        p->readable_end(q.read_committed ? fetch_bound::last_stable : fetch_bound::high_watermark);
    switch (q.target) {
        case latest_timestamp:
            q.offset = fetchable_end;
            q.found_epoch = q.leader_epoch;
            return;
        case earliest_timestamp:
        case earliest_local_timestamp:
            q.offset = log.log_start_offset();
            q.found_epoch = q.leader_epoch;
            return;
        case latest_tiered_timestamp:
            return;  // no tiered storage: offset -1
        case max_timestamp: {
            auto found = log.max_timestamp_batch();
            if (!found) {
                q.error = map_to_kafka_error(found.error());
                return;
            }
            if (!*found) return;
            const auto& batch = **found;
            auto rec =
                first_record(*batch.batch, [&](int64_t ts) { return ts == batch.max_timestamp; });
            if (rec && rec->first < fetchable_end) {
                q.offset = rec->first;
                q.timestamp = rec->second;
                q.found_epoch = q.leader_epoch;
            }
            return;
        }
        default:
            break;
    }
    if (q.target < 0) {
        q.error = error_code::invalid_request;
        return;
    }
    auto found = log.find_batch_by_timestamp(q.target);
    if (!found) {
        q.error = map_to_kafka_error(found.error());
        return;
    }
    if (!*found) return;  // nothing at or after the target: offset -1, timestamp -1
    // The batch may begin below the log start offset (after DeleteRecords); skip those records.
    const int64_t start = log.log_start_offset();
    std::optional<std::pair<int64_t, int64_t>> rec;
    std::vector<uint8_t> scratch;
    protocol::for_each_record(
        *(*found)->batch,
        [&](const protocol::record& r) {
            if (r.offset < start || r.timestamp < q.target) return true;
            rec = std::pair(r.offset, r.timestamp);
            return false;
        },
        &scratch);
    if (rec && rec->first < fetchable_end) {
        q.offset = rec->first;
        q.timestamp = rec->second;
        q.found_epoch = q.leader_epoch;
    }
}

asio::awaitable<std::optional<list_offsets_response>> handle(request_context& ctx,
                                                             list_offsets_request req) {
    kafka_services& b = ctx.services;
    list_offsets_response resp;
    auto snap = b.topics().snapshot();
    std::vector<offset_lookup> work;
    for (size_t ti = 0; ti < req.topics.size(); ++ti) {
        auto& rt = req.topics[ti];
        auto& tr = resp.topics.emplace_back();
        tr.name = rt.name;
        auto topic = snap->find(rt.name);
        for (auto& rp : rt.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = rp.partition_index;
            offset_lookup q;
            if (!locate_partition(topic.get(), rp.partition_index,
                                  make_slot(ti, tr.partitions.size() - 1), q)) {
                pr.error_code = to_wire(missing_partition_error(topic.get(), rp.partition_index));
                continue;
            }
            if (auto fenced = leader_epoch_check(q, rp.current_leader_epoch);
                fenced != error_code::none) {
                pr.error_code = to_wire(fenced);
                continue;
            }
            // The special timestamps came with versions: max timestamp in v7 (KIP-734), earliest
            // local in v8 (KIP-405), latest tiered in v9 (KIP-1005). Kafka refuses them below.
            if ((rp.timestamp == max_timestamp && ctx.api_version < 7) ||
                (rp.timestamp == earliest_local_timestamp && ctx.api_version < 8) ||
                (rp.timestamp == latest_tiered_timestamp && ctx.api_version < 9)) {
                pr.error_code = to_wire(error_code::unsupported_version);
                continue;
            }
            q.target = rp.timestamp;
            q.read_committed = req.isolation_level == 1;
            work.push_back(q);
        }
    }
    auto look_up_all =
        [&b](shard_id owner,
             std::vector<offset_lookup> items) -> asio::awaitable<std::vector<offset_lookup>> {
        for (auto& q : items) look_up(b, owner, q);
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), ctx.home, std::move(work), look_up_all);
    for (auto& q : done) {
        auto& pr = resp.topics[slot_topic(q.slot)].partitions[slot_partition(q.slot)];
        pr.error_code = to_wire(q.error);
        pr.offset = q.offset;
        pr.timestamp = q.timestamp;
        pr.leader_epoch = q.found_epoch;
        // v0 answers with a list of offsets instead of one.
        if (q.error == error_code::none && q.offset >= 0) pr.old_style_offsets = {q.offset};
    }
    co_return resp;
}

}  // namespace

void register_list_offsets(dispatch& d) { d.add<api_types<2>>(handle); }

}  // namespace runnel::server
