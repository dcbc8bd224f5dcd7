// LeaveGroup (13): members leave a classic group (v0-2 one member, v3+ a batch, KIP-345 static
// members by instance id).
#include "protocol/messages/leave_group.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<leave_group_response>> handle(request_context& ctx,
                                                            leave_group_request req) {
    kafka_services& b = ctx.services;
    if (ctx.api_version < 3) {
        req.members.clear();
        req.members.push_back({req.member_id, std::nullopt, std::nullopt, {}});
    }
    leave_group_response resp;
    if (req.group_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_group_id);
    } else {
        const std::string group_id = req.group_id;
        auto leave = [request = std::move(req)](groups::group_coordinator& c, int32_t partition)
            -> asio::awaitable<leave_group_response> { co_return c.leave(partition, request); };
        auto r =
            co_await groups::call_coordinator<leave_group_response>(b.groups(), group_id, leave);
        if (r.error != error_code::none) {
            resp.error_code = to_wire(r.error);
        } else {
            resp = std::move(r.value);
        }
    }
    if (ctx.api_version < 3) {
        // One member: its error becomes the response's.
        if (resp.error_code == 0 && !resp.members.empty()) {
            resp.error_code = resp.members.front().error_code;
        }
        resp.members.clear();
    }
    co_return resp;
}

}  // namespace

void register_leave_group(dispatch& d) { d.add<api_types<13>>(handle); }

}  // namespace runnel::server
