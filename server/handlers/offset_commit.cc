// OffsetCommit (8): stores a group's committed offsets in __consumer_offsets before answering.
// Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest go to the coordinator.
#include "protocol/messages/offset_commit.h"

#include "protocol/errors.h"
#include "server/broker.h"
#include "server/dispatch.h"
#include "server/groups/coordinator_call.h"
#include "server/handlers/handlers.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<offset_commit_response>> handle(request_context& ctx,
                                                              offset_commit_request req) {
    broker& b = ctx.owner;
    offset_commit_response resp;
    auto snap = b.topics().snapshot();
    // The partitions that exist, with their place in the response.
    offset_commit_request known;
    known.group_id = req.group_id;
    known.generation_id_or_member_epoch = req.generation_id_or_member_epoch;
    known.member_id = req.member_id;
    known.group_instance_id = req.group_instance_id;
    known.retention_time_ms = req.retention_time_ms;
    std::vector<std::vector<std::pair<size_t, size_t>>> places;  // per known topic
    for (auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        auto topic = snap->find(t.name);
        offset_commit_request::offset_commit_request_topic kt;
        kt.name = t.name;
        std::vector<std::pair<size_t, size_t>> where;
        for (auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            if (!topic || p.partition_index < 0 || p.partition_index >= topic->partition_count()) {
                rp.error_code = to_wire(error_code::unknown_topic_or_partition);
                continue;
            }
            where.emplace_back(resp.topics.size() - 1, rt.partitions.size() - 1);
            kt.partitions.push_back(std::move(p));
        }
        if (!kt.partitions.empty()) {
            known.topics.push_back(std::move(kt));
            places.push_back(std::move(where));
        }
    }
    if (known.topics.empty()) co_return resp;

    const int16_t version = ctx.api_version;
    auto commit = [request = std::move(known), version](
                      groups::group_coordinator& c,
                      int32_t partition) -> asio::awaitable<offset_commit_response> {
        co_return c.commit_offsets(partition, request, version);
    };
    auto r = co_await groups::call_coordinator<offset_commit_response>(b, req.group_id, commit);
    for (size_t ti = 0; ti < places.size(); ++ti) {
        for (size_t pi = 0; pi < places[ti].size(); ++pi) {
            auto [t, p] = places[ti][pi];
            int16_t e = to_wire(r.error);
            if (r.error == error_code::none && ti < r.value.topics.size() &&
                pi < r.value.topics[ti].partitions.size()) {
                e = r.value.topics[ti].partitions[pi].error_code;
            }
            resp.topics[t].partitions[p].error_code = e;
        }
    }
    co_return resp;
}

}  // namespace

void register_offset_commit(dispatch& d) { d.add<api_types<8>>(handle); }

}  // namespace runnel::server
