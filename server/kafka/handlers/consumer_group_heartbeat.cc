// ConsumerGroupHeartbeat (68): the KIP-848 consumer group protocol. Joins, keeps alive,
// reconciles and leaves a member of a consumer group; runs on the group's coordinator shard.
#include "protocol/messages/consumer_group_heartbeat.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<consumer_group_heartbeat_response>> handle(
    request_context& ctx, consumer_group_heartbeat_request req) {
    kafka_services& b = ctx.services;
    consumer_group_heartbeat_response resp;
    // Kafka checks the request's shape first (throwIfConsumerGroupHeartbeatRequestIsInvalid):
    // an empty group id is an invalid request here, not an invalid group id.
    if (req.group_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_request);
        resp.error_message = "GroupId can't be empty.";
        co_return resp;
    }
    groups::consumer_heartbeat_context hc;
    hc.api_version = ctx.api_version;
    hc.client_id = ctx.client_id.value_or("");
    hc.client_host = groups::client_host_of(ctx.peer);
    auto snap = b.topics().snapshot();
    hc.topics = [snap](const std::string& name) -> std::optional<groups::consumer_topic_info> {
        auto t = snap->find(name);
        if (!t) return std::nullopt;
        return groups::consumer_topic_info{t->id, t->partition_count()};
    };
    // A regex never matches internal topics (__consumer_offsets, __transaction_state), as the
    // Java consumer's pattern subscription leaves them out by default.
    hc.topic_names.version = snap->names_version;
    hc.topic_names.names = [snap] {
        std::vector<std::string> names;
        names.reserve(snap->by_name.size());
        for (const auto& [name, t] : snap->by_name) {
            if (!t->internal) names.push_back(name);
        }
        return names;
    };
    const std::string group_id = req.group_id;
    auto beat = [request = std::move(req), hc = std::move(hc)](
                    groups::group_coordinator& c,
                    int32_t partition) -> asio::awaitable<consumer_group_heartbeat_response> {
        co_return c.consumer_heartbeat(partition, request, hc);
    };
    auto r = co_await groups::call_coordinator<consumer_group_heartbeat_response>(b.groups(),
                                                                                  group_id, beat);
    if (r.error != error_code::none) {
        resp.error_code = to_wire(r.error);
        co_return resp;
    }
    co_return std::move(r.value);
}

}  // namespace

void register_consumer_group_heartbeat(dispatch& d) { d.add<api_types<68>>(handle); }

}  // namespace runnel::server
