// The log of one partition: a directory of segments in Apache Kafka's layout. Owned by exactly one
// shard thread; nothing here locks.
#pragma once

#include "protocol/end_txn_marker.h"
#include "storage/errors.h"
#include "storage/file.h"
#include "storage/leader_epoch_cache.h"
#include "storage/producer_state.h"
#include "storage/segment.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
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
    // flush.messages or flush.ms says the log must be flushed now: the caller runs a flush_job
    // (see prepare_flush) and, for acks != 0, answers only once it is done.
    bool flush_due = false;
    // The append rolled a new segment: the old one is unflushed until a flush_job covers it.
    bool rolled = false;
    // An idempotent producer's retry of a batch already in the log: nothing was written and
    // base_offset/last_offset are the original batch's.
    bool duplicate = false;
};

// The fdatasyncs that make a log durable up to `target`, on duplicated descriptors so they can run
// on a thread other than the log's shard while appends go on (group commit: everything appended
// before prepare_flush is covered by one job).
struct flush_job {
    std::vector<file> files;                // segment .log (and .txnindex) files: fdatasync
    std::vector<index_write> index_writes;  // segment index entries to write, then fdatasync
    std::optional<file> dir;                // the partition directory after a roll: fsync
    int64_t target = 0;                     // the recovery point once every sync succeeded

    // Runs the syncs (blocking); the first failure is returned.
    std::error_code run();
};

// A run of whole batches in a segment's .log file, to send with sendfile(2). Holding `log` keeps
// the descriptor open even if the segment is deleted or compacted meanwhile.
struct file_range {
    std::shared_ptr<const file> log;
    int64_t position = 0;
    size_t length = 0;
};

enum class read_mode {
    copy,       // read_result::bytes holds the batches
    zero_copy,  // read_result::ranges says where they are; only batch headers are read
};

struct read_result {
    // Whole batches back to back (read_mode::copy); shared so the server can wrap it as
    // protocol::shared_bytes.
    std::shared_ptr<std::vector<uint8_t>> bytes;
    // The same batches as file ranges, one per segment (read_mode::zero_copy).
    std::vector<file_range> ranges;
    size_t size = 0;               // bytes returned, in either mode
    int64_t first_batch_size = 0;  // size of the first batch returned (0 when empty)
    int64_t first_offset = -1;     // base offset of the first batch returned, -1 when empty
    int64_t next_offset = 0;  // one past the last offset returned; the requested offset if empty
    int64_t log_start_offset = 0;
    int64_t log_end_offset = 0;

    bool empty() const { return size == 0; }
};

// How partition_log::open treats what is on disk. The broker fills it from the log dir's
// checkpoint files and clean shutdown marker (see checkpoint_file.h, clean_shutdown.h).
struct open_options {
    static constexpr int64_t recover_last_segment = -1;

    // Offset up to which the log was known to be flushed: the partition's entry in
    // recovery-point-offset-checkpoint, or 0 when it has none (Kafka's default: scan it all).
    // Without a clean shutdown, everything from this offset on is recovered: scanned, cut at the
    // first bad batch (later segments are then deleted) and indexed again. In the segment holding
    // it the scan starts at the last offset index entry below it (segment::recover_after).
    // Earlier segments are trusted unless an index is missing or inconsistent.
    // recover_last_segment (the default) scans only the last segment, as before checkpoints.
    int64_t recovery_point = recover_last_segment;
    // The partition's entry in log-start-offset-checkpoint, or 0 when it has none. The log start
    // offset becomes max(this, first segment's base offset). If the whole log ends below it, the
    // segments are deleted and the log restarts empty at this offset (as Kafka does).
    int64_t log_start_offset = 0;
    // The log dir had the clean shutdown marker: no segment is scanned; the last one's end is found
    // from its offset index and the batch headers after it.
    bool clean_shutdown = false;
    // The partition's entry in cleaner-offset-checkpoint, or 0 (clean from the log start).
    int64_t cleaner_offset = 0;
};

// What delete_old_segments removed.
struct retention_result {
    std::vector<int64_t> deleted_segments;  // base offsets, oldest first
    int64_t deleted_bytes = 0;              // .log bytes
    int64_t log_start_offset = 0;           // after the deletion
};

// Log compaction settings (cleanup.policy=compact): the topic's delete.retention.ms,
// min.cleanable.dirty.ratio, min.compaction.lag.ms and max.compaction.lag.ms.
struct cleaning_options {
    int64_t delete_retention_ms = 86400000;
    double min_cleanable_dirty_ratio = 0.5;
    int64_t min_compaction_lag_ms = 0;
    int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();
    // Cleaned groups of segments stay at or below this size (segment.bytes); <= 0 = config's.
    int64_t max_segment_bytes = 0;
    // Memory of the pass's key map (log.cleaner.dedupe.buffer.size for this cleaner, 24 bytes a
    // key) and the share of it that may fill (log.cleaner.io.buffer.load.factor). When the dirty
    // part has more keys, the pass cleans up to the first offset whose key did not fit.
    int64_t key_map_bytes = int64_t{128} << 20;
    double key_map_load_factor = 0.9;
};

// What one partition_log::clean step did.
struct cleaning_result {
    bool started_pass = false;  // this step chose to clean (dirty ratio, max lag or tombstones due)
    bool key_map_full = false;  // (with started_pass) the pass stops where its key map filled
    bool cleaned_group = false;  // a group of segments was rewritten and swapped in
    bool pass_done = true;       // no pass is under way after this step
    std::vector<int64_t> group;  // base offsets of the segments replaced
    int64_t bytes_before = 0;
    int64_t bytes_after = 0;
    int64_t records_removed = 0;
};

struct cleaner_pass;  // log_cleaner.h

// One batch found by timestamp; the caller walks its records for the exact offset.
struct timestamp_lookup {
    int64_t base_offset = 0;
    int64_t last_offset = 0;
    int64_t max_timestamp = no_timestamp;
    std::shared_ptr<std::vector<uint8_t>> batch;
};

class partition_log {
  public:
    // Loads the segments in `dir` (created if missing), recovers what `options` says may be
    // unflushed (a torn or corrupt tail is cut off, later segments dropped, and one line per
    // recovered partition is logged), rebuilds missing indexes, and creates an empty segment in an
    // empty dir.
    static result<std::unique_ptr<partition_log>> open(std::filesystem::path dir, log_config config,
                                                       open_options options = {});

    ~partition_log();
    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;

    // Appends one or more validated v2 batches (back to back), stamping their base offsets in
    // place. If log_append_time is set the caller has already stamped the timestamps. Rolls first
    // when the active segment is full (segment_bytes, index), old (segment_ms) or would overflow.
    // A failed write or roll (errc::no_space on a full disk) takes no offsets and leaves the log
    // as it was, the active segment still usable; the next append tries the roll again.
    // Idempotent and transactional producers are checked (producer_state.h); control batches are
    // errc::invalid_batch (markers are written by append_marker only). append_origin::coordinator
    // is for the broker's own coordinators (Kafka's AppendOrigin.COORDINATOR): their
    // transactional batches carry base sequence -1, so only the producer epoch is checked; the
    // batch opens or extends the producer's transaction as a client's would.
    result<append_info> append(std::span<uint8_t> batches, std::optional<int64_t> log_append_time,
                               append_origin origin = append_origin::client);

    // Writes a transaction marker (the control batch of protocol/end_txn_marker.h, with base
    // sequence -1 and the given CreateTime timestamp) for the producer's transaction, as Kafka's
    // coordinator-origin append does. It ends the producer's open transaction, moving the last
    // stable offset; for an abort, an entry goes to the active segment's .txnindex first (its last
    // stable offset: the LSO once this transaction is complete). Refused with
    // errc::invalid_producer_epoch when producer_epoch is older than the producer's, and with
    // errc::transaction_coordinator_fenced when coordinator_epoch is older than that of the
    // producer's last marker; a producer with no open transaction (or no state) gets the marker
    // anyway. Rolls, flush accounting and failures as for append (a failed write leaves neither
    // the marker nor its index entry).
    result<append_info> append_marker(int64_t producer_id, int16_t producer_epoch,
                                      protocol::txn_result result, int32_t coordinator_epoch,
                                      int64_t timestamp);

    // Whole batches starting with the one containing `offset`, crossing segments, totalling at
    // most max_bytes (with min_one_batch the first batch is returned whole even if larger).
    // Only batches whose last offset is below end_offset are returned (read_committed passes the
    // last stable offset; the read stops at the batch holding it, as Kafka's maxPosition does).
    // offset == log_end_offset or offset >= end_offset gives an empty result; outside
    // [log_start, log_end] is errc::offset_out_of_range.
    result<read_result> read(int64_t offset, size_t max_bytes, bool min_one_batch,
                             read_mode mode = read_mode::copy,
                             int64_t end_offset = std::numeric_limits<int64_t>::max()) const;

    // Kafka's collectAbortedTxns over the segments from the one holding fetch_offset on: every
    // aborted transaction with last offset >= fetch_offset and first offset < upper_bound (the
    // end of the data a read_committed fetch returns), in marker order.
    result<std::vector<aborted_txn>> collect_aborted(int64_t fetch_offset,
                                                     int64_t upper_bound) const;

    // The first batch whose max_timestamp >= ts and whose last offset >= log_start_offset(), or
    // nullopt. (The batch may start below log_start_offset() after delete_records_before.)
    result<std::optional<timestamp_lookup>> find_batch_by_timestamp(int64_t ts) const;
    // The batch holding the largest timestamp (the first one, if several), or nullopt when the log
    // is empty or no batch carries a timestamp.
    result<std::optional<timestamp_lookup>> max_timestamp_batch() const;

    // The first offset a read may ask for: the first segment's base offset, or higher after
    // delete_records_before. Still valid after close() (for the checkpoint).
    int64_t log_start_offset() const { return log_start_offset_; }
    // Everything below this offset is known to be on disk (fdatasync'ed): advanced by flush(),
    // roll and close(). Still valid after close() (for the checkpoint).
    int64_t recovery_point() const { return recovery_point_; }
    int64_t log_end_offset() const { return next_offset_; }
    // The leader epoch appends are written in (stamped into every batch, as Kafka's leader does).
    // A single node leads in epoch 0 forever and records no epochs; in a cluster the leader
    // calls start_leader_epoch on each leader change.
    int32_t leader_epoch() const { return leader_epoch_; }
    void set_leader_epoch(int32_t epoch) { leader_epoch_ = epoch; }
    // This replica leads from now on in `epoch`: appends are stamped with it, and it starts at the
    // log end offset in leader-epoch-checkpoint (Kafka's maybeAssignEpochStartOffset).
    std::error_code start_leader_epoch(int32_t epoch);
    // The epochs of the log (leader_epoch_cache.h).
    const leader_epoch_cache& epochs() const { return epochs_; }
    // Where `epoch` ends in this log (Kafka's endOffsetFor). A log without recorded epochs (a
    // single node) answers its current epoch with the log end offset, any other as unknown.
    epoch_end end_offset_for(int32_t epoch) const;

    // A follower's append (partition_log_replica.cc): batches copied from the leader's log, with
    // their offsets and leader epochs kept. The first must start at log_end_offset(), the rest
    // follow without gaps, and every CRC must hold (else errc::invalid_batch and nothing is
    // written). Producer state and aborted transactions follow the batches (markers included,
    // without the checks a leader makes: Kafka's AppendOrigin.REPLICATION), and each epoch
    // new to the log is recorded in leader-epoch-checkpoint. Rolls and flush accounting as for
    // append.
    result<append_info> append_replicated(std::span<const uint8_t> batches);
    // Cuts the log back to `offset` (the batch holding it and everything after go): a replica
    // whose log diverged from its new leader's (KIP-101). Segments starting at or after it are
    // deleted, the producer state is rebuilt up to the cut, and leader-epoch-checkpoint loses
    // the epochs that started past it. An offset at or below the log start empties the log,
    // which then starts at `offset`. Returns the bytes cut.
    result<int64_t> truncate_to(int64_t offset);
    // The offset the next appended record gets (equal to log_end_offset for now).
    int64_t next_offset() const { return next_offset_; }
    // The last stable offset: the first offset of the earliest open transaction (not below the
    // log start offset), else the log end offset (the high watermark of a single replica). Every
    // offset below it is decided: not transactional, or committed or aborted.
    int64_t last_stable_offset() const;
    int64_t size_bytes() const;
    size_t segment_count() const { return segments_.size(); }
    std::vector<int64_t> segment_base_offsets() const;
    const std::filesystem::path& dir() const { return dir_; }
    const log_config& config() const { return config_; }
    // New settings from a topic config change. As in Kafka they apply from now on: the next
    // roll, index entry and flush check; the active segment keeps the index it was given.
    void set_config(const log_config& config) { config_ = config; }

    // fdatasync of every segment holding offsets at or above recovery_point() (normally just the
    // active one, or also the one a roll just closed), then recovery_point() = log_end_offset().
    // Blocking: the broker uses prepare_flush instead while serving. Cheap when nothing was
    // appended since the last flush.
    std::error_code flush();
    // The same flush, prepared to run elsewhere: duplicates the descriptors of every segment at or
    // above recovery_point() and resets the flush.messages/flush.ms counters. nullopt when the
    // log is already flushed up to its end. Hand the job's outcome to flush_done.
    result<std::optional<flush_job>> prepare_flush();
    // recovery_point() = max(recovery_point(), job.target) when the job succeeded; after a failure
    // the next prepare_flush covers the same files again.
    void flush_done(const flush_job& job, std::error_code outcome);
    // How close() makes what it writes durable.
    enum class close_sync {
        each_file,  // fdatasync each file and directory it wrote
        by_caller,  // nothing synced: the caller syncs the whole file system (syncfs) after
                    // closing many logs, before it trusts recovery_point() (a broker shutdown)
    };
    // Trims the active segment's indexes, flushes and closes every segment; later calls return
    // errc::log_closed (the offset accessors keep working).
    std::error_code close(close_sync sync = close_sync::each_file);

    // Retention (UnifiedLog.deleteOldSegments with cleanup.policy=delete): deletes whole
    // segments, oldest first. In Kafka's order: closed segments wholly below log_start_offset();
    // then, if retention_bytes >= 0, the oldest while the log stays at least retention_bytes big
    // without them; then, if retention_ms >= 0, the oldest whose largest timestamp (else the
    // file's mtime) is more than retention_ms before now_ms. Each rule stops at the first segment
    // it keeps. The size and time rules may reach the active segment when it is not empty: then
    // every segment is deletable, so (as Kafka does) a new empty active segment is rolled at the
    // log end and all the old ones go; an idle log past retention ends with zero bytes and
    // log_start_offset() == log_end_offset(). log_start_offset() rises to the first remaining
    // segment's base offset (unless it is already higher).
    result<retention_result> delete_old_segments(int64_t now_ms, int64_t retention_ms,
                                                 int64_t retention_bytes);
    // DeleteRecords: log_start_offset() = max(log_start_offset(), offset) and closed segments that
    // end at or below it are deleted. offset < 0 or > log_end_offset() (the high watermark of a
    // single replica) is errc::offset_out_of_range. Returns the new log start offset (the low
    // watermark). Reads below it then fail with offset_out_of_range.
    result<int64_t> delete_records_before(int64_t offset);
    // Log compaction (Kafka's LogCleaner), one bounded step per call: the first call of a pass
    // checks the dirty ratio of the cleanable part ([log start, first uncleanable offset): closed
    // segments only, and none younger than min_compaction_lag_ms) and, when it is due, builds the
    // key -> last offset map of the dirty part, or of as much of it as the key map holds (the
    // pass then ends at the first offset whose key did not fit, and the next pass goes on from
    // there); every call then rewrites one group of adjacent closed segments (at most
    // max_segment_bytes) into a .cleaned file and swaps it in; the call after the last group
    // ends the pass and moves cleaner_offset() to the end of the map.
    // Returns without doing anything when no pass is due. See log_cleaner.h for the rules.
    result<cleaning_result> clean(const cleaning_options& options, int64_t now_ms);
    // dirty bytes / cleanable bytes, as the cleaner computes it now (0 when nothing is cleanable).
    double dirty_ratio(const cleaning_options& options, int64_t now_ms) const;
    // First offset not cleaned yet (Kafka's cleaner checkpoint). Kept in cleaner-offset-checkpoint.
    int64_t cleaner_offset() const { return cleaner_offset_; }
    bool cleaning_in_progress() const { return pass_ != nullptr; }

    // Idempotent and transactional producers' state (see producer_state.h).
    const producer_state& producers() const { return producers_; }
    // Drops producers idle longer than expiration_ms (producer.id.expiration.ms); returns how many.
    size_t expire_producers(int64_t now_ms, int64_t expiration_ms) {
        return producers_.expire(now_ms, expiration_ms);
    }

    // Deletes a partition directory and everything in it (the log must be closed), then syncs
    // the parent directory unless `sync_parent` is false (the caller syncs it once for many).
    static std::error_code remove(const std::filesystem::path& dir, bool sync_parent = true);

    // Replaces the wall clock (ms) used for segment_ms and flush_ms; for tests.
    void set_clock(std::function<int64_t()> clock) { clock_ = std::move(clock); }

  private:
    partition_log(std::filesystem::path dir, log_config config);
    segment_options options() const;
    int64_t now_ms() const { return clock_(); }
    std::error_code roll(int64_t now);
    // Rolls first when the active segment cannot take `size` more bytes ending at last_offset
    // (segment_bytes, index, segment_ms, relative offsets); returns whether it rolled.
    result<bool> roll_if_needed(int64_t size, int64_t last_offset, int64_t now);
    // Bookkeeping after a successful append of [first_offset, last_offset]: the flush counters.
    append_info appended(int64_t first_offset, int64_t last_offset, int64_t records,
                         std::optional<int64_t> log_append_time, int64_t now, bool rolled);
    // Flushes every segment from the one holding recovery_point_ on, if it is below the LEO
    // (and the active one regardless when force_active); then recovery_point_ = LEO.
    std::error_code flush_unflushed(bool force_active);
    size_t first_unflushed_segment(bool force_active) const;
    // Recovery and loading steps of open().
    std::error_code load_segments(const open_options& opts);
    // Deletes segments_[0, n) (n < segments_.size()), raising the log start offset first.
    std::error_code delete_front_segments(size_t n, std::string_view reason);
    // Index of the segment whose range holds `offset` (the last with base <= offset).
    size_t segment_for(int64_t offset) const;
    // Cleaner steps (partition_log_cleaner.cc).
    int64_t first_uncleanable_offset(const cleaning_options& o, int64_t now) const;
    // Starts a pass (sets pass_) when one is due.
    std::error_code start_cleaning_pass(const cleaning_options& o, int64_t now, cleaning_result& r);
    std::error_code clean_group(size_t first, size_t last, int64_t now, cleaning_result& r);
    result<timestamp_lookup> read_batch(const segment& seg, const batch_header& h) const;
    // Producer state (partition_log_producers.cc): loads the newest usable snapshot and replays
    // the batch headers after it (markers included), rebuilding the .txnindex of segments_
    // [rebuild_first, end), the ones recovery scanned; writes a snapshot as of log_end_offset().
    // rebuild_first: the first segment recovery scanned (size() if none); rebuild_from: the
    // offset its scan began at (next_offset_ if none).
    std::error_code load_producer_state(size_t rebuild_first, int64_t rebuild_from);
    std::error_code replay_marker(segment& seg, const batch_header& h, bool rebuild,
                                  const std::map<int64_t, aborted_txn>& old_entries,
                                  std::vector<uint8_t>& buf);
    // Writes a snapshot as of the log end: at a roll quickly (no sync), at close only when the
    // state differs from the snapshot already there, synced when `sync`.
    void snapshot_producers(bool at_close, bool sync);

    std::filesystem::path dir_;
    log_config config_;
    leader_epoch_cache epochs_;
    std::vector<segment> segments_;  // sorted by base offset; back() is the active one
    int64_t next_offset_ = 0;
    int32_t leader_epoch_ = 0;
    int64_t log_start_offset_ = 0;
    int64_t recovery_point_ = 0;
    int64_t unflushed_messages_ = 0;
    int64_t last_flush_ms_ = 0;
    bool closed_ = false;
    bool dir_unsynced_ = false;  // a segment was created since the directory was last fsync'ed
    int64_t cleaner_offset_ = 0;
    // Smallest delete horizon of the tombstones kept by the last pass (-1 = none): when it has
    // passed, a pass runs even without dirty data (Kafka's latestDeleteHorizon check).
    int64_t min_delete_horizon_ = -1;
    std::unique_ptr<cleaner_pass> pass_;
    producer_state producers_;
    // The synced snapshot known to hold producers_ as they are (its offset, and the CRC-32C of
    // its bytes): a close with nothing new writes none (-1: none known).
    int64_t settled_snapshot_offset_ = -1;
    uint32_t settled_snapshot_crc_ = 0;
    std::function<int64_t()> clock_;
};

}  // namespace runnel::storage
