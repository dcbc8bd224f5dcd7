// Background care of the logs, as Kafka's LogManager does it: recovery-point and log-start-offset
// checkpoints per log dir, the clean-shutdown marker, retention, and the log cleaner (compaction of
// cleanup.policy=compact topics, in bounded steps on each partition's owner shard).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "server/core/repeated_failures.h"
#include "server/core/shard.h"
#include "storage/checkpoint_file.h"
#include "storage/partition_log.h"

namespace runnel::server {

class cluster_context;
class partition;

class log_maintenance {
  public:
    explicit log_maintenance(cluster_context& b) : cluster_(b) {}

    // Start-up, before any log is opened: takes each log dir's clean-shutdown marker and reads
    // its checkpoints. A corrupt checkpoint is logged and ignored (the logs are then scanned).
    void read_startup_state();
    // How to open the log of `topic`-`partition` in `log_dir`.
    storage::open_options open_options_for(const std::string& log_dir, const std::string& topic,
                                           int32_t partition) const;
    // The partition's high watermark in `log_dir`'s replication-offset-checkpoint at start-up.
    std::optional<int64_t> high_watermark_for(const std::string& log_dir, const std::string& topic,
                                              int32_t partition) const;

    // Starts the periodic checkpoint writer (shard 0) and the retention checks (every shard).
    void start();
    // A log flush finished (any shard): the checkpoints are written within about a second
    // instead of at the next log.flush.offset.checkpoint.interval.ms, so that a crash after a
    // segment was rolled and synced does not rescan it (Kafka waits for the interval).
    void note_flushed();
    // Shutdown, before logs are closed: the periodic tasks stop touching them.
    void stop() { stopping_ = true; }
    // Shutdown, after every log was closed: writes final checkpoints and, if every log closed
    // cleanly, the clean-shutdown marker of each log dir whose checkpoints were written (a
    // marker next to stale checkpoints would make the next start trust them). Shards must still
    // be running. When the logs' writes could not be made durable (`logs_durable` false: a
    // syncfs failed) nothing is written, so the next start recovers from the old checkpoints.
    void finish(bool logs_closed_cleanly, bool logs_durable = true);

    // Applies retention to one partition now (the periodic task calls this on the owner shard).
    // A failure is logged unless `failures` shows it was already logged for this partition.
    void apply_retention(partition& p, int64_t now_ms, repeated_failures& failures);
    // One cleaner step for one partition (see storage::partition_log::clean); true while a pass
    // is under way and more steps are due. Failures are logged as in apply_retention.
    bool clean_step(partition& p, int64_t now_ms, repeated_failures& failures);
    // Bytes of cleaner key map one shard may use: log.cleaner.dedupe.buffer.size shared by the
    // shards, which all clean at once (Kafka shares it among log.cleaner.threads).
    int64_t key_map_bytes_per_shard() const;

  private:
    asio::awaitable<void> checkpoint_loop();
    asio::awaitable<void> retention_loop();
    // Drops idle idempotent producers (producer.id.expiration.ms) on this shard's partitions.
    asio::awaitable<void> producer_expiration_loop();
    // Every log.cleaner.backoff.ms: cleans each compacted partition of this shard, one segment
    // group per step, yielding to the shard's event loop between steps.
    asio::awaitable<void> cleaner_loop();
    // Collects every partition's offsets (each on its owner shard) and writes both checkpoints
    // of every log dir. From shard 0.
    asio::awaitable<void> write_checkpoints();
    struct dir_offsets {
        storage::checkpoint_map recovery_points, log_start_offsets, cleaner_offsets,
            high_watermarks;
    };
    // Writes the checkpoint files of every log dir; returns the dirs where all were written.
    // A periodic (not final) write is skipped once shutdown has begun.
    std::set<std::string> write_checkpoint_files(const std::map<std::string, dir_offsets>& per_dir,
                                                 bool final);

    cluster_context& cluster_;
    struct dir_state {
        bool clean_shutdown = false;
        storage::checkpoint_map recovery_points;
        storage::checkpoint_map log_start_offsets;
        storage::checkpoint_map cleaner_offsets;
        storage::checkpoint_map high_watermarks;
    };
    std::map<std::string, dir_state> dirs_;
    std::atomic<bool> stopping_{false};
    // The periodic writer (shard 0) and finish() (the stopping thread) may overlap; both write
    // the same <file>.tmp, so they take turns. Guards checkpoint_failures_ too.
    std::mutex checkpoint_mutex_;
    // The checkpoint writer's schedule, used on the metadata shard only.
    asio::steady_timer* checkpoint_timer_ = nullptr;
    std::chrono::steady_clock::time_point next_checkpoint_{};
    std::chrono::steady_clock::time_point last_checkpoint_{};
    bool writing_ = false;
    bool flush_pending_ = false;            // a flush finished since the last write began
    std::atomic<bool> flush_noted_{false};  // a note_flushed() is on its way to the writer
    repeated_failures checkpoint_failures_;
};

}  // namespace runnel::server
