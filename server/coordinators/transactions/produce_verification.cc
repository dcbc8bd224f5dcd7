#include "server/coordinators/transactions/produce_verification.h"

#include "server/coordinators/transactions/transaction_call.h"

namespace runnel::server::transactions {

using protocol::error_code;

namespace {

error_code for_produce(error_code e) {
    switch (e) {
        case error_code::none:
            return e;
        case error_code::producer_fenced:
            return error_code::invalid_producer_epoch;
        case error_code::concurrent_transactions:
        case error_code::coordinator_load_in_progress:
        case error_code::coordinator_not_available:
        case error_code::not_coordinator:
            return error_code::not_enough_replicas;
        default:
            return error_code::invalid_txn_state;
    }
}

}  // namespace

asio::awaitable<std::map<topic_partition, error_code>> verify_transactional_produce(
    transaction_coordinator_set& transactions, const std::string& transactional_id,
    int64_t producer_id, int16_t epoch, const std::set<topic_partition>& partitions) {
    auto verify = [&](transaction_coordinator& c,
                      int32_t) -> asio::awaitable<std::map<topic_partition, error_code>> {
        co_return c.verify_partitions(transactional_id, producer_id, epoch, partitions);
    };
    auto r = co_await call_transaction_coordinator<std::map<topic_partition, error_code>>(
        transactions, transactional_id, verify);
    std::map<topic_partition, error_code> refused;
    for (const auto& tp : partitions) {
        auto it = r.value.find(tp);
        const error_code e = r.error != error_code::none ? r.error
                             : it != r.value.end()       ? it->second
                                                         : error_code::invalid_txn_state;
        if (e != error_code::none) refused[tp] = for_produce(e);
    }
    co_return refused;
}

}  // namespace runnel::server::transactions
