// partition: the write path every writer of a partition's log takes (Produce, the group and
// transaction coordinators, transaction markers; later replication and streams), and the
// maintenance calls that change the log.
#include "protocol/record_batch.h"
#include "server/cluster/error_mapping.h"
#include "server/cluster/partition.h"
#include "storage/wall_clock.h"

namespace runnel::server {

namespace {

// The client's batches with every batch not already in `codec` rebuilt in it; empty when none
// needs it; nullopt when one cannot be read (validation has passed, so only on a bug).
std::optional<std::vector<uint8_t>> recompress_batches(std::span<const uint8_t> batches,
                                                       protocol::compression_codec codec,
                                                       std::optional<int32_t> level) {
    std::vector<uint8_t> out;
    bool changed = false;
    for (size_t pos = 0; pos < batches.size();) {
        auto h = protocol::parse_batch_header(batches.subspan(pos));
        if (!h) return std::nullopt;
        auto one = batches.subspan(pos, static_cast<size_t>(h->total_size()));
        pos += one.size();
        if (h->codec() == codec || h->records_count == 0) {
            out.insert(out.end(), one.begin(), one.end());
            continue;
        }
        auto rebuilt = protocol::recompress_batch(one, codec, level);
        if (!rebuilt) return std::nullopt;
        out.insert(out.end(), rebuilt->begin(), rebuilt->end());
        changed = true;
    }
    if (!changed) out.clear();
    return out;
}

// compression.type as the codec client batches are stored with; none for producer (keep
// what the client sent).
std::optional<protocol::compression_codec> stored_codec(compression_type c) {
    switch (c) {
        case compression_type::producer:
            return std::nullopt;
        case compression_type::uncompressed:
            return protocol::compression_codec::none;
        case compression_type::gzip:
            return protocol::compression_codec::gzip;
        case compression_type::snappy:
            return protocol::compression_codec::snappy;
        case compression_type::lz4:
            return protocol::compression_codec::lz4;
        case compression_type::zstd:
            return protocol::compression_codec::zstd;
    }
    return std::nullopt;
}

// The topic's compression.<codec>.level for `codec` (KIP-390); nullopt where it has none.
std::optional<int32_t> level_for(const topic_config& c, protocol::compression_codec codec) {
    switch (codec) {
        case protocol::compression_codec::gzip:
            return c.compression_gzip_level();
        case protocol::compression_codec::lz4:
            return c.compression_lz4_level();
        case protocol::compression_codec::zstd:
            return c.compression_zstd_level();
        default:
            return std::nullopt;
    }
}

}  // namespace

append_result partition::append(std::span<uint8_t> batches, storage::append_origin origin,
                                const produce_rules& rules) {
    if (origin == storage::append_origin::client) {
        if (auto refused = validate_client_batches(batches, config_, rules, topic_, index_,
                                                   storage::wall_clock_ms())) {
            append_result r;
            r.error = refused->error;
            r.message = std::move(refused->message);
            r.record_index = refused->record_index;
            // Kafka reports the log start offset with a refused record (it read the log to
            // validate it), and -1 with a refused batch.
            if (r.record_index) r.log_start_offset = log_->log_start_offset();
            return r;
        }
    }
    const size_t received = batches.size();
    // compression.type (not producer): client batches in another codec are stored recompressed,
    // as Kafka's LogValidator does; the new batch must still fit max.message.bytes.
    std::vector<uint8_t> recompressed;
    const auto store_codec = stored_codec(config_.compression());
    if (origin == storage::append_origin::client && store_codec) {
        auto converted =
            recompress_batches(batches, *store_codec, level_for(config_, *store_codec));
        if (!converted) {
            append_result r;
            r.error = protocol::error_code::corrupt_message;
            r.message = "Cannot read the records of " + topic_ + "-" + std::to_string(index_) +
                        " to store them with compression.type";
            return r;
        }
        if (!converted->empty()) {
            if (converted->size() > static_cast<size_t>(config_.max_message_bytes())) {
                append_result r;
                r.error = protocol::error_code::message_too_large;
                r.message = "The batch recompressed with the topic's compression.type has " +
                            std::to_string(converted->size()) +
                            " bytes, more than max.message.bytes.";
                return r;
            }
            recompressed = std::move(*converted);
            batches = std::span<uint8_t>(recompressed);
        }
    }
    std::optional<int64_t> append_time;
    if (config_.log_append_time()) {
        append_time = storage::wall_clock_ms();
        for (size_t pos = 0; pos < batches.size();) {
            auto h = protocol::parse_batch_header(batches.subspan(pos));
            auto size = static_cast<size_t>(h->total_size());
            protocol::stamp_log_append_time(batches.subspan(pos, size), *append_time);
            pos += size;
        }
    }
    append_result r = appended(log_->append(batches, append_time, origin));
    if (origin == storage::append_origin::client && r.ok() && !r.duplicate) {
        // Kafka's BytesInPerSec counts what clients sent (before any recompression).
        traffic_.bytes_in += received;
        traffic_.messages_in += static_cast<uint64_t>(r.last_offset - r.base_offset + 1);
    }
    return r;
}

append_result partition::append_marker(int64_t producer_id, int16_t producer_epoch,
                                       protocol::txn_result result, int32_t coordinator_epoch) {
    return appended(log_->append_marker(producer_id, producer_epoch, result, coordinator_epoch,
                                        storage::wall_clock_ms()));
}

append_result partition::appended(storage::result<storage::append_info> a) {
    append_result r;
    if (!a) {
        r.cause = a.error();
        r.error = map_to_kafka_error(a.error());
        r.message = "Cannot append to " + topic_ + "-" + std::to_string(index_) + ": " +
                    a.error().message();
        r.log_start_offset = log_->log_start_offset();
        return r;
    }
    r.base_offset = a->base_offset;
    r.last_offset = a->last_offset;
    r.log_append_time = a->log_append_time;
    r.log_start_offset = log_->log_start_offset();
    r.duplicate = a->duplicate;
    if (a->duplicate) {
        // An idempotent producer's retry, acknowledged with the original offsets. With a flush
        // per message the original may still be waiting for its sync; so does the retry.
        if (log_->config().flush_messages == 1) r.flush_end_offset = a->last_offset + 1;
        return r;
    }
    if (a->flush_due) r.flush_end_offset = a->last_offset + 1;
    if (a->flush_due || a->rolled) sync_.request(io_pool_);
    data_arrived();
    maybe_advance_high_watermark();  // a leader alone in its ISR
    return r;
}

storage::result<storage::retention_result> partition::delete_old_segments(int64_t now_ms,
                                                                          int64_t retention_ms,
                                                                          int64_t retention_bytes) {
    return log_->delete_old_segments(now_ms, retention_ms, retention_bytes);
}

storage::result<int64_t> partition::delete_records_before(int64_t offset) {
    return log_->delete_records_before(offset);
}

storage::result<storage::cleaning_result> partition::clean(const storage::cleaning_options& o,
                                                           int64_t now_ms) {
    return log_->clean(o, now_ms);
}

size_t partition::expire_producers(int64_t now_ms, int64_t expiration_ms) {
    return log_->expire_producers(now_ms, expiration_ms);
}

std::error_code partition::close(storage::partition_log::close_sync sync) {
    return log_->close(sync);
}

}  // namespace runnel::server
