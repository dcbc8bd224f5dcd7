// DescribeTransactions (65, KIP-664): each transactional id's state as its coordinator holds it.
#include "protocol/messages/describe_transactions.h"

#include "protocol/errors.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;
using described = describe_transactions_response::transaction_state_entry;

namespace {

described describe(const transactions::transaction_metadata* m) {
    described d;
    if (!m || m->status == transactions::txn_status::dead) {
        d.error_code = to_wire(error_code::transactional_id_not_found);
        return d;
    }
    d.transaction_state = transactions::status_name(m->status);
    d.transaction_timeout_ms = m->timeout_ms;
    d.transaction_start_time_ms = m->start_ms;
    d.producer_id = m->producer_id;
    d.producer_epoch = m->producer_epoch;
    for (const auto& tp : m->partitions) {
        if (d.topics.empty() || d.topics.back().topic != tp.topic)
            d.topics.emplace_back().topic = tp.topic;
        d.topics.back().partitions.push_back(tp.partition);
    }
    return d;
}

asio::awaitable<std::optional<describe_transactions_response>> handle(
    request_context& ctx, describe_transactions_request req) {
    describe_transactions_response resp;
    for (const auto& id : req.transactional_ids) {
        auto one = [&id](transactions::transaction_coordinator& c,
                         int32_t) -> asio::awaitable<described> { co_return describe(c.find(id)); };
        auto r = co_await transactions::call_transaction_coordinator<described>(
            ctx.services.transactions(), id, one);
        described d = std::move(r.value);
        if (r.error != error_code::none) d.error_code = to_wire(r.error);
        d.transactional_id = id;
        resp.transaction_states.push_back(std::move(d));
    }
    co_return resp;
}

}  // namespace

void register_describe_transactions(dispatch& d) { d.add<api_types<65>>(handle); }

}  // namespace runnel::server
