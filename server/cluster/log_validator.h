// Kafka's LogValidator for this broker: the checks a client's record batches pass before they go
// into a partition's log. Framing, CRC-32C and decompression come from protocol::validate_batches;
// the rest depends on the topic's settings and on the Produce version that carried the batches.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "protocol/errors.h"

namespace runnel::server {

class topic_config;

// What the Produce request's version allows (ProduceRequest.validateRecords, KIP-110).
struct produce_rules {
    bool single_batch = true;  // v3+: exactly one batch per partition
    bool zstd_allowed = true;  // v7+: zstd, so older clients never get what they cannot read
};

struct batch_refusal {
    protocol::error_code error = protocol::error_code::none;
    std::string message;
    // For a refusal of one record (a timestamp out of range, a null key in a compacted topic):
    // its index in the batch, which Produce v8+ reports in RecordErrors as Kafka does.
    std::optional<int32_t> record_index;
};

// Why `batches` for partition `topic`-`index` are refused, or nullopt. `now_ms` is the broker's
// clock, for message.timestamp.before/after.max.ms (KIP-937).
std::optional<batch_refusal> validate_client_batches(std::span<const uint8_t> batches,
                                                     const topic_config& config,
                                                     const produce_rules& rules,
                                                     const std::string& topic, int32_t index,
                                                     int64_t now_ms);

}  // namespace runnel::server
