// The record batch the load generator sends: built once (v2, uncompressed, no key, values of
// pseudo-random bytes) and resent unchanged, since the broker stamps base offsets itself. For
// end-to-end latency the intended send time is written into the first record's value (and the
// CRC redone), so a consumer can tell when each batch left.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace runnel::bench {

struct load_batch {
    std::vector<uint8_t> bytes;
    // Where the first record's value starts in `bytes` (it holds the send time; values are at
    // least 8 bytes).
    size_t send_time_at = 0;
};

load_batch build_load_batch(int records, int value_bytes);

// Writes `send_ns` (monotonic clock) into a copy of the batch (wherever it now lies, e.g. inside
// a request) at `send_time_at`, and recomputes the CRC.
void stamp_send_time(std::span<uint8_t> batch, size_t send_time_at, int64_t send_ns);

// The send time stamped into a fetched batch (its first record's first 8 value bytes); -1 when
// the first record has no such value.
int64_t stamped_send_time(std::span<const uint8_t> batch);

}  // namespace runnel::bench
