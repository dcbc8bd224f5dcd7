#include "server/coordinators/transactions/produce_verification.h"

#include <chrono>
#include <optional>

#include "protocol/messages/add_partitions_to_txn.h"
#include "protocol/messages/api_table.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/replication/broker_link_pool.h"

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

namespace {

// AddPartitionsToTxn v4 VerifyOnly to the coordinator on broker `coordinator` (KIP-890): the
// partitions' answers, or nullopt when it could not be asked.
asio::awaitable<std::optional<std::map<topic_partition, error_code>>> verify_remotely(
    broker_link_pool& links, int32_t coordinator, const std::string& transactional_id,
    int64_t producer_id, int16_t epoch, const std::set<topic_partition>& partitions) {
    protocol::msg::add_partitions_to_txn_request req;
    auto& txn = req.transactions.emplace_back();
    txn.transactional_id = transactional_id;
    txn.producer_id = producer_id;
    txn.producer_epoch = epoch;
    txn.verify_only = true;
    for (const auto& tp : partitions) {
        if (txn.topics.empty() || txn.topics.back().name != tp.topic)
            txn.topics.emplace_back().name = tp.topic;
        txn.topics.back().partitions.push_back(tp.partition);
    }
    using api = protocol::msg::api_types<24>;
    auto answer = co_await links.call<api>(coordinator, req, 4, std::chrono::seconds(10));
    if (!answer) co_return std::nullopt;
    std::map<topic_partition, error_code> out;
    const auto top = static_cast<error_code>(answer->error_code);
    for (const auto& r : answer->results_by_transaction) {
        for (const auto& t : r.topic_results) {
            for (const auto& p : t.results_by_partition) {
                out[{t.name, p.partition_index}] =
                    top != error_code::none ? top : static_cast<error_code>(p.partition_error_code);
            }
        }
    }
    co_return out;
}

}  // namespace

asio::awaitable<std::map<topic_partition, error_code>> verify_with_coordinator(
    transaction_coordinator_set& transactions, shard_id home, const std::string& transactional_id,
    int64_t producer_id, int16_t epoch, const std::set<topic_partition>& partitions) {
    auto verify = [&](transaction_coordinator& c,
                      int32_t) -> asio::awaitable<std::map<topic_partition, error_code>> {
        co_return c.verify_partitions(transactional_id, producer_id, epoch, partitions);
    };
    auto r = co_await call_transaction_coordinator<std::map<topic_partition, error_code>>(
        transactions, transactional_id, verify);
    if (r.error == error_code::not_coordinator) {
        // Coordinated by another broker of the cluster: asked there.
        const auto loc = transactions.locate(transactional_id);
        if (loc.error == error_code::not_coordinator && loc.leader >= 0) {
            auto remote =
                co_await verify_remotely(transactions.links(home), loc.leader, transactional_id,
                                         producer_id, epoch, partitions);
            if (remote) {
                r.error = error_code::none;
                r.value = std::move(*remote);
            } else {
                r.error = error_code::coordinator_not_available;
            }
        }
    }
    std::map<topic_partition, error_code> out;
    for (const auto& tp : partitions) {
        auto it = r.value.find(tp);
        out[tp] = r.error != error_code::none ? r.error
                  : it != r.value.end()       ? it->second
                                              : error_code::invalid_txn_state;
    }
    co_return out;
}

asio::awaitable<std::map<topic_partition, error_code>> verify_transactional_produce(
    transaction_coordinator_set& transactions, shard_id home, const std::string& transactional_id,
    int64_t producer_id, int16_t epoch, const std::set<topic_partition>& partitions) {
    auto answers = co_await verify_with_coordinator(transactions, home, transactional_id,
                                                    producer_id, epoch, partitions);
    std::map<topic_partition, error_code> refused;
    for (const auto& [tp, e] : answers) {
        if (e != error_code::none) refused[tp] = for_produce(e);
    }
    co_return refused;
}

}  // namespace runnel::server::transactions
