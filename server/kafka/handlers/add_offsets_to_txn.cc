// AddOffsetsToTxn (25): adds a consumer group's __consumer_offsets partition to a transaction, so
// the offsets the producer then commits with TxnOffsetCommit are committed or dropped with it
// (consume-transform-produce, KIP-98). Creates __consumer_offsets if no group has yet.
#include "protocol/messages/add_offsets_to_txn.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<error_code> add_offsets(request_context& ctx,
                                        const add_offsets_to_txn_request& req) {
    if (req.transactional_id.empty()) co_return error_code::invalid_request;
    if (auto e = co_await ctx.services.groups().ensure_topic(); e != error_code::none) co_return e;
    auto offsets = ctx.services.topics().snapshot()->find(groups::offsets_topic_name);
    if (!offsets || offsets->partition_count() == 0)
        co_return error_code::coordinator_not_available;
    const std::set<transactions::topic_partition> partitions{
        {std::string(groups::offsets_topic_name),
         groups::partition_for_group(req.group_id, offsets->partition_count())}};
    auto add = [&](transactions::transaction_coordinator& c,
                   int32_t partition) -> asio::awaitable<error_code> {
        co_return co_await c.add_partitions(partition, req.transactional_id, req.producer_id,
                                            req.producer_epoch, partitions);
    };
    auto r = co_await transactions::call_transaction_coordinator<error_code>(
        ctx.services.transactions(), req.transactional_id, add);
    co_return r.error != error_code::none ? r.error : r.value;
}

asio::awaitable<std::optional<add_offsets_to_txn_response>> handle(request_context& ctx,
                                                                   add_offsets_to_txn_request req) {
    add_offsets_to_txn_response resp;
    const error_code e = co_await add_offsets(ctx, req);
    resp.error_code = to_wire(transactions::fenced_for_version(e, ctx.api_version, 2));
    co_return resp;
}

}  // namespace

void register_add_offsets_to_txn(dispatch& d) { d.add<api_types<25>>(handle); }

}  // namespace runnel::server
