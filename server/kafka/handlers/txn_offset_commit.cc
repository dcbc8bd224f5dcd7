// TxnOffsetCommit (28): a transactional producer commits a consumer group's offsets inside its
// transaction (KIP-98; the consume-transform-produce loop's sendOffsetsToTransaction). The
// coordinator writes them in a batch of the producer's transaction and holds them pending until
// the transaction's marker. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION. As for
// Produce, the transaction coordinator must confirm first that the producer's transaction holds
// the group's __consumer_offsets partition (AddOffsetsToTxn; Kafka's transaction verification):
// offsets no marker will settle would stay pending, and unstable, for good.
#include "protocol/messages/txn_offset_commit.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/coordinators/transactions/produce_verification.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/handlers/commit_partitions.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

// NONE, or why the producer's transaction cannot take offsets of the group's partition.
asio::awaitable<error_code> verify_in_transaction(kafka_services& b, shard_id home,
                                                  const txn_offset_commit_request& req,
                                                  int16_t version) {
    const groups::group_location loc = b.groups().locate(req.group_id);
    if (loc.error != error_code::none) co_return loc.error;
    const transactions::topic_partition offsets{std::string(groups::offsets_topic_name),
                                                loc.partition};
    // The transaction coordinator may be on another broker of a cluster. (Named: no braced
    // temporary in a co_await expression for g++ 12.)
    const std::set<transactions::topic_partition> asked{offsets};
    auto answers = co_await transactions::verify_with_coordinator(
        b.transactions(), home, req.transactional_id, req.producer_id, req.producer_epoch, asked);
    const error_code e = answers.at(offsets);
    switch (e) {
        case error_code::none:
        case error_code::invalid_producer_id_mapping:
        case error_code::invalid_txn_state:
            co_return e;
        case error_code::producer_fenced:
            co_return transactions::fenced_for_version(e, version, 3);
        default:  // the transaction coordinator is loading or busy: the client retries
            co_return error_code::coordinator_load_in_progress;
    }
}

asio::awaitable<std::optional<txn_offset_commit_response>> handle(request_context& ctx,
                                                                  txn_offset_commit_request req) {
    kafka_services& b = ctx.services;
    txn_offset_commit_response resp;
    auto known = split_known(*b.topics().snapshot(), req.topics, resp.topics);
    if (known.topics.empty()) co_return resp;

    const std::string group_id = req.group_id;
    groups::coordinated<txn_offset_commit_response> r;
    if (group_id.empty()) {
        // Kafka's coordinator refuses an empty group id before looking for the group.
        r.error = error_code::invalid_group_id;
    } else if (auto e = co_await verify_in_transaction(b, ctx.home.id(), req, ctx.api_version);
               e != error_code::none) {
        r.error = e;
    } else {
        txn_offset_commit_request sent = std::move(req);
        sent.topics = std::move(known.topics);
        auto commit = [request = std::move(sent)](
                          groups::group_coordinator& c,
                          int32_t partition) -> asio::awaitable<txn_offset_commit_response> {
            co_return c.txn_commit_offsets(partition, request);
        };
        r = co_await groups::call_coordinator<txn_offset_commit_response>(b.groups(), group_id,
                                                                          commit);
    }
    merge_answers(known, r.error, r.value.topics, resp.topics);
    if (ctx.api_version < 2) {
        // KAFKA-7296: producers before 2.0 (v0-1) may crash on COORDINATOR_LOAD_IN_PROGRESS;
        // Kafka answers them COORDINATOR_NOT_AVAILABLE, which they retry.
        for (auto& t : resp.topics) {
            for (auto& p : t.partitions) {
                if (p.error_code == to_wire(error_code::coordinator_load_in_progress))
                    p.error_code = to_wire(error_code::coordinator_not_available);
            }
        }
    }
    co_return resp;
}

}  // namespace

void register_txn_offset_commit(dispatch& d) { d.add<api_types<28>>(handle); }

}  // namespace runnel::server
