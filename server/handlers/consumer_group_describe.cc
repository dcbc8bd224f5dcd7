// ConsumerGroupDescribe (69): KIP-848 consumer groups with their members, current and target
// assignments, epochs and assignor.
#include "protocol/messages/consumer_group_describe.h"

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

using described_group = consumer_group_describe_response::described_group;

asio::awaitable<std::optional<consumer_group_describe_response>> handle(
    request_context& ctx, consumer_group_describe_request req) {
    broker& b = ctx.owner;
    consumer_group_describe_response resp;
    for (const auto& id : req.group_ids) {
        if (id.empty()) {
            described_group failed;
            failed.group_id = id;
            failed.error_code = to_wire(error_code::invalid_group_id);
            resp.groups.push_back(std::move(failed));
            continue;
        }
        auto describe = [id](groups::group_coordinator& c,
                             int32_t partition) -> asio::awaitable<described_group> {
            co_return c.consumer_describe(partition, id);
        };
        auto r = co_await groups::call_coordinator<described_group>(b, id, describe);
        if (r.error != error_code::none) {
            described_group failed;
            failed.group_id = id;
            failed.error_code = to_wire(r.error);
            resp.groups.push_back(std::move(failed));
            continue;
        }
        // Authorized operations are only reported with an authorizer; none is configured.
        resp.groups.push_back(std::move(r.value));
    }
    co_return resp;
}

}  // namespace

void register_consumer_group_describe(dispatch& d) { d.add<api_types<69>>(handle); }

}  // namespace runnel::server
