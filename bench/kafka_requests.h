// Kafka request frames for the load generators, encoded with the project's generated codecs:
// the whole size-prefixed frame is built once and only its correlation id changes per send.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages/fetch.h"

namespace runnel::bench {

// Versions spoken: Produce v9 and Fetch v12 are the first flexible ones, and Fetch v12 is the
// last that names topics (v13 wants topic ids, which would need a Metadata round trip).
inline constexpr int16_t produce_version = 9;
inline constexpr int16_t fetch_version = 12;

struct request_frame {
    std::vector<uint8_t> bytes;
    // Where each record set of the request starts in `bytes`, in request order.
    std::vector<size_t> records_at;
    // Produce only: where each partition's index (an int32 before its record set) lies in `bytes`,
    // in request order, so a prebuilt request can be sent to other partitions (set_partition).
    std::vector<size_t> partition_at;
};

// One Produce request carrying `batch` for each of `partitions` of `topic`.
request_frame encode_produce(const std::string& topic, const std::vector<int32_t>& partitions,
                             std::span<const uint8_t> batch, int16_t acks);
request_frame encode_fetch(const protocol::msg::fetch_request& request);

void set_correlation_id(std::span<uint8_t> frame, int32_t correlation_id);
// Points the `i`-th record set of a Produce request at partition `partition` instead.
void set_partition(request_frame& frame, size_t i, int32_t partition);

// A response frame's body, after its (flexible) header; throws if the correlation id is not the
// one expected. The reader points into `frame`, record sets included (no copy).
protocol::reader response_body(std::span<const uint8_t> frame, int32_t correlation_id);

// Throws std::runtime_error if any partition of a Produce response reports an error.
void check_produce_response(std::span<const uint8_t> frame, int32_t correlation_id);

}  // namespace runnel::bench
