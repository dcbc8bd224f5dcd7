// Wall-clock time in milliseconds since the epoch: what Kafka stores in timestamps, checkpoints
// and transaction state, and compares retention and timeouts against.
#pragma once

#include <chrono>
#include <cstdint>

namespace runnel::storage {

inline int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace runnel::storage
