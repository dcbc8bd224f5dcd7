// DescribeGroups (15): state, protocol and members of classic groups. An unknown group is
// described as "Dead" with no error, as Kafka does.
#include "protocol/messages/describe_groups.h"

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

using described_group = describe_groups_response::described_group;

asio::awaitable<std::optional<describe_groups_response>> handle(request_context& ctx,
                                                                describe_groups_request req) {
    broker& b = ctx.owner;
    describe_groups_response resp;
    for (const auto& id : req.groups) {
        auto describe = [id](groups::group_coordinator& c,
                             int32_t partition) -> asio::awaitable<described_group> {
            co_return c.describe_group(partition, id);
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

void register_describe_groups(dispatch& d) { d.add<api_types<15>>(handle); }

}  // namespace runnel::server
