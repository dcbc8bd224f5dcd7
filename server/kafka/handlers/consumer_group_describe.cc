// ConsumerGroupDescribe (69): KIP-848 consumer groups with their members, current and target
// assignments, epochs and assignor.
#include "protocol/messages/consumer_group_describe.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

using described_group = consumer_group_describe_response::described_group;

asio::awaitable<std::optional<consumer_group_describe_response>> handle(
    request_context& ctx, consumer_group_describe_request req) {
    kafka_services& b = ctx.services;
    consumer_group_describe_response resp;
    // An empty group id is refused before any coordinator is asked.
    std::vector<std::string> ids;
    for (const auto& id : req.group_ids) {
        if (!id.empty()) ids.push_back(id);
    }
    auto describe = [](groups::group_coordinator& c, int32_t partition, const std::string& id) {
        return c.consumer_describe(partition, id);
    };
    auto described = co_await groups::describe_each<described_group>(b.groups(), ids, describe);
    size_t next = 0;
    for (const auto& id : req.group_ids) {
        if (!id.empty()) {
            resp.groups.push_back(std::move(described[next++]));
            continue;
        }
        described_group failed;
        failed.group_id = id;
        failed.error_code = to_wire(error_code::invalid_group_id);
        resp.groups.push_back(std::move(failed));
    }
    co_return resp;
}

}  // namespace

void register_consumer_group_describe(dispatch& d) { d.add<api_types<69>>(handle); }

}  // namespace runnel::server
