// JoinGroup (11): the classic group protocol's join phase. The request parks on the group's
// coordinator shard until the rebalance completes (or fails), then answers; the leader gets every
// member's metadata.
#include "protocol/messages/join_group.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<join_group_response>> handle(request_context& ctx,
                                                           join_group_request req) {
    kafka_services& b = ctx.services;
    groups::join_params p;
    p.group_id = req.group_id;
    p.member_id = req.member_id;
    p.instance_id = req.group_instance_id;
    p.protocol_type = req.protocol_type;
    for (auto& proto : req.protocols) {
        p.protocols.push_back({std::move(proto.name), std::move(proto.metadata)});
    }
    p.session_timeout_ms = req.session_timeout_ms;
    // v0 has no rebalance timeout: the session timeout serves as both.
    p.rebalance_timeout_ms =
        ctx.api_version == 0 ? req.session_timeout_ms : req.rebalance_timeout_ms;
    p.client_id = ctx.client_id.value_or("");
    p.client_host = groups::client_host_of(ctx.peer);
    p.api_version = ctx.api_version;
    p.reason = req.reason.value_or("not provided");

    join_group_response resp;
    resp.member_id = req.member_id;
    resp.protocol_name = std::nullopt;
    const auto& cfg = b.config();
    if (req.group_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_group_id);
    } else if (req.session_timeout_ms < cfg.group_min_session_timeout_ms ||
               req.session_timeout_ms > cfg.group_max_session_timeout_ms) {
        resp.error_code = to_wire(error_code::invalid_session_timeout);
    } else {
        auto join = [params = std::move(p)](
                        groups::group_coordinator& c,
                        int32_t partition) mutable -> asio::awaitable<join_group_response> {
            auto done = std::make_shared<groups::oneshot<join_group_response>>(
                co_await asio::this_coro::executor);
            c.join(partition, std::move(params),
                   [done](join_group_response r) { done->set(std::move(r)); });
            co_return co_await done->wait();
        };
        auto r =
            co_await groups::call_coordinator<join_group_response>(b.groups(), req.group_id, join);
        if (r.error != error_code::none) {
            resp.error_code = to_wire(r.error);
        } else {
            resp = std::move(r.value);
        }
    }
    // Up to v6 the protocol name is a non-null string; from v7 an empty name is sent as null.
    if (ctx.api_version >= 7 && resp.protocol_name && resp.protocol_name->empty()) {
        resp.protocol_name.reset();
    }
    co_return resp;
}

}  // namespace

void register_join_group(dispatch& d) { d.add<api_types<11>>(handle); }

}  // namespace runnel::server
