// Fetch (1): whole stored batches from each requested partition, located on the owner shard and
// sent from the segment files with sendfile (zero copy), with long polling (max_wait_ms /
// min_bytes) woken as soon as an append lands.
//
// zstd batches are served to every Fetch version. Kafka refuses them below v10 (KIP-110), but
// kafka-python 2.0.2 fetches with v4 and decodes zstd, and refusing would leave it stuck.
//
// isolation_level=1 (read_committed) reads only batches wholly below the last stable offset and
// lists the aborted transactions overlapping what it returns (from the segments' .txnindex), as
// Kafka does; every response carries the real last stable offset.
//
// A follower replica's Fetch (replica_id, or ReplicaState from v15) reads up to the log end, not
// the high watermark; its fetch offset is its log end, which the leader notes to move the high
// watermark; and with LastFetchedEpoch (v12+) a follower whose log diverged from this one gets
// DivergingEpoch instead of records, telling it where to truncate (KIP-595, as Kafka 2.7+).
//
// Fetch sessions (KIP-227): this broker never creates one. A full fetch gets session id 0, which
// tells clients to keep sending full fetches; an incremental fetch naming a session id gets
// FETCH_SESSION_ID_NOT_FOUND so the client falls back to a full fetch.
#include "protocol/messages/fetch.h"

#include <boost/asio/as_tuple.hpp>
#include <chrono>

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "protocol/record_batch_header.h"
#include "server/cluster/error_mapping.h"
#include "server/cluster/partition_work.h"
#include "server/core/cross_shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"
#include "storage/wall_clock.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

using partition_data = fetch_response::fetchable_topic_response::partition_data;

struct partition_read : partition_work {
    int64_t fetch_offset = 0;
    int32_t max_bytes = 0;
    bool read_committed = false;
    // A follower replica's fetch: its broker id (-1: a consumer) and the epoch of the last batch
    // in its log (-1: none or not said).
    int32_t replica = -1;
    int32_t last_fetched_epoch = -1;
    // The follower's log diverged from this one (KIP-595's DivergingEpoch): where the epoch it
    // last fetched ends here.
    std::optional<storage::epoch_end> diverging;

    error_code error = error_code::none;
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;
    int64_t log_start_offset = -1;
    // read_committed: the aborted transactions overlapping the data read.
    std::vector<storage::aborted_txn> aborted;
    // Where the batches are in the segment files: sent with sendfile (response_sender.h).
    std::vector<storage::file_range> ranges;
    size_t size = 0;
    size_t first_batch_size = 0;
};

fetch_bound bound_of(const partition_read& r) {
    if (r.replica >= 0) return fetch_bound::log_end;
    return r.read_committed ? fetch_bound::last_stable : fetch_bound::high_watermark;
}

// A follower's fetch, before its read: whether its log diverged from this one (Kafka's
// validateFetchOffsetAndMaybeGetDivergingEpoch), else its progress, which may move the high
// watermark. False when there is nothing to read.
bool follower_fetch(partition& p, partition_read& r) {
    const auto& log = p.log();
    if (r.last_fetched_epoch >= 0) {
        const auto end = log.end_offset_for(r.last_fetched_epoch);
        if (end.epoch < 0 || end.end_offset < 0 || r.fetch_offset < log.log_start_offset()) {
            r.error = error_code::offset_out_of_range;
            return false;
        }
        if (end.epoch < r.last_fetched_epoch || end.end_offset < r.fetch_offset) {
            r.diverging = end;
            return false;
        }
    }
    r.error = p.follower_fetched(r.replica, r.fetch_offset, storage::wall_clock_ms());
    return r.error == error_code::none;
}

void read_one(kafka_services& b, shard_id owner, partition_read& r) {
    partition* p = b.partitions_on(owner).find(r.topic_id, r.index);
    if (!p) {
        r.error = error_code::unknown_topic_or_partition;
        return;
    }
    if (!p->leads()) {
        r.error = error_code::not_leader_or_follower;
        return;
    }
    r.aborted.clear();
    r.diverging.reset();
    const bool readable = r.replica < 0 || follower_fetch(*p, r);
    auto& log = p->log();
    r.high_watermark = p->high_watermark();
    r.last_stable_offset = p->last_stable_offset();
    r.log_start_offset = log.log_start_offset();
    if (!readable || r.max_bytes <= 0) return;
    // Always at least one whole batch, so a batch larger than the limits cannot stall a
    // consumer; the home shard trims later partitions to the response's limits.
    const int64_t end = p->readable_end(bound_of(r));
    auto read = log.read(r.fetch_offset, static_cast<size_t>(r.max_bytes), true,
                         storage::read_mode::zero_copy, end);
    if (!read) {
        r.error = map_to_kafka_error(read.error());
        return;
    }
    if (r.read_committed && !read->empty()) {
        // For everything read, even what the response limit trims later: extra entries are
        // harmless, missing ones would show aborted records.
        auto aborted = log.collect_aborted(r.fetch_offset, read->next_offset);
        if (!aborted) {
            r.error = map_to_kafka_error(aborted.error());
            return;
        }
        r.aborted = std::move(*aborted);
    }
    r.ranges = std::move(read->ranges);
    r.size = read->size;
    r.first_batch_size = static_cast<size_t>(read->first_batch_size);
}

// Length of the longest run of whole batches at the start of `ranges` within `budget`. Reads each
// batch's length field from the file (blocking: run it on the I/O pool), which is fine for the
// rare case it serves: the response-wide fetch.max.bytes cutting into a partition's data.
size_t whole_batches_within(const std::vector<storage::file_range>& ranges, size_t budget) {
    namespace bl = protocol::batch_layout;
    size_t used = 0;
    for (const auto& range : ranges) {
        for (size_t pos = 0; pos < range.length;) {
            uint8_t head[bl::log_overhead];
            auto at = range.position + static_cast<int64_t>(pos);
            auto got = range.log->read_at(head, sizeof head, at);
            if (!got || *got != sizeof head) return used;
            auto size =
                bl::log_overhead + static_cast<size_t>(bl::load_i32(head + bl::batch_length));
            if (used + size > budget) return used;
            used += size;
            pos += size;
        }
    }
    return used;
}

// Adds the first `keep` bytes of the ranges to the response as file chunks.
void add_file_chunks(protocol::record_set& records, const std::vector<storage::file_range>& ranges,
                     size_t keep) {
    for (const auto& range : ranges) {
        if (keep == 0) break;
        size_t take = std::min(keep, range.length);
        records.append(
            protocol::shared_bytes::in_file(range.log, range.log->fd(), range.position, take));
        keep -= take;
    }
}

asio::awaitable<std::vector<partition_read>> read_all(kafka_services& b, shard& home,
                                                      std::vector<partition_read> reads) {
    auto read_group =
        [&b](shard_id owner,
             std::vector<partition_read> items) -> asio::awaitable<std::vector<partition_read>> {
        for (auto& r : items) read_one(b, owner, r);
        co_return items;
    };
    co_return co_await run_on_owners(b.shards(), home, std::move(reads), read_group);
}

asio::awaitable<void> watch_all(kafka_services& b, shard& home,
                                const std::vector<partition_read>& reads,
                                std::shared_ptr<fetch_wakeup> wake) {
    auto watch_group = [&b, wake](shard_id owner, std::vector<partition_read> group)
        -> asio::awaitable<std::vector<partition_read>> {
        for (auto& w : group) {
            if (partition* p = b.partitions_on(owner).find(w.topic_id, w.index)) {
                p->watch(wake, w.fetch_offset, bound_of(w));
            } else {
                fetch_wakeup::wake(wake);
            }
        }
        co_return group;
    };
    std::vector<partition_read> items = reads;
    co_await run_on_owners(b.shards(), home, std::move(items), watch_group);
}

asio::awaitable<std::optional<fetch_response>> handle(request_context& ctx, fetch_request req) {
    kafka_services& b = ctx.services;
    const bool use_ids = ctx.api_version >= 13;
    fetch_response resp;
    resp.session_id = 0;
    if (req.session_id != 0) {
        resp.error_code = to_wire(error_code::fetch_session_id_not_found);
        co_return resp;
    }

    // A follower replica says who it is (ReplicaState from v15, KIP-903).
    const int32_t replica = ctx.api_version >= 15 ? req.replica_state.replica_id : req.replica_id;
    auto snap = b.topics().snapshot();
    std::vector<partition_read> reads;
    bool refused = false;
    for (size_t ti = 0; ti < req.topics.size(); ++ti) {
        auto& ft = req.topics[ti];
        auto& tr = resp.responses.emplace_back();
        tr.topic = ft.topic;
        tr.topic_id = ft.topic_id;
        auto topic = use_ids ? snap->find(ft.topic_id) : snap->find(ft.topic);
        for (auto& fp : ft.partitions) {
            auto& pd = tr.partitions.emplace_back();
            pd.partition_index = fp.partition;
            pd.high_watermark = -1;
            pd.last_stable_offset = -1;
            pd.log_start_offset = -1;
            // A partition refused before any read is answered as Kafka's partitionResponse does:
            // watermarks -1 and an empty (not null) list of aborted transactions.
            if (!topic) {
                pd.error_code = to_wire(use_ids ? error_code::unknown_topic_id
                                                : error_code::unknown_topic_or_partition);
                refused = true;
                pd.aborted_transactions.emplace();
                continue;
            }
            partition_read r;
            if (!locate_partition(topic.get(), fp.partition,
                                  make_slot(ti, tr.partitions.size() - 1), r)) {
                pd.error_code = to_wire(missing_partition_error(topic.get(), fp.partition));
                refused = true;
                pd.aborted_transactions.emplace();
                continue;
            }
            if (auto fenced = leader_epoch_check(r, fp.current_leader_epoch);
                fenced != error_code::none) {
                pd.error_code = to_wire(fenced);
                refused = true;
                continue;
            }
            r.fetch_offset = fp.fetch_offset;
            r.max_bytes = fp.partition_max_bytes;
            r.read_committed = req.isolation_level == 1 && replica < 0;
            r.replica = replica;
            r.last_fetched_epoch = replica >= 0 ? fp.last_fetched_epoch : -1;
            reads.push_back(r);
        }
    }

    note_work_shard(ctx, std::span<const partition_read>(reads));
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::milliseconds(std::max(0, req.max_wait_ms));
    std::vector<partition_read> results;
    for (;;) {
        results = co_await read_all(b, ctx.home, reads);
        size_t total = 0;
        // A partition refused up front answers at once too, as Kafka's fetch does on an error:
        // a follower asking a broker that does not lead a partition yet must not wait out
        // the long poll of the others to learn it.
        bool any_error = refused;
        for (const auto& r : results) {
            total += r.size;
            any_error = any_error || r.error != error_code::none || r.diverging;
        }
        if (total >= static_cast<size_t>(std::max(1, req.min_bytes)) || any_error ||
            reads.empty() || clock::now() >= deadline) {
            break;
        }
        auto wake = std::make_shared<fetch_wakeup>(ctx.home);
        co_await watch_all(b, ctx.home, reads, wake);
        if (!wake->fired) {
            wake->timer.expires_at(deadline);
            co_await wake->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (clock::now() >= deadline) {
            results = co_await read_all(b, ctx.home, reads);
            break;
        }
    }

    // Apply the response-wide limit in request order: the first non-empty partition keeps at
    // least its first batch (KIP-74), later ones only whole batches that fit. As Kafka, the
    // broker's fetch.max.bytes caps what the request asks for.
    size_t budget =
        static_cast<size_t>(std::max(0, std::min(req.max_bytes, b.config().fetch_max_bytes)));
    size_t used = 0;
    bool first_data = true;
    for (auto& r : results) {
        partition_data& pd = resp.responses[slot_topic(r.slot)].partitions[slot_partition(r.slot)];
        pd.error_code = to_wire(r.error);
        if (r.error != error_code::none) continue;  // watermarks -1, as Kafka answers errors
        pd.high_watermark = r.high_watermark;
        pd.last_stable_offset = r.last_stable_offset;
        pd.log_start_offset = r.log_start_offset;
        if (r.diverging) {
            pd.diverging_epoch.epoch = r.diverging->epoch;
            pd.diverging_epoch.end_offset = r.diverging->end_offset;
        }
        if (r.read_committed) {
            auto& list = pd.aborted_transactions.emplace();
            for (const auto& a : r.aborted) {
                auto& out = list.emplace_back();
                out.producer_id = a.producer_id;
                out.first_offset = a.first_offset;
            }
        }
        if (r.size == 0) continue;
        const size_t remaining = budget > used ? budget - used : 0;
        size_t limit;
        if (first_data) {
            first_data = false;
            limit = std::max(remaining, r.first_batch_size);
        } else {
            limit = std::min(remaining, static_cast<size_t>(std::max(0, r.max_bytes)));
        }
        size_t keep = r.size;
        if (r.size > limit) {
            // Finding where whole batches end reads their lengths from the files: on the I/O
            // pool, as a cold read would be, never on the shard.
            auto trim = [&r, limit]() -> asio::awaitable<size_t> {
                co_return whole_batches_within(r.ranges, limit);
            };
            keep = co_await asio::co_spawn(b.io_pool().get_executor(), trim(), asio::use_awaitable);
        }
        if (keep == 0) continue;
        used += keep;
        ctx.home.requests().fetched(r.topic_id, keep);
        add_file_chunks(pd.records, r.ranges, keep);
    }
    co_return resp;
}

}  // namespace

void register_fetch(dispatch& d) { d.add<api_types<1>>(handle); }

}  // namespace runnel::server
