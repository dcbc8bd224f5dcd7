#include "server/cluster/log_validator.h"

#include "protocol/record_batch.h"
#include "server/cluster/partition.h"

namespace runnel::server {

using protocol::error_code;

std::optional<batch_refusal> validate_client_batches(std::span<const uint8_t> batches,
                                                     const partition_settings& settings,
                                                     const produce_rules& rules,
                                                     const std::string& topic, int32_t index,
                                                     int64_t now_ms) {
    const std::string where = topic + "-" + std::to_string(index);
    if (batches.empty()) {
        return batch_refusal{error_code::corrupt_message,
                             "The produce request carries no record batch."};
    }
    auto check = protocol::validate_batches(batches, settings.max_message_bytes);
    if (check.error != error_code::none) return batch_refusal{check.error, check.message};
    if (rules.single_batch && check.batch_count != 1) {
        return batch_refusal{error_code::invalid_record,
                             "Produce requests with version 3 and above must contain exactly one "
                             "record batch per partition."};
    }
    if (!rules.zstd_allowed &&
        protocol::parse_batch_header(batches)->codec() == protocol::compression_codec::zstd) {
        return batch_refusal{error_code::unsupported_compression_type,
                             "Produce requests with ZStandard compression need version 7 or "
                             "later."};
    }
    if (!settings.log_append_time && check.min_timestamp >= 0 &&
        (now_ms - check.min_timestamp > settings.timestamp_before_max_ms ||
         check.max_timestamp - now_ms > settings.timestamp_after_max_ms)) {
        return batch_refusal{error_code::invalid_timestamp,
                             "Timestamp of a record in " + where +
                                 " is out of range (message.timestamp.before.max.ms / "
                                 "message.timestamp.after.max.ms)."};
    }
    if (settings.compact && check.has_null_key) {
        return batch_refusal{error_code::invalid_record,
                             "Compacted topic cannot accept message without key in topic "
                             "partition " +
                                 where + "."};
    }
    return std::nullopt;
}

}  // namespace runnel::server
