// InitProducerId (22): a producer id and epoch for an idempotent producer. Without a
// transactional id Kafka always hands out a new id with epoch 0, also when a v3+ request names its
// previous id and epoch (KIP-360 lets the client ask, the broker answers with a fresh id). With a
// transactional id the transaction coordinator answers; this broker has none yet, so such
// requests get COORDINATOR_NOT_AVAILABLE, as FindCoordinator does for transactions.
#include "protocol/messages/init_producer_id.h"

#include "protocol/errors.h"
#include "server/broker.h"
#include "server/dispatch.h"
#include "server/error_mapping.h"
#include "server/handlers/handlers.h"

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
        resp.error_code = to_wire(error_code::coordinator_not_available);
        co_return resp;
    }
    int64_t id = -1;
    if (auto ec = ctx.owner.producer_ids().next(id)) {
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
