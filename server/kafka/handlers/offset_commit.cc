// OffsetCommit (8): stores a group's committed offsets in __consumer_offsets before answering.
// Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; the rest go to the coordinator.
#include "protocol/messages/offset_commit.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/handlers/commit_partitions.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
namespace {

asio::awaitable<std::optional<offset_commit_response>> handle(request_context& ctx,
                                                              offset_commit_request req) {
    kafka_services& b = ctx.services;
    offset_commit_response resp;
    auto known = split_known(*b.topics().snapshot(), req.topics, resp.topics);
    if (known.topics.empty()) co_return resp;

    const std::string group_id = req.group_id;
    offset_commit_request sent = std::move(req);
    sent.topics = std::move(known.topics);
    const int16_t version = ctx.api_version;
    auto commit = [request = std::move(sent), version](
                      groups::group_coordinator& c,
                      int32_t partition) -> asio::awaitable<offset_commit_response> {
        co_return c.commit_offsets(partition, request, version);
    };
    auto r =
        co_await groups::call_coordinator<offset_commit_response>(b.groups(), group_id, commit);
    merge_answers(known, r.error, r.value.topics, resp.topics);
    co_return resp;
}

}  // namespace

void register_offset_commit(dispatch& d) { d.add<api_types<8>>(handle); }

}  // namespace runnel::server
