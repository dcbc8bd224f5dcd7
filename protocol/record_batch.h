// Record batch v2: header decoding, validation of produced batches, in-place stamping, record
// iteration and a builder. Byte layout: protocol/record_batch_header.h.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/compression.h"
#include "protocol/errors.h"
#include "protocol/record_batch_header.h"

namespace runnel::protocol {

inline constexpr int8_t current_magic = 2;
// batch_length of a batch with no records: the header after the batch_length field.
inline constexpr int32_t min_batch_length =
    static_cast<int32_t>(batch_layout::header_size - batch_layout::log_overhead);

// Bound on the decompressed records of one batch: max(64 MiB, 16 x the compressed size). Kafka
// has none; this keeps a small "zip bomb" from costing more than a large honest batch, while
// leaving far more room than real producers use (their batch.size counts compressed bytes, and
// 16:1 is beyond typical record compression ratios).
constexpr size_t max_decompressed_records_size(size_t compressed_size) {
    constexpr size_t floor = size_t{64} << 20;
    return compressed_size > floor / 16 ? compressed_size * 16 : floor;
}

struct batch_header {
    int64_t base_offset = 0;
    int32_t batch_length = 0;
    int32_t partition_leader_epoch = -1;
    int8_t magic = 0;
    uint32_t crc = 0;
    int16_t attributes = 0;
    int32_t last_offset_delta = 0;
    int64_t base_timestamp = -1;
    int64_t max_timestamp = -1;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    int32_t records_count = 0;

    // Raw bits 0-2; values above 4 are not a known codec (validate_batches rejects them).
    int codec_id() const { return attributes & batch_layout::compression_mask; }
    compression_codec codec() const { return static_cast<compression_codec>(codec_id()); }
    bool is_transactional() const { return (attributes & batch_layout::transactional_bit) != 0; }
    bool is_control() const { return (attributes & batch_layout::control_bit) != 0; }
    bool log_append_time() const { return (attributes & batch_layout::timestamp_type_bit) != 0; }
    // Bytes the batch occupies in a log, including base_offset and batch_length.
    int64_t total_size() const { return int64_t{batch_length} + 12; }
    int64_t last_offset() const { return base_offset + last_offset_delta; }
};

// Decodes the fixed 61-byte header; nullopt if fewer bytes are given. Fields are not checked.
std::optional<batch_header> parse_batch_header(std::span<const uint8_t> bytes);

struct batch_validation {
    error_code error = error_code::none;
    std::string message;  // what was wrong, for Produce v8+ error_message; empty when valid
    int32_t batch_count = 0;
    int64_t record_count = 0;
    // Aggregates over the records of valid payloads, for the checks that depend on topic config
    // (message.timestamp.*.max.ms, cleanup.policy=compact). Timestamps of -1 (none) are skipped;
    // both stay -1 when no record has one.
    int64_t min_timestamp = -1;
    int64_t max_timestamp = -1;
    bool has_null_key = false;
};

// Validates a Produce request's records payload (one or more v2 batches back to back) in one pass,
// with Kafka's error code for each problem:
//   corrupt_message   empty payload, trailing partial batch, batch_length < 49, CRC mismatch,
//                     unknown codec, records that cannot be decompressed
//   message_too_large a batch (including its 12-byte log overhead) above max_batch_bytes
//   invalid_record    magic 0 or 1 (Produce v3+ requires v2), base_offset != 0, control batch,
//                     records_count <= 0 or != last_offset_delta + 1, a producer id without a
//                     base sequence, a record that does not parse exactly, records not filling the
//                     payload exactly, offset deltas other than 0, 1, 2, ...
// A magic above 2 is corrupt_message, as Kafka's batch reader reports it.
// Stops at the first problem. A negative max_batch_bytes disables the size check. Allocates only
// the message and a per-thread decompression buffer.
batch_validation validate_batches(std::span<const uint8_t> records, int32_t max_batch_bytes);

// Writes base_offset (not covered by the CRC). No-op on fewer than 8 bytes.
void stamp_base_offset(std::span<uint8_t> batch, int64_t base_offset);

// Writes partition_leader_epoch (not covered by the CRC), as Kafka does on every leader append.
void stamp_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);

// Kafka's in-place LogAppendTime update: sets the timestamp-type attribute bit and max_timestamp
// = now_ms, leaves base_timestamp and the record deltas alone (readers use max_timestamp for every
// record), and recomputes the CRC. No-op unless `batch` holds a whole batch.
void stamp_log_append_time(std::span<uint8_t> batch, int64_t now_ms);

struct record_header {
    std::string_view key;
    std::optional<std::span<const uint8_t>> value;
};

struct record {
    int64_t offset = 0;
    int64_t timestamp = -1;
    std::optional<std::span<const uint8_t>> key, value;
    std::vector<record_header> headers;
};

// Calls `fn` for each record of one batch (the first batch in `batch`), in order; spans point into
// `batch` or into the decompression scratch and are valid only during the call. `scratch` may be
// null (a temporary is used). Returns false on malformed input (the CRC is not checked here;
// validate_batches does). `fn` returning false stops the iteration and the result is true.
// Offset deltas may have gaps (compacted batches); LogAppendTime batches report max_timestamp
// as every record's timestamp, otherwise base_timestamp + delta.
bool for_each_record(std::span<const uint8_t> batch, const std::function<bool(const record&)>& fn,
                     std::vector<uint8_t>* scratch_for_decompression);

struct record_input {
    std::optional<std::string> key, value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    int64_t timestamp = -1;
};

struct batch_options {
    compression_codec codec = compression_codec::none;
    std::optional<int32_t> compression_level;  // nullopt: the codec's default (compress())
    int64_t base_offset = 0;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    bool transactional = false;
    bool control = false;
    int32_t partition_leader_epoch = -1;
};

// `batch` (one whole v2 batch) with its records stored under `codec`, as Kafka's LogValidator
// recompresses for a topic's compression.type: producer id, epoch, base sequence, the
// transactional bit, the records' timestamps, keys, values and headers kept; offset deltas
// renumbered 0..n-1. nullopt when the records cannot be read.
std::optional<std::vector<uint8_t>> recompress_batch(std::span<const uint8_t> batch,
                                                     compression_codec codec,
                                                     std::optional<int32_t> level = std::nullopt);

// Builds a v2 batch with offset deltas 0..n-1, base_timestamp = the first record's timestamp,
// max_timestamp = the largest, and a valid CRC. With no records: records_count 0 and
// last_offset_delta 0.
std::vector<uint8_t> build_batch(const batch_options& options,
                                 const std::vector<record_input>& records);

}  // namespace runnel::protocol
