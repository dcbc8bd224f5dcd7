// AddPartitionsToTxn (24): adds partitions to a producer's transaction before it writes to them,
// so the coordinator knows where the commit or abort markers go. v0-3 carry one transaction
// (clients); v4+ a batch, each possibly VerifyOnly (KIP-890: brokers asking whether a partition is
// in the transaction). A partition that does not exist (or of an internal topic) fails the whole
// transaction's request: it gets its error and the others OPERATION_NOT_ATTEMPTED, as in Kafka.
#include "protocol/messages/add_partitions_to_txn.h"

#include <map>

#include "protocol/errors.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;
using transactions::topic_partition;

namespace {

using topic_list = std::vector<add_partitions_to_txn_common::add_partitions_to_txn_topic>;
using topic_results = std::vector<add_partitions_to_txn_common::add_partitions_to_txn_topic_result>;
using partition_errors = std::map<topic_partition, error_code>;

// The answer in request order (a partition listed twice is answered once).
topic_results to_results(const topic_list& topics, const partition_errors& errors) {
    topic_results out;
    for (const auto& t : topics) {
        auto& rt = out.emplace_back();
        rt.name = t.name;
        std::set<int32_t> seen;
        for (int32_t p : t.partitions) {
            if (!seen.insert(p).second) continue;
            auto it = errors.find({t.name, p});
            auto& rp = rt.results_by_partition.emplace_back();
            rp.partition_index = p;
            rp.partition_error_code = to_wire(it == errors.end() ? error_code::none : it->second);
        }
    }
    return out;
}

partition_errors all_of(const std::set<topic_partition>& partitions, error_code e) {
    partition_errors out;
    for (const auto& tp : partitions) out[tp] = e;
    return out;
}

asio::awaitable<partition_errors> add_one(request_context& ctx, const std::string& id,
                                          int64_t producer_id, int16_t epoch, bool verify_only,
                                          const topic_list& topics) {
    std::set<topic_partition> requested;
    partition_errors unknown;  // partitions that fail the whole request
    auto snap = ctx.services.topics().snapshot();
    for (const auto& t : topics) {
        auto topic = snap->find(t.name);
        for (int32_t p : t.partitions) {
            requested.insert({t.name, p});
            if (topic && topic->internal && ctx.api_version < 4) {
                // Clients may not add internal topics themselves (AddOffsetsToTxn adds
                // __consumer_offsets); Kafka answers as if unauthorized.
                unknown[{t.name, p}] = error_code::topic_authorization_failed;
            } else if (!topic || p < 0 || p >= topic->partition_count()) {
                unknown[{t.name, p}] = error_code::unknown_topic_or_partition;
            }
        }
    }
    if (id.empty()) co_return all_of(requested, error_code::invalid_request);
    if (!unknown.empty()) {
        partition_errors out = all_of(requested, error_code::operation_not_attempted);
        for (const auto& [tp, e] : unknown) out[tp] = e;
        co_return out;
    }
    auto add = [&](transactions::transaction_coordinator& c,
                   int32_t partition) -> asio::awaitable<partition_errors> {
        if (verify_only) co_return c.verify_partitions(id, producer_id, epoch, requested);
        error_code e = co_await c.add_partitions(partition, id, producer_id, epoch, requested);
        co_return all_of(requested, transactions::fenced_for_version(e, ctx.api_version, 2));
    };
    auto r = co_await transactions::call_transaction_coordinator<partition_errors>(
        ctx.services.transactions(), id, add);
    if (r.error != error_code::none) co_return all_of(requested, r.error);
    co_return r.value;
}

asio::awaitable<std::optional<add_partitions_to_txn_response>> handle(
    request_context& ctx, add_partitions_to_txn_request req) {
    add_partitions_to_txn_response resp;
    if (ctx.api_version < 4) {
        auto errors =
            co_await add_one(ctx, req.v3_and_below_transactional_id, req.v3_and_below_producer_id,
                             req.v3_and_below_producer_epoch, false, req.v3_and_below_topics);
        resp.results_by_topic_v3_and_below = to_results(req.v3_and_below_topics, errors);
        co_return resp;
    }
    for (const auto& txn : req.transactions) {
        auto errors = co_await add_one(ctx, txn.transactional_id, txn.producer_id,
                                       txn.producer_epoch, txn.verify_only, txn.topics);
        auto& r = resp.results_by_transaction.emplace_back();
        r.transactional_id = txn.transactional_id;
        r.topic_results = to_results(txn.topics, errors);
    }
    co_return resp;
}

}  // namespace

void register_add_partitions_to_txn(dispatch& d) { d.add<api_types<24>>(handle); }

}  // namespace runnel::server
