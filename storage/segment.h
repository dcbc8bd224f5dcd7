// One log segment: <base>.log (record batches exactly as received, base offsets stamped) plus its
// sparse <base>.index and <base>.timeindex and, once a transaction aborted in it, <base>.txnindex,
// in Apache Kafka's on-disk format. A segment is owned by
// a single shard thread; nothing here locks.
#pragma once

#include "protocol/record_batch.h"
#include "storage/errors.h"
#include "storage/file.h"
#include "storage/offset_index.h"
#include "storage/open_file_cache.h"
#include "storage/time_index.h"
#include "storage/transaction_index.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace runnel::storage {

// A batch's header as storage reads it from a file: the wire fields (protocol::batch_header) and
// where the batch sits.
struct batch_header : protocol::batch_header {
    int64_t position = 0;  // in the .log file (or in a buffer)

    int64_t next_offset() const { return last_offset() + 1; }
};

// Parses the 61-byte header at p. Checks only what makes the batch walkable and v2 (length at least
// a header, magic 2, last_offset_delta >= 0); the CRC is not verified here.
std::optional<batch_header> parse_batch_header(const uint8_t* p, int64_t position);

// Segment file names: the base offset as 20 zero-padded digits plus the suffix.
std::string segment_file_name(int64_t base_offset, std::string_view suffix);
std::optional<int64_t> parse_segment_file_name(std::string_view name, std::string_view suffix);

inline constexpr std::string_view log_suffix = ".log";
inline constexpr std::string_view index_suffix = ".index";
inline constexpr std::string_view time_index_suffix = ".timeindex";

struct segment_options {
    int32_t index_interval_bytes = 4096;     // index.interval.bytes
    int32_t segment_index_bytes = 10 << 20;  // segment.index.bytes: cap of each index file
};

// A run of whole batches in the .log file.
struct segment_read {
    int64_t position = 0;
    size_t length = 0;
    int64_t first_offset = -1;  // base offset of the first batch; -1 when empty
    int64_t last_offset = -1;   // last offset of the last batch; -1 when empty
    int64_t first_batch_size = 0;
    bool to_end = false;  // the run ends at the end of the segment
};

class segment {
  public:
    segment(segment&&) noexcept = default;
    segment& operator=(segment&&) noexcept = default;

    // Creates an empty active segment; fails if its .log already exists.
    // A create that fails part way (no space for an index, say) removes the files it made.
    static result<segment> create(const std::filesystem::path& dir, int64_t base_offset,
                                  const segment_options& options, int64_t now_ms);
    // Opens an existing segment and loads its indexes (trimmed) without scanning the log. When an
    // index was missing or does not fit the log, needs_recovery() is true and the caller must
    // recover() (or, for a trusted last segment, load_tail()).
    static result<segment> open(const std::filesystem::path& dir, int64_t base_offset,
                                const segment_options& options, int64_t now_ms);

    int64_t base_offset() const { return base_offset_; }
    int64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // One past the last offset written; only known after recover() or an append (else nullopt).
    std::optional<int64_t> next_offset() const { return next_offset_; }
    int64_t max_timestamp() const { return max_timestamp_; }
    // Kafka's LogSegment.largestTimestamp: max_timestamp() when some batch carried one (>= 0),
    // else the .log file's modification time; retention.ms compares against it.
    result<int64_t> largest_timestamp() const;
    // Last offset of the first batch holding max_timestamp().
    int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
    bool needs_recovery() const { return needs_recovery_; }
    bool index_full() const { return offset_index_.full() || time_index_.full(); }
    // Wall-clock ms of the first append (for segment.ms); for a reopened segment, the first
    // batch's max timestamp when it has one, else the time it was opened.
    int64_t first_append_ms() const { return first_append_ms_; }
    const std::filesystem::path& log_path() const { return log_.path(); }
    // The .log file, for sendfile(2): holding it keeps the descriptor open after the segment is
    // closed or deleted, or the open file cache closes it.
    result<std::shared_ptr<const file>> log_file() const {
        auto f = log_.get();
        if (!f) return f.error();
        return std::shared_ptr<const file>(std::move(*f));
    }
    const offset_index& offsets() const { return offset_index_; }
    const time_index& times() const { return time_index_; }
    // The aborted transactions whose markers are in this segment (transaction_index.h).
    transaction_index& txn_index() { return txn_index_; }
    const transaction_index& txn_index() const { return txn_index_; }

    // Appends whole batches (base offsets already stamped). `last_offset` is the last offset in
    // them, `offset_of_max_timestamp` the last offset of the first batch holding max_timestamp. On
    // failure nothing is left behind: the .log is cut back to its old size.
    std::error_code append(std::span<const uint8_t> batches, int64_t last_offset,
                           int64_t max_timestamp, int64_t offset_of_max_timestamp, int64_t now_ms);

    // Whole batches starting at `position` (which must be a batch start), at most max_bytes in
    // total; with min_one_batch the first batch is included even if larger. If `out` is given
    // the bytes are appended to it (one pread, trimmed to whole batches); without it only the
    // headers are read, for callers that send the range with sendfile(2). With end_position >= 0
    // (a batch start) nothing at or past it is returned, min_one_batch or not. `first`, when the
    // caller has it (from find_position), is the header at `position` and is not read again.
    result<segment_read> read(int64_t position, size_t max_bytes, bool min_one_batch,
                              std::vector<uint8_t>* out = nullptr, int64_t end_position = -1,
                              const batch_header* first = nullptr) const;
    // Copies `length` bytes at `position` (e.g. a range returned by read()).
    std::error_code read_bytes(int64_t position, size_t length, uint8_t* out) const;

    // The batch containing `offset` (base <= offset <= last), or else the first batch after it;
    // nullopt when every batch here ends before `offset`.
    result<std::optional<batch_header>> find_position(int64_t offset) const;
    // The first batch whose max_timestamp >= timestamp and whose last offset >= start_offset, or
    // nullopt.
    result<std::optional<batch_header>> find_by_timestamp(int64_t timestamp,
                                                          int64_t start_offset = 0) const;
    // Header of the batch at `position`.
    result<batch_header> read_header(int64_t position) const;
    // Calls f(header) for every batch from the one containing `offset` on (framing only, no CRC:
    // the segment was recovered or trusted already).
    std::error_code for_each_header(int64_t offset,
                                    const std::function<void(const batch_header&)>& f) const;

    // Scans every batch from the start (sane length, magic 2, valid CRC-32C, increasing offsets),
    // cuts the file after the last good batch and rebuilds both indexes. Transaction index entries
    // whose markers were cut off go too (rebuilding the rest needs the producer state:
    // partition_log does it). Returns the bytes dropped.
    result<int64_t> recover() {
        auto scan = recover_after(base_offset_);
        if (!scan) return scan.error();
        return scan->dropped;
    }
    // recover(), but the batches wholly below recovery_point (flushed, with their index entries,
    // before the recovery point was checkpointed) are trusted: the scan starts at the last offset
    // index entry below it, after checking the batch there. Without such an entry, or if it does
    // not match the log, the whole segment is scanned. A crash then re-reads only what was written
    // since the last flush, not the whole active segment (Kafka's LogLoader scans it all).
    struct recovery_scan {
        int64_t dropped = 0;  // bytes cut off the end
        // The first offset whose .txnindex entries may be missing: the recovery point (the log
        // end if lower) when the batches below it were trusted, else the base offset.
        int64_t untrusted_from = 0;
    };
    result<recovery_scan> recover_after(int64_t recovery_point);
    // For a segment trusted without recover() (a clean shutdown): finds next_offset() by walking
    // the batch headers after the last offset index entry (framing only, no CRC), as Kafka's
    // readNextOffset does. Returns false, and sets needs_recovery(), if the walk finds a bad
    // header or a batch running past the end of the file.
    result<bool> load_tail();
    // Cuts the batch holding `offset` and everything after it (a replica truncated after a leader
    // change), then rebuilds the indexes past the last offset index entry before the cut, as
    // recovery does. Returns the bytes cut.
    result<int64_t> truncate_to(int64_t offset);

    // When the segment stops being the active one (roll, close): writes the final time index
    // entry (the largest timestamp), as Kafka does, and both index files in full.
    std::error_code seal();
    // Syncs the .log and writes and syncs the indexes, here and now.
    std::error_code flush();
    // For a flush run on another thread: duplicates of the .log (and .txnindex) descriptors to
    // sync, and the index entries not yet written (index_file.h).
    std::error_code add_to_flush(std::vector<file>& files, std::vector<index_write>& index_writes);
    // That flush failed: its index entries go into the next one again.
    void flush_failed() {
        offset_index_.requeue();
        time_index_.requeue();
    }
    // Whether close() need not write the indexes: every entry is written and synced (or handed
    // to a flush job) and sealing would add no final time index entry.
    bool indexes_settled() const;
    // Seals (unless `seal_first` is false: the indexes are settled) and closes the files.
    std::error_code close(bool seal_first = true);
    // Closes and deletes the files; with keep_txn_index the .txnindex stays (the cleaner hands it
    // to the segment that replaces this one at the same base offset).
    std::error_code remove(bool keep_txn_index = false);

  private:
    segment() = default;
    // Walks the batch headers from `position` (a batch start) while visit(header) returns true,
    // reading through a window of `window_size` bytes. A malformed header or a batch running past
    // the end of the file is errc::corrupt_segment.
    std::error_code walk_headers(int64_t position, size_t window_size,
                                 const std::function<bool(const batch_header&)>& visit) const;
    static result<segment> open_files(const std::filesystem::path& dir, int64_t base_offset,
                                      const segment_options& options, bool create);

    std::filesystem::path dir_;
    int64_t base_offset_ = 0;
    segment_options options_;
    cached_file log_;  // opened on demand (open_file_cache.h); shared with sendfile senders
    offset_index offset_index_;
    time_index time_index_;
    transaction_index txn_index_;
    int64_t size_ = 0;
    std::optional<int64_t> next_offset_;
    int64_t max_timestamp_ = no_timestamp;
    int64_t offset_of_max_timestamp_ = -1;
    int64_t bytes_since_last_index_entry_ = 0;
    int64_t first_append_ms_ = 0;
    bool needs_recovery_ = false;
};

}  // namespace runnel::storage
