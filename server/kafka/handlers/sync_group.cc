// SyncGroup (14): the leader sends the assignment, every member receives its own. Followers'
// requests park on the coordinator shard until the leader's assignment is stored.
#include "protocol/messages/sync_group.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<sync_group_response>> handle(request_context& ctx,
                                                           sync_group_request req) {
    kafka_services& b = ctx.services;
    sync_group_response resp;
    if (ctx.api_version >= 5 && (!req.protocol_type || !req.protocol_name)) {
        // From v5 the protocol type and name are mandatory.
        resp.error_code = to_wire(error_code::inconsistent_group_protocol);
        co_return resp;
    }
    if (req.group_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_group_id);
        co_return resp;
    }
    const std::string group_id = req.group_id;
    auto sync = [request = std::move(req)](
                    groups::group_coordinator& c,
                    int32_t partition) -> asio::awaitable<sync_group_response> {
        auto done = std::make_shared<groups::oneshot<sync_group_response>>(
            co_await asio::this_coro::executor);
        c.sync(partition, request, [done](sync_group_response r) { done->set(std::move(r)); });
        co_return co_await done->wait();
    };
    auto r = co_await groups::call_coordinator<sync_group_response>(b.groups(), group_id, sync);
    if (r.error != error_code::none) {
        resp.error_code = to_wire(r.error);
    } else {
        resp = std::move(r.value);
    }
    co_return resp;
}

}  // namespace

void register_sync_group(dispatch& d) { d.add<api_types<14>>(handle); }

}  // namespace runnel::server
