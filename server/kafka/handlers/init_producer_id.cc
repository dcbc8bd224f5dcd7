// InitProducerId (22): a producer id and epoch. Without a transactional id Kafka always hands
// out a new id with epoch 0, also when a v3+ request names its previous id and epoch (KIP-360
// lets the client ask, the broker answers with a fresh id). With one, the transaction
// coordinator of the id answers: the id's producer id with its epoch bumped, which fences older
// producers of the same transactional id and aborts their open transaction.
#include "protocol/messages/init_producer_id.h"

#include "protocol/errors.h"
#include "server/cluster/error_mapping.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<init_producer_id_response>> handle(request_context& ctx,
                                                                 init_producer_id_request req) {
    init_producer_id_response resp;
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    if (req.transactional_id) {
        if (req.transactional_id->empty()) {
            // Kafka: an empty transactional id is not "no id".
            resp.error_code = to_wire(error_code::invalid_request);
            co_return resp;
        }
        auto init = [&req](transactions::transaction_coordinator& c,
                           int32_t partition) -> asio::awaitable<transactions::init_result> {
            co_return co_await c.init_producer_id(partition, *req.transactional_id,
                                                  req.transaction_timeout_ms, req.producer_id,
                                                  req.producer_epoch);
        };
        auto r = co_await transactions::call_transaction_coordinator<transactions::init_result>(
            ctx.services.transactions(), *req.transactional_id, init);
        const error_code e = r.error != error_code::none ? r.error : r.value.error;
        resp.error_code = to_wire(transactions::fenced_for_version(e, ctx.api_version, 4));
        if (e == error_code::none) {
            resp.producer_id = r.value.producer_id;
            resp.producer_epoch = r.value.producer_epoch;
        }
        co_return resp;
    }
    int64_t id = -1;
    if (auto ec = ctx.services.producer_ids().next(id)) {
        resp.error_code = to_wire(map_to_kafka_error(ec));
        co_return resp;
    }
    resp.producer_id = id;
    resp.producer_epoch = 0;
    co_return resp;
}

}  // namespace

void register_init_producer_id(dispatch& d) { d.add<api_types<22>>(handle); }

}  // namespace runnel::server
