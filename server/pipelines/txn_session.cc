#include "server/pipelines/txn_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>

#include "protocol/record_batch.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/default_partitioner.h"
#include "server/cluster/error_mapping.h"
#include "server/coordinators/groups/group_call.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/coordinators/transactions/transaction_call.h"
#include "server/core/cross_shard.h"
#include "server/core/pause.h"

namespace runnel::server::pipelines {

using protocol::error_code;

namespace {

// Answers that mean "ask again shortly": a coordinator loading, moving or finishing the previous
// transaction's markers.
bool retriable(error_code e) {
    return e == error_code::concurrent_transactions ||
           e == error_code::coordinator_load_in_progress ||
           e == error_code::coordinator_not_available || e == error_code::not_coordinator ||
           e == error_code::unstable_offset_commit;
}

// Runs `attempt` (returning error_code) until it answers something that is not worth retrying,
// for up to 30 s.
template <class F>
asio::awaitable<error_code> with_retries(F attempt) {
    for (int i = 0;; ++i) {
        error_code e = co_await attempt();
        if (!retriable(e) || i >= 600) co_return e;
        co_await pause(std::chrono::milliseconds(50));
    }
}

// Record bytes per batch: well under the 1 MiB max.message.bytes default of sink topics.
constexpr size_t batch_bytes = 512 * 1024;

}  // namespace

asio::awaitable<txn_outcome> txn_session::init() {
    auto attempt = [this]() -> asio::awaitable<error_code> {
        auto init = [this](transactions::transaction_coordinator& c,
                           int32_t partition) -> asio::awaitable<transactions::init_result> {
            co_return co_await c.init_producer_id(partition, transactional_id_, timeout_ms_,
                                                  producer_id_, epoch_);
        };
        auto r = co_await transactions::call_transaction_coordinator<transactions::init_result>(
            services_.transactions, transactional_id_, init);
        const error_code e = r.error != error_code::none ? r.error : r.value.error;
        if (e == error_code::none) {
            producer_id_ = r.value.producer_id;
            epoch_ = r.value.producer_epoch;
        }
        co_return e;
    };
    const error_code e = co_await with_retries(attempt);
    next_sequence_.clear();
    co_return txn_outcome{e, "InitProducerId for " + transactional_id_};
}

asio::awaitable<txn_outcome> txn_session::add_partitions(
    const std::vector<std::pair<std::string, int32_t>>& partitions) {
    std::set<transactions::topic_partition> set;
    for (const auto& [t, p] : partitions) set.insert({t, p});
    auto attempt = [this, &set]() -> asio::awaitable<error_code> {
        auto add = [this, &set](transactions::transaction_coordinator& c,
                                int32_t partition) -> asio::awaitable<error_code> {
            co_return co_await c.add_partitions(partition, transactional_id_, producer_id_, epoch_,
                                                set);
        };
        auto r = co_await transactions::call_transaction_coordinator<error_code>(
            services_.transactions, transactional_id_, add);
        co_return r.error != error_code::none ? r.error : r.value;
    };
    const error_code e = co_await with_retries(attempt);
    co_return txn_outcome{e, "AddPartitionsToTxn"};
}

asio::awaitable<txn_outcome> txn_session::append(
    const std::string& topic, int32_t index,
    const std::vector<streams::produced_record*>& records) {
    auto snapshot = services_.cluster.topics().snapshot();
    auto t = snapshot->find(topic);
    if (!t || index >= t->partition_count()) {
        co_return txn_outcome{error_code::unknown_topic_or_partition, "append to " + topic};
    }
    // Batches of about batch_bytes, each with the next sequence numbers of this producer epoch.
    std::vector<std::vector<uint8_t>> batches;
    int32_t& sequence = next_sequence_[{topic, index}];
    std::vector<protocol::record_input> inputs;
    size_t bytes = 0;
    auto flush = [&] {
        if (inputs.empty()) return;
        protocol::batch_options o;
        o.producer_id = producer_id_;
        o.producer_epoch = epoch_;
        o.base_sequence = sequence;
        o.transactional = true;
        batches.push_back(protocol::build_batch(o, inputs));
        sequence += static_cast<int32_t>(inputs.size());
        inputs.clear();
        bytes = 0;
    };
    for (auto* r : records) {
        protocol::record_input in;
        in.key = r->key;
        in.value = r->value;
        in.timestamp = r->timestamp;
        for (auto& [k, v] : r->headers) in.headers.emplace_back(k, v);
        bytes += (r->key ? r->key->size() : 0) + (r->value ? r->value->size() : 0) + 32;
        inputs.push_back(std::move(in));
        if (bytes >= batch_bytes) flush();
    }
    flush();
    const shard_id owner = t->partitions[index].owner;
    const protocol::uuid topic_id = t->id;
    cluster_context& cluster = services_.cluster;
    auto work = [&cluster, owner, topic_id, index, topic,
                 batches = std::move(batches)]() mutable -> asio::awaitable<txn_outcome> {
        for (auto& b : batches) {
            partition* p = cluster.partitions_on(owner).find(topic_id, index);
            if (!p) co_return txn_outcome{error_code::unknown_topic_or_partition, "append"};
            append_result r = p->append(b, storage::append_origin::client);
            if (!r.ok()) {
                co_return txn_outcome{r.error, "append to " + topic + "-" + std::to_string(index) +
                                                   ": " + r.message.value_or("")};
            }
            if (auto ec = co_await p->acknowledged(r, required_acks::all)) {
                co_return txn_outcome{map_to_kafka_error(ec), "flush of " + topic};
            }
        }
        co_return txn_outcome{};
    };
    txn_outcome outcome = co_await on_shard(cluster.shards().at(owner), work);
    co_return outcome;
}

asio::awaitable<txn_outcome> txn_session::commit_offsets(const topic_partition_offsets& offsets,
                                                         const std::string& metadata) {
    protocol::msg::txn_offset_commit_request req;
    req.transactional_id = transactional_id_;
    req.group_id = group_id_;
    req.producer_id = producer_id_;
    req.producer_epoch = epoch_;
    for (const auto& [tp, offset] : offsets) {
        if (req.topics.empty() || req.topics.back().name != tp.first) {
            req.topics.emplace_back().name = tp.first;
        }
        auto& p = req.topics.back().partitions.emplace_back();
        p.partition_index = tp.second;
        p.committed_offset = offset;
        p.committed_metadata = metadata;
    }
    txn_outcome outcome;
    auto attempt = [this, &req, &outcome]() -> asio::awaitable<error_code> {
        auto commit = [&req](groups::group_coordinator& c, int32_t partition)
            -> asio::awaitable<protocol::msg::txn_offset_commit_response> {
            co_return c.txn_commit_offsets(partition, req);
        };
        auto r = co_await groups::call_coordinator<protocol::msg::txn_offset_commit_response>(
            services_.groups, group_id_, commit);
        if (r.error != error_code::none) co_return r.error;
        for (const auto& t : r.value.topics) {
            for (const auto& p : t.partitions) {
                if (p.error_code != 0) {
                    outcome.what = "TxnOffsetCommit of " + t.name;
                    co_return static_cast<error_code>(p.error_code);
                }
            }
        }
        co_return error_code::none;
    };
    outcome.error = co_await with_retries(attempt);
    if (outcome.what.empty()) outcome.what = "TxnOffsetCommit";
    co_return outcome;
}

asio::awaitable<txn_outcome> txn_session::end(bool commit) {
    auto attempt = [this, commit]() -> asio::awaitable<error_code> {
        auto finish = [this, commit](transactions::transaction_coordinator& c,
                                     int32_t partition) -> asio::awaitable<error_code> {
            co_return co_await c.end_transaction(partition, transactional_id_, producer_id_, epoch_,
                                                 commit);
        };
        auto r = co_await transactions::call_transaction_coordinator<error_code>(
            services_.transactions, transactional_id_, finish);
        co_return r.error != error_code::none ? r.error : r.value;
    };
    const error_code e = co_await with_retries(attempt);
    co_return txn_outcome{e, commit ? "EndTxn commit" : "EndTxn abort"};
}

asio::awaitable<txn_outcome> txn_session::commit(std::vector<streams::produced_record> records,
                                                 const topic_partition_offsets& offsets,
                                                 const std::string& metadata) {
    auto snapshot = services_.cluster.topics().snapshot();
    std::map<std::pair<std::string, int32_t>, std::vector<streams::produced_record*>> by_partition;
    for (auto& r : records) {
        int32_t index = r.partition;
        if (index < 0) {
            auto t = snapshot->find(r.topic);
            if (!t || t->partition_count() == 0) {
                co_return txn_outcome{error_code::unknown_topic_or_partition, "sink " + r.topic};
            }
            index = r.key ? partition_for_key(*r.key, t->partition_count())
                          : task_index_ % t->partition_count();
        }
        by_partition[{r.topic, index}].push_back(&r);
    }
    std::vector<std::pair<std::string, int32_t>> partitions;
    for (const auto& [tp, _] : by_partition) partitions.push_back(tp);
    if (!offsets.empty()) {
        if (auto e = co_await services_.groups.ensure_topic(); e != error_code::none) {
            co_return txn_outcome{e, "creating __consumer_offsets"};
        }
        auto topic = services_.cluster.topics().snapshot()->find(groups::offsets_topic_name);
        if (!topic) co_return txn_outcome{error_code::coordinator_not_available, "offsets topic"};
        partitions.emplace_back(std::string(groups::offsets_topic_name),
                                groups::partition_for_group(group_id_, topic->partition_count()));
    }
    // (Each outcome in a named variable: g++ 12 destroys a co_await result bound in an if's
    // initializer twice when it holds a string.)
    if (partitions.empty()) co_return txn_outcome{};
    txn_outcome added = co_await add_partitions(partitions);
    if (!added.ok()) co_return added;
    for (const auto& [tp, list] : by_partition) {
        txn_outcome appended = co_await append(tp.first, tp.second, list);
        if (!appended.ok()) co_return appended;
    }
    if (!offsets.empty()) {
        txn_outcome committed = co_await commit_offsets(offsets, metadata);
        if (!committed.ok()) co_return committed;
    }
    txn_outcome ended = co_await end(true);
    co_return ended;
}

asio::awaitable<std::pair<txn_outcome, topic_partition_offsets>> txn_session::committed_offsets() {
    topic_partition_offsets out;
    if (auto e = co_await services_.groups.ensure_topic(); e != error_code::none) {
        co_return std::make_pair(txn_outcome{e, "creating __consumer_offsets"}, out);
    }
    auto attempt = [this, &out]() -> asio::awaitable<error_code> {
        auto fetch = [this](groups::group_coordinator& c,
                            int32_t partition) -> asio::awaitable<groups::fetch_group_result> {
            co_return c.fetch_offsets(partition, group_id_, std::nullopt, true);
        };
        auto r = co_await groups::call_coordinator<groups::fetch_group_result>(services_.groups,
                                                                               group_id_, fetch);
        if (r.error != error_code::none) co_return r.error;
        if (r.value.error_code != 0) co_return static_cast<error_code>(r.value.error_code);
        out.clear();
        for (const auto& t : r.value.topics) {
            for (const auto& p : t.partitions) {
                if (p.error_code != 0) co_return static_cast<error_code>(p.error_code);
                if (p.committed_offset >= 0) {
                    out[{t.name, p.partition_index}] = p.committed_offset;
                    committed_metadata_[{t.name, p.partition_index}] = p.metadata.value_or("");
                }
            }
        }
        co_return error_code::none;
    };
    const error_code e = co_await with_retries(attempt);
    co_return std::make_pair(txn_outcome{e, "OffsetFetch of " + group_id_}, out);
}

}  // namespace runnel::server::pipelines
