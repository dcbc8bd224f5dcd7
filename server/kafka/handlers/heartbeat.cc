// Heartbeat (12): keeps a classic group member's session alive; REBALANCE_IN_PROGRESS tells it
// to rejoin.
#include "protocol/messages/heartbeat.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<heartbeat_response>> handle(request_context& ctx,
                                                          heartbeat_request req) {
    kafka_services& b = ctx.services;
    heartbeat_response resp;
    if (req.group_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_group_id);
        co_return resp;
    }
    const std::string group_id = req.group_id;
    auto beat = [request = std::move(req)](groups::group_coordinator& c,
                                           int32_t partition) -> asio::awaitable<error_code> {
        co_return c.heartbeat(partition, request);
    };
    auto r = co_await groups::call_coordinator<error_code>(b.groups(), group_id, beat);
    // As in Kafka, a heartbeat for a group still loading is answered with NONE.
    if (r.error == error_code::coordinator_load_in_progress) r.error = error_code::none;
    resp.error_code = to_wire(r.error != error_code::none ? r.error : r.value);
    co_return resp;
}

}  // namespace

void register_heartbeat(dispatch& d) { d.add<api_types<12>>(handle); }

}  // namespace runnel::server
