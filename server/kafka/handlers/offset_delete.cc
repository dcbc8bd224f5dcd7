// OffsetDelete (47): drops committed offsets of a group (KIP-496). Refused per partition with
// GROUP_SUBSCRIBED_TO_TOPIC while the group's consumers subscribe to the topic, and for the whole
// group with NON_EMPTY_GROUP when it has members but is not a consumer-protocol group.
#include "protocol/messages/offset_delete.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<offset_delete_response>> handle(request_context& ctx,
                                                              offset_delete_request req) {
    kafka_services& b = ctx.services;
    offset_delete_response resp;
    if (req.group_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_group_id);
        co_return resp;
    }
    auto snap = b.topics().snapshot();
    offset_delete_request known;
    known.group_id = req.group_id;
    for (const auto& t : req.topics) {
        auto topic = snap->find(t.name);
        offset_delete_request::offset_delete_request_topic kt;
        kt.name = t.name;
        offset_delete_response::offset_delete_response_topic unknown;
        unknown.name = t.name;
        for (const auto& p : t.partitions) {
            if (topic && p.partition_index >= 0 && p.partition_index < topic->partition_count()) {
                kt.partitions.push_back(p);
            } else {
                unknown.partitions.push_back(
                    {p.partition_index, to_wire(error_code::unknown_topic_or_partition), {}});
            }
        }
        if (!unknown.partitions.empty()) resp.topics.push_back(std::move(unknown));
        if (!kt.partitions.empty()) known.topics.push_back(std::move(kt));
    }
    auto remove = [request = std::move(known)](
                      groups::group_coordinator& c,
                      int32_t partition) -> asio::awaitable<offset_delete_response> {
        co_return c.delete_offsets(partition, request);
    };
    auto r =
        co_await groups::call_coordinator<offset_delete_response>(b.groups(), req.group_id, remove);
    const error_code e =
        r.error != error_code::none ? r.error : static_cast<error_code>(r.value.error_code);
    if (e != error_code::none) {
        // A group-level error answers the whole request.
        offset_delete_response failed;
        failed.error_code = to_wire(e);
        co_return failed;
    }
    for (auto& t : r.value.topics) resp.topics.push_back(std::move(t));
    co_return resp;
}

}  // namespace

void register_offset_delete(dispatch& d) { d.add<api_types<47>>(handle); }

}  // namespace runnel::server
