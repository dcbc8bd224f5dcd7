// EndTxn (26): commits or aborts the producer's transaction. Answered once the markers are in
// every partition of the transaction (Kafka answers after the PrepareCommit/PrepareAbort record
// and writes the markers in the background; a client's next request then waits on
// CONCURRENT_TRANSACTIONS instead). v5 belongs to transactions V2 (KIP-890 part 2, an epoch bump
// per transaction), which this broker does not offer, so v0-4 are served.
#include "protocol/messages/end_txn.h"

#include "protocol/errors.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<end_txn_response>> handle(request_context& ctx, end_txn_request req) {
    end_txn_response resp;
    if (req.transactional_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_request);
        co_return resp;
    }
    auto end = [&req](transactions::transaction_coordinator& c,
                      int32_t partition) -> asio::awaitable<error_code> {
        co_return co_await c.end_transaction(partition, req.transactional_id, req.producer_id,
                                             req.producer_epoch, req.committed);
    };
    auto r = co_await transactions::call_transaction_coordinator<error_code>(
        ctx.services.transactions(), req.transactional_id, end);
    const error_code e = r.error != error_code::none ? r.error : r.value;
    resp.error_code = to_wire(transactions::fenced_for_version(e, ctx.api_version, 2));
    co_return resp;
}

}  // namespace

void register_end_txn(dispatch& d) { d.add<api_types<26>>(handle); }

}  // namespace runnel::server
