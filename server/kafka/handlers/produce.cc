// Produce (0): splits each request by partition and appends the batches on the owner shards
// through partition::append (validation, stamping and flush policy live there), then waits for
// what the request's acks require. Batches are stored exactly as received, with base offsets (and,
// for LogAppendTime topics, timestamps) stamped in place.
#include "protocol/messages/produce.h"

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "server/cluster/error_mapping.h"
#include "server/cluster/partition_work.h"
#include "server/coordinators/transactions/produce_verification.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

struct partition_append : partition_work {
    size_t request = 0;  // which of the pipelined requests served together (handle) it is from
    required_acks acks = required_acks::leader;
    int32_t timeout_ms = 30000;  // how long acks=all may wait for the in-sync replicas
    int16_t version = 0;
    // Points into the request frame, which stays alive for the whole request (keep_alive).
    std::span<uint8_t> records;
    std::shared_ptr<const void> keep_alive;

    append_result result;
};

void append_one(kafka_services& b, shard_id owner, partition_append& a) {
    if (!a.result.ok()) return;  // refused before (transaction verification)
    partition* p = b.partitions_on(owner).find(a.topic_id, a.index);
    if (!p) {
        a.result.error = error_code::unknown_topic_or_partition;
        return;
    }
    if (!p->leads()) {  // leadership moved since the request was routed here
        a.result.error = error_code::not_leader_or_follower;
        return;
    }
    // acks=all needs the effective min ISR in sync; Kafka refuses before appending.
    if (a.acks == required_acks::all && p->effective_min_isr() > p->in_sync_replicas()) {
        a.result.error = error_code::not_enough_replicas;
        a.result.message = fmt::format(
            "The size of the current ISR ({}) is insufficient to satisfy the min.isr requirement "
            "of {} for partition {}-{}.",
            p->in_sync_replicas(), p->effective_min_isr(), p->topic(), p->index());
        return;
    }
    // What this Produce version allows (ProduceRequest.validateRecords; KIP-110 for zstd).
    const produce_rules rules{.single_batch = true, .zstd_allowed = a.version >= 7};
    a.result = p->append(a.records, storage::append_origin::client, rules);
    if (a.result.cause) {
        // A failing disk is the broker's problem; a producer's sequence or epoch refusal
        // (UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH) is the
        // client's to handle, usually recoverable, and not worth an error line per batch.
        if (a.result.error == error_code::kafka_storage_error) {
            server_log().error("{}", *a.result.message);
        } else {
            server_log().debug("{}", *a.result.message);
        }
    }
}

// The transactional batches of a request, checked with the transaction coordinator before any is
// appended (see produce_verification.h).
struct transactional_batches {
    std::set<transactions::topic_partition> partitions;
    std::map<transactions::topic_partition, size_t> work_index;
    int64_t producer_id = -1;
    int16_t epoch = -1;

    void note(std::span<const uint8_t> records, const std::string& topic, int32_t index,
              size_t work_position) {
        auto h = protocol::parse_batch_header(records);
        if (!h || !h->is_transactional()) return;
        producer_id = h->producer_id;
        epoch = h->producer_epoch;
        partitions.insert({topic, index});
        work_index[{topic, index}] = work_position;
    }

    asio::awaitable<void> verify(kafka_services& b, shard_id home,
                                 const std::optional<std::string>& transactional_id,
                                 std::vector<partition_append>& work) {
        std::map<transactions::topic_partition, error_code> refused;
        if (!transactional_id || transactional_id->empty()) {
            // Kafka refuses transactional records without a transactional id to authorize.
            for (const auto& tp : partitions)
                refused[tp] = error_code::transactional_id_authorization_failed;
        } else {
            refused = co_await transactions::verify_transactional_produce(
                b.transactions(), home, *transactional_id, producer_id, epoch, partitions);
        }
        for (const auto& [tp, e] : refused) {
            auto& a = work[work_index.at(tp)].result;
            a.error = e;
            if (e == error_code::invalid_txn_state)
                a.message = "Partition was not added to the transaction";
        }
    }
};

// Waits for what each append's acks require; every append was made (and its flush started) by
// append_one first, so the flushes run concurrently and this waits for the slowest.
asio::awaitable<void> wait_for_acks(kafka_services& b, shard_id owner,
                                    std::vector<partition_append>& items) {
    for (auto& a : items) {
        if (!a.result.ok() || (a.result.flush_end_offset < 0 && a.acks != required_acks::all))
            continue;
        partition* p = b.partitions_on(owner).find(a.topic_id, a.index);
        std::error_code ec =
            p ? co_await p->acknowledged(a.result, a.acks,
                                         std::chrono::milliseconds(std::max(0, a.timeout_ms)))
              : std::error_code(storage::errc::log_closed);
        if (ec.category() == replication_category()) {
            // The append stays in the log (Kafka too cannot take it back); the producer retries.
            a.result.error = map_to_kafka_error(ec);
            a.result.message = ec.message();
            a.result.base_offset = -1;
        } else if (ec) {
            a.result.error = map_to_kafka_error(ec);
            a.result.message = "Cannot flush " +
                               (p ? p->topic() + "-" + std::to_string(p->index())
                                  : std::string("a deleted partition")) +
                               ": " + ec.message();
            a.result.base_offset = -1;
        }
    }
}

// Serves pipelined Produce requests of one connection together: every request is checked and
// split by partition as usual, then all of their appends go to each owner shard in one hand-off
// (instead of one per request), in request order, so a partition's batches land in the order
// they were sent. Each request still gets its own answer. An acks=0 request that fails closes
// the connection as before; requests after it in the batch have been appended by then, which
// Kafka, reading one request at a time, would not have done.
using produce_calls = std::vector<std::pair<request_context*, produce_request>>;

asio::awaitable<std::vector<std::optional<produce_response>>> handle(produce_calls& calls) {
    std::vector<std::optional<produce_response>> out(calls.size());
    if (calls.empty()) co_return out;
    kafka_services& b = calls.front().first->services;
    shard& home = calls.front().first->home;
    auto snap = b.topics().snapshot();
    std::vector<partition_append> work;
    std::vector<produce_response> resps(calls.size());

    for (size_t ci = 0; ci < calls.size(); ++ci) {
        auto& [ctx, req] = calls[ci];
        auto& resp = resps[ci];
        const bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;
        const size_t first_item = work.size();
        transactional_batches txn;
        for (size_t ti = 0; ti < req.topic_data.size(); ++ti) {
            auto& td = req.topic_data[ti];
            auto& tr = resp.responses.emplace_back();
            tr.name = td.name;
            auto topic = snap->find(td.name);
            for (auto& pd : td.partition_data) {
                auto& pr = tr.partition_responses.emplace_back();
                pr.index = pd.index;
                pr.base_offset = -1;  // Kafka's answer for a partition that takes nothing
                if (!valid_acks) {
                    pr.error_code = to_wire(error_code::invalid_required_acks);
                    continue;
                }
                partition_append a;
                if (!locate_partition(topic.get(), pd.index,
                                      make_slot(ti, tr.partition_responses.size() - 1), a)) {
                    pr.error_code = to_wire(missing_partition_error(topic.get(), pd.index));
                    continue;
                }
                if (topic->internal) {
                    pr.error_code = to_wire(error_code::invalid_topic_exception);
                    pr.error_message = "Cannot append to internal topic " + td.name;
                    continue;
                }
                a.request = ci;
                a.acks = req.acks == 0   ? required_acks::none
                         : req.acks == 1 ? required_acks::leader
                                         : required_acks::all;
                a.version = ctx->api_version;
                a.timeout_ms = req.timeout_ms;
                if (!pd.records.is_null() && !pd.records.chunks().empty()) {
                    const auto& chunk = pd.records.chunks().front();
                    // The request frame is ours alone: stamping offsets into it in place saves
                    // a copy.
                    a.records = std::span<uint8_t>(const_cast<uint8_t*>(chunk.bytes.data()),
                                                   chunk.bytes.size());
                    a.keep_alive = chunk.owner;
                    txn.note(a.records, td.name, pd.index, work.size());
                }
                work.push_back(std::move(a));
            }
        }
        if (!txn.partitions.empty())
            co_await txn.verify(b, ctx->home.id(), req.transactional_id, work);
        note_work_shard(*ctx, std::span<const partition_append>(work).subspan(first_item));
    }

    auto append_all = [&b](shard_id owner, std::vector<partition_append> items)
        -> asio::awaitable<std::vector<partition_append>> {
        for (auto& a : items) append_one(b, owner, a);
        co_await wait_for_acks(b, owner, items);
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), home, std::move(work), append_all);

    for (auto& a : done) {
        auto& pr = resps[a.request]
                       .responses[slot_topic(a.slot)]
                       .partition_responses[slot_partition(a.slot)];
        pr.error_code = to_wire(a.result.error);
        pr.error_message = a.result.message;
        pr.base_offset = a.result.base_offset;
        pr.log_append_time_ms = a.result.log_append_time;
        // Kafka answers a refused batch with log start offset -1, a refused record with the
        // log start offset and the record's index in RecordErrors (v8+, KIP-467).
        const bool ok = a.result.error == error_code::none;
        pr.log_start_offset = ok || a.result.record_index ? a.result.log_start_offset : -1;
        if (a.result.record_index) {
            auto& e = pr.record_errors.emplace_back();
            e.batch_index = *a.result.record_index;
            e.batch_index_error_message = a.result.message;
        }
    }
    for (size_t ci = 0; ci < calls.size(); ++ci) {
        auto& [ctx, req] = calls[ci];
        if (req.acks != 0) {
            out[ci] = std::move(resps[ci]);
            continue;
        }
        // acks=0: the producer expects no answer. Kafka closes the connection when something
        // failed so the producer notices (and refreshes its metadata).
        for (const auto& tr : resps[ci].responses) {
            for (const auto& pr : tr.partition_responses) {
                if (pr.error_code != 0) ctx->close_connection = true;
            }
        }
    }
    co_return out;
}

}  // namespace

void register_produce(dispatch& d) {
    d.add_batched<api_types<0>>(handle);
    // KAFKA-18659: librdkafka up to 2.8 only compresses with gzip/snappy when Produce v0 is
    // advertised, so ApiVersions lists v0 while v0-2 requests (message formats v0/v1) are refused.
    d.advertise_from(0, 0);
}

}  // namespace runnel::server
