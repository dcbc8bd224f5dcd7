// Reads partitions of one topic from given offsets with Fetch (full fetches, no session): builds
// each request from the current offsets and walks the whole batches of each response.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "protocol/messages/fetch.h"

namespace runnel::bench {

class fetch_reader {
  public:
    // `max_wait_ms` / min_bytes = 1: a long poll that answers as soon as anything is there.
    fetch_reader(const std::string& topic, const std::vector<int32_t>& partitions,
                 int32_t partition_max_bytes, int32_t max_wait_ms);

    // The next Fetch request frame, for the current offsets.
    std::vector<uint8_t> request(int32_t correlation_id) const;

    // Takes the response to request(correlation_id): calls `on_batch` for each whole batch and
    // moves each partition's offset past them. Throws on a partition error.
    void take(std::span<const uint8_t> frame, int32_t correlation_id,
              const std::function<void(std::span<const uint8_t> batch)>& on_batch);

    // True once every partition has been read up to the high watermark its last response gave.
    bool caught_up() const;
    // Starts again from offset 0.
    void rewind();

  private:
    protocol::msg::fetch_request request_;
    std::vector<int64_t> high_watermarks_;
};

}  // namespace runnel::bench
