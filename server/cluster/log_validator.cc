#include "server/cluster/log_validator.h"

#include <functional>

#include "protocol/record_batch.h"
#include "server/cluster/partition.h"

namespace runnel::server {

using protocol::error_code;

namespace {

batch_refusal refuse(error_code e, std::string message,
                     std::optional<int32_t> record_index = std::nullopt) {
    return {e, std::move(message), record_index};
}

// The index of the first record of the (single) batch for which `bad` holds, or nullopt.
std::optional<int32_t> first_record_where(std::span<const uint8_t> batches,
                                          const std::function<bool(const protocol::record&)>& bad) {
    std::optional<int32_t> found;
    int32_t i = 0;
    std::vector<uint8_t> scratch;
    protocol::for_each_record(
        batches,
        [&](const protocol::record& r) {
            if (bad(r)) {
                found = i;
                return false;
            }
            ++i;
            return true;
        },
        &scratch);
    return found;
}

}  // namespace

std::optional<batch_refusal> validate_client_batches(std::span<const uint8_t> batches,
                                                     const topic_config& config,
                                                     const produce_rules& rules,
                                                     const std::string& topic, int32_t index,
                                                     int64_t now_ms) {
    const std::string where = topic + "-" + std::to_string(index);
    if (batches.empty()) {
        return refuse(error_code::corrupt_message, "The produce request carries no record batch.");
    }
    auto check = protocol::validate_batches(batches, config.max_message_bytes());
    if (check.error != error_code::none) return refuse(check.error, check.message);
    if (rules.single_batch && check.batch_count != 1) {
        return refuse(error_code::invalid_record,
                      "Produce requests with version 3 and above must contain exactly one "
                      "record batch per partition.");
    }
    if (!rules.zstd_allowed &&
        protocol::parse_batch_header(batches)->codec() == protocol::compression_codec::zstd) {
        return refuse(error_code::unsupported_compression_type,
                      "Produce requests with ZStandard compression need version 7 or "
                      "later.");
    }
    auto out_of_range = [&](int64_t ts) {
        return ts >= 0 && (now_ms - ts > config.message_timestamp_before_max_ms() ||
                           ts - now_ms > config.message_timestamp_after_max_ms());
    };
    if (!config.log_append_time() && check.min_timestamp >= 0 &&
        (out_of_range(check.min_timestamp) || out_of_range(check.max_timestamp))) {
        auto index = first_record_where(
            batches, [&](const protocol::record& r) { return out_of_range(r.timestamp); });
        return refuse(error_code::invalid_timestamp,
                      "Timestamp of a record in " + where +
                          " is out of range (message.timestamp.before.max.ms / "
                          "message.timestamp.after.max.ms).",
                      index.value_or(0));
    }
    if (config.compact() && check.has_null_key) {
        auto index = first_record_where(batches, [](const protocol::record& r) { return !r.key; });
        return refuse(error_code::invalid_record,
                      "Compacted topic cannot accept message without key in topic "
                      "partition " +
                          where + ".",
                      index.value_or(0));
    }
    return std::nullopt;
}

}  // namespace runnel::server
