// The log of one partition: a directory of segments in Apache Kafka's layout. Owned by exactly one
// shard thread; nothing here locks.
#pragma once

#include "storage/errors.h"
#include "storage/segment.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace runnel::storage {

// Storage's view of the topic configs; the server maps topic/broker configs onto it.
struct log_config {
    int64_t segment_bytes = int64_t{1} << 30;            // segment.bytes
    int64_t segment_ms = int64_t{7} * 24 * 3600 * 1000;  // segment.ms; < 0 = never roll by time
    int32_t index_interval_bytes = 4096;                 // index.interval.bytes
    int32_t segment_index_bytes = 10 << 20;              // segment.index.bytes
    // flush.messages: fdatasync once this many records were appended since the last flush
    // (<= 0 or the max value = never).
    int64_t flush_messages = std::numeric_limits<int64_t>::max();
    int64_t flush_ms = -1;  // flush.ms, checked on append; -1 = never
};

struct append_info {
    int64_t base_offset = -1;      // base offset given to the first batch
    int64_t last_offset = -1;      // last offset of the last batch
    int64_t log_append_time = -1;  // the log_append_time passed in, or -1
    int64_t record_count = 0;      // sum of records_count over the batches
};

struct read_result {
    // Whole batches back to back; shared so the server can wrap it as protocol::shared_bytes.
    std::shared_ptr<std::vector<uint8_t>> bytes;
    int64_t first_offset = -1;  // base offset of the first batch returned, -1 when empty
    int64_t next_offset = 0;    // one past the last offset returned; the requested offset if empty
    int64_t log_start_offset = 0;
    int64_t log_end_offset = 0;

    bool empty() const { return !bytes || bytes->empty(); }
};

// One batch found by timestamp; the caller walks its records for the exact offset.
struct timestamp_lookup {
    int64_t base_offset = 0;
    int64_t last_offset = 0;
    int64_t max_timestamp = no_timestamp;
    std::shared_ptr<std::vector<uint8_t>> batch;
};

class partition_log {
  public:
    // Loads the segments in `dir` (created if missing), recovers the last one (a torn or corrupt
    // tail is cut off and logged), rebuilds missing indexes, and creates segment 0 in an empty dir.
    static result<std::unique_ptr<partition_log>> open(std::filesystem::path dir,
                                                       log_config config);

    ~partition_log();
    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;

    // Appends one or more validated v2 batches (back to back), stamping their base offsets in
    // place. If log_append_time is set the caller has already stamped the timestamps. Rolls first
    // when the active segment is full (segment_bytes, index), old (segment_ms) or would overflow.
    result<append_info> append(std::span<uint8_t> batches, std::optional<int64_t> log_append_time);

    // Whole batches starting with the one containing `offset`, crossing segments, totalling at
    // most max_bytes (with min_one_batch the first batch is returned whole even if larger).
    // offset == log_end_offset gives an empty result; outside [log_start, log_end] is
    // errc::offset_out_of_range.
    result<read_result> read(int64_t offset, size_t max_bytes, bool min_one_batch) const;

    // The first batch whose max_timestamp >= ts, or nullopt.
    result<std::optional<timestamp_lookup>> find_batch_by_timestamp(int64_t ts) const;
    // The batch holding the largest timestamp (the first one, if several), or nullopt when the log
    // is empty or no batch carries a timestamp.
    result<std::optional<timestamp_lookup>> max_timestamp_batch() const;

    int64_t log_start_offset() const { return segments_.front().base_offset(); }
    int64_t log_end_offset() const { return next_offset_; }
    // The offset the next appended record gets (equal to log_end_offset for now).
    int64_t next_offset() const { return next_offset_; }
    int64_t size_bytes() const;
    size_t segment_count() const { return segments_.size(); }
    std::vector<int64_t> segment_base_offsets() const;
    const std::filesystem::path& dir() const { return dir_; }
    const log_config& config() const { return config_; }

    // fdatasync of the active segment (older ones were flushed when they were rolled).
    std::error_code flush();
    // Flushes and closes every segment; later calls return errc::log_closed.
    std::error_code close();
    // Deletes a partition directory and everything in it (the log must be closed).
    static std::error_code remove(const std::filesystem::path& dir);

    // Replaces the wall clock (ms) used for segment_ms and flush_ms; for tests.
    void set_clock(std::function<int64_t()> clock) { clock_ = std::move(clock); }

  private:
    partition_log(std::filesystem::path dir, log_config config);
    segment_options options() const;
    int64_t now_ms() const { return clock_(); }
    std::error_code roll(int64_t now);
    // Index of the segment whose range holds `offset` (the last with base <= offset).
    size_t segment_for(int64_t offset) const;
    result<timestamp_lookup> read_batch(const segment& seg, const batch_header& h) const;

    std::filesystem::path dir_;
    log_config config_;
    std::vector<segment> segments_;  // sorted by base offset; back() is the active one
    int64_t next_offset_ = 0;
    int64_t unflushed_messages_ = 0;
    int64_t last_flush_ms_ = 0;
    bool closed_ = false;
    std::function<int64_t()> clock_;
};

}  // namespace runnel::storage
