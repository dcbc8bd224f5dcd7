// OffsetFetch (9): a group's committed offsets; -1 and empty metadata where nothing is committed.
// v0-7 ask for one group (null topics = every committed partition, v2+); v8+ for several groups
// (KIP-709). RequireStable (v7+, KIP-447): partitions an open transaction commits offsets to
// answer UNSTABLE_OFFSET_COMMIT, which read_committed consumers retry.
#include "protocol/messages/offset_fetch.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

using request_group = offset_fetch_request::offset_fetch_request_group;
using response_group = offset_fetch_response::offset_fetch_response_group;

asio::awaitable<response_group> fetch_group(kafka_services& b, request_group g,
                                            bool require_stable) {
    const std::string group_id = g.group_id;
    auto fetch = [group = std::move(g), require_stable](
                     groups::group_coordinator& c,
                     int32_t partition) -> asio::awaitable<response_group> {
        // KIP-848 consumer groups (v9+): a member's fetch must carry its current member epoch;
        // without member id and epoch (admin clients) it is accepted.
        if (group.member_id || group.member_epoch >= 0) {
            const auto e = c.check_consumer_member(
                partition, group.group_id, group.member_id.value_or(""), group.member_epoch);
            if (e != error_code::none) {
                response_group failed;
                failed.group_id = group.group_id;
                failed.error_code = to_wire(e);
                co_return failed;
            }
        }
        co_return c.fetch_offsets(partition, group.group_id, group.topics, require_stable);
    };
    auto r = co_await groups::call_coordinator<response_group>(b.groups(), group_id, fetch);
    if (r.error != error_code::none) {
        response_group failed;
        failed.group_id = group_id;
        failed.error_code = to_wire(r.error);
        co_return failed;
    }
    co_return std::move(r.value);
}

asio::awaitable<std::optional<offset_fetch_response>> handle(request_context& ctx,
                                                             offset_fetch_request req) {
    kafka_services& b = ctx.services;
    offset_fetch_response resp;
    if (ctx.api_version >= 8) {
        for (auto& g : req.groups) {
            resp.groups.push_back(co_await fetch_group(b, std::move(g), req.require_stable));
        }
        co_return resp;
    }
    request_group g;
    g.group_id = req.group_id;
    if (req.topics) {
        g.topics.emplace();
        for (auto& t : *req.topics) g.topics->push_back({t.name, t.partition_indexes, {}});
    }
    response_group out = co_await fetch_group(b, std::move(g), req.require_stable);
    resp.error_code = out.error_code;
    if (ctx.api_version < 2 && out.error_code != 0 && req.topics) {
        // No top-level error code before v2: every requested partition carries it.
        for (const auto& t : *req.topics) {
            auto& rt = resp.topics.emplace_back();
            rt.name = t.name;
            for (int32_t p : t.partition_indexes) {
                rt.partitions.push_back({p, -1, -1, std::string(), out.error_code, {}});
            }
        }
        co_return resp;
    }
    for (auto& t : out.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = std::move(t.name);
        for (auto& p : t.partitions) {
            rt.partitions.push_back({p.partition_index,
                                     p.committed_offset,
                                     p.committed_leader_epoch,
                                     std::move(p.metadata),
                                     p.error_code,
                                     {}});
        }
    }
    co_return resp;
}

}  // namespace

void register_offset_fetch(dispatch& d) { d.add<api_types<9>>(handle); }

}  // namespace runnel::server
