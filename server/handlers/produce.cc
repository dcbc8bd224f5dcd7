// Produce (0): validate each partition's record batches and append them to the partition's log
// on its owner shard. Batches are stored exactly as received, with base offsets (and, for
// LogAppendTime topics, timestamps) stamped in place.
#include "protocol/messages/produce.h"

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "server/broker.h"
#include "server/dispatch.h"
#include "server/error_mapping.h"
#include "server/handlers/handlers.h"
#include "server/log.h"
#include "server/owner_calls.h"
#include "server/transactions/produce_verification.h"
#include "storage/wall_clock.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

struct partition_append : partition_work {
    size_t request = 0;  // which of the pipelined requests served together (handle) it is from
    bool wait_for_flush = true;  // acks != 0
    int16_t version = 0;
    // Points into the request frame, which stays alive for the whole request (keep_alive).
    std::span<uint8_t> records;
    std::shared_ptr<const void> keep_alive;
    bool null_records = false;

    error_code error = error_code::none;
    std::optional<std::string> message;
    int64_t base_offset = -1;
    int64_t log_append_time = -1;
    int64_t log_start_offset = -1;
    // flush.messages/flush.ms made this append due for a flush: with acks != 0 the answer waits
    // for it (group commit, see log_sync.h).
    int64_t flush_end_offset = -1;
};

void append_one(broker& b, shard_id owner, partition_append& a) {
    if (a.error != error_code::none) return;  // refused before (transaction verification)
    partition* p = b.partitions_on(owner).find(a.topic_id, a.index);
    if (!p) {
        a.error = error_code::unknown_topic_or_partition;
        return;
    }
    if (a.null_records || a.records.empty()) {
        a.error = error_code::corrupt_message;
        a.message = "The produce request carries no record batch.";
        return;
    }
    const auto& settings = p->settings();
    auto check = protocol::validate_batches(a.records, settings.max_message_bytes);
    if (check.error == error_code::none && check.batch_count != 1) {
        // Produce v3+ carries exactly one batch per partition (ProduceRequest.validateRecords).
        check.error = error_code::invalid_record;
        check.message =
            "Produce requests with version 3 and above must contain exactly one "
            "record batch per partition.";
    }
    if (check.error == error_code::none && a.version < 7 &&
        protocol::parse_batch_header(a.records)->codec() == protocol::compression_codec::zstd) {
        // KIP-110: zstd needs Produce v7+, so older clients cannot write what they cannot read.
        check.error = error_code::unsupported_compression_type;
        check.message = "Produce requests with ZStandard compression need version 7 or later.";
    }
    if (check.error == error_code::none && !settings.log_append_time && check.min_timestamp >= 0) {
        // KIP-937: CreateTime timestamps must lie within the topic's window around now.
        const int64_t now = storage::wall_clock_ms();
        if (now - check.min_timestamp > settings.timestamp_before_max_ms ||
            check.max_timestamp - now > settings.timestamp_after_max_ms) {
            check.error = error_code::invalid_timestamp;
            check.message = "Timestamp of a record in " + p->topic() + "-" +
                            std::to_string(p->index()) +
                            " is out of range (message.timestamp.before.max.ms / "
                            "message.timestamp.after.max.ms).";
        }
    }
    if (check.error == error_code::none && settings.compact && check.has_null_key) {
        check.error = error_code::invalid_record;
        check.message = "Compacted topic cannot accept message without key in topic partition " +
                        p->topic() + "-" + std::to_string(p->index()) + ".";
    }
    if (check.error != error_code::none) {
        a.error = check.error;
        a.message = check.message;
        a.log_start_offset = p->log().log_start_offset();
        return;
    }
    std::optional<int64_t> append_time;
    if (settings.log_append_time) {
        append_time = storage::wall_clock_ms();
        size_t pos = 0;
        while (pos < a.records.size()) {
            auto h = protocol::parse_batch_header(a.records.subspan(pos));
            auto size = static_cast<size_t>(h->total_size());
            protocol::stamp_log_append_time(a.records.subspan(pos, size), *append_time);
            pos += size;
        }
    }
    auto appended = p->log().append(a.records, append_time);
    if (!appended) {
        a.error = map_to_kafka_error(appended.error());
        a.message = "Cannot append to " + p->topic() + "-" + std::to_string(p->index()) + ": " +
                    appended.error().message();
        server_log().error("{}", *a.message);
        return;
    }
    a.base_offset = appended->base_offset;
    a.log_append_time = appended->log_append_time;
    a.log_start_offset = p->log().log_start_offset();
    if (appended->duplicate) {
        // An idempotent producer's retry: acknowledged with the original offsets. With a flush
        // per message the original may still be waiting for its sync; so does the retry.
        if (p->log().config().flush_messages == 1) a.flush_end_offset = appended->last_offset + 1;
        return;
    }
    if (appended->flush_due) a.flush_end_offset = appended->last_offset + 1;
    p->appended(*appended, b.io_pool());
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

    asio::awaitable<void> verify(broker& b, const std::optional<std::string>& transactional_id,
                                 std::vector<partition_append>& work) {
        std::map<transactions::topic_partition, error_code> refused;
        if (!transactional_id || transactional_id->empty()) {
            // Kafka refuses transactional records without a transactional id to authorize.
            for (const auto& tp : partitions)
                refused[tp] = error_code::transactional_id_authorization_failed;
        } else {
            refused = co_await transactions::verify_transactional_produce(
                b, *transactional_id, producer_id, epoch, partitions);
        }
        for (const auto& [tp, e] : refused) {
            auto& a = work[work_index.at(tp)];
            a.error = e;
            if (e == error_code::invalid_txn_state)
                a.message = "Partition was not added to the transaction";
        }
    }
};

// Waits for the flushes that acks != 0 appends depend on; all were started by append_one, so
// they run concurrently and this waits for the slowest.
asio::awaitable<void> wait_for_flushes(broker& b, shard_id owner,
                                       std::vector<partition_append>& items) {
    for (auto& a : items) {
        if (!a.wait_for_flush || a.flush_end_offset < 0 || a.error != error_code::none) continue;
        partition* p = b.partitions_on(owner).find(a.topic_id, a.index);
        std::error_code ec = p ? co_await p->sync().wait_flushed(b.io_pool(), a.flush_end_offset)
                               : std::error_code(storage::errc::log_closed);
        if (ec) {
            a.error = map_to_kafka_error(ec);
            a.message = "Cannot flush " + (p ? p->topic() + "-" + std::to_string(p->index())
                                             : std::string("a deleted partition")) +
                        ": " + ec.message();
            a.base_offset = -1;
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
    broker& b = calls.front().first->owner;
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
                if (!valid_acks) {
                    pr.error_code = to_wire(error_code::invalid_required_acks);
                    continue;
                }
                partition_append a;
                if (!locate_partition(topic.get(), pd.index,
                                      make_slot(ti, tr.partition_responses.size() - 1), a)) {
                    pr.error_code = to_wire(error_code::unknown_topic_or_partition);
                    continue;
                }
                if (topic->internal) {
                    pr.error_code = to_wire(error_code::invalid_topic_exception);
                    pr.error_message = "Cannot append to internal topic " + td.name;
                    continue;
                }
                a.request = ci;
                a.wait_for_flush = req.acks != 0;
                a.version = ctx->api_version;
                a.null_records = pd.records.is_null();
                if (!a.null_records && !pd.records.chunks().empty()) {
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
        if (!txn.partitions.empty()) co_await txn.verify(b, req.transactional_id, work);
        note_work_shard(*ctx, std::span<const partition_append>(work).subspan(first_item));
    }

    auto append_all = [&b](shard_id owner, std::vector<partition_append> items)
        -> asio::awaitable<std::vector<partition_append>> {
        for (auto& a : items) append_one(b, owner, a);
        co_await wait_for_flushes(b, owner, items);
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), home, std::move(work), append_all);

    for (auto& a : done) {
        auto& pr = resps[a.request]
                       .responses[slot_topic(a.slot)]
                       .partition_responses[slot_partition(a.slot)];
        pr.error_code = to_wire(a.error);
        pr.error_message = a.message;
        pr.base_offset = a.base_offset;
        pr.log_append_time_ms = a.log_append_time;
        pr.log_start_offset = a.log_start_offset;
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
