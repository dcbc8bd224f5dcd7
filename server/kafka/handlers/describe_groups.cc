// DescribeGroups (15): state, protocol and members of classic groups. An unknown group is
// described as "Dead" with no error, as Kafka does.
#include "protocol/messages/describe_groups.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

using described_group = describe_groups_response::described_group;

asio::awaitable<std::optional<describe_groups_response>> handle(request_context& ctx,
                                                                describe_groups_request req) {
    kafka_services& b = ctx.services;
    describe_groups_response resp;
    auto describe = [](groups::group_coordinator& c, int32_t partition, const std::string& id) {
        return c.describe_group(partition, id);
    };
    resp.groups = co_await groups::describe_each<described_group>(b.groups(), req.groups, describe);
    co_return resp;
}

}  // namespace

void register_describe_groups(dispatch& d) { d.add<api_types<15>>(handle); }

}  // namespace runnel::server
