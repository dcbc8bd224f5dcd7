// Background care of the logs, as Kafka's LogManager does it: recovery-point and log-start-offset
// checkpoints per log dir, the clean-shutdown marker, retention, and the log cleaner (compaction of
// cleanup.policy=compact topics, in bounded steps on each partition's owner shard).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <string>

#include "server/shard.h"
#include "storage/checkpoint_file.h"
#include "storage/partition_log.h"

namespace runnel::server {

class broker;
class partition;

class log_maintenance {
public:
    explicit log_maintenance(broker& b) : broker_(b) {}

    // Start-up, before any log is opened: takes each log dir's clean-shutdown marker and reads
    // its checkpoints. A corrupt checkpoint is logged and ignored (the logs are then scanned).
    void read_startup_state();
    // How to open the log of `topic`-`partition` in `log_dir`.
    storage::open_options open_options_for(const std::string& log_dir, const std::string& topic,
                                           int32_t partition) const;

    // Starts the periodic checkpoint writer (shard 0) and the retention checks (every shard).
    void start();
    // Shutdown, before logs are closed: the periodic tasks stop touching them.
    void stop() { stopping_ = true; }
    // Shutdown, after every log was closed: writes final checkpoints and, for each log dir whose
    // logs all closed cleanly, the clean-shutdown marker. Shards must still be running.
    void finish(bool logs_closed_cleanly);

    // Applies retention to one partition now (the periodic task calls this on the owner shard).
    void apply_retention(partition& p, int64_t now_ms);
    // One cleaner step for one partition (see storage::partition_log::clean); true while a pass
    // is under way and more steps are due.
    bool clean_step(partition& p, int64_t now_ms);

private:
    asio::awaitable<void> checkpoint_loop();
    asio::awaitable<void> retention_loop();
    // Every log.cleaner.backoff.ms: cleans each compacted partition of this shard, one segment
    // group per step, yielding to the shard's event loop between steps.
    asio::awaitable<void> cleaner_loop();
    // Collects every partition's offsets (each on its owner shard) and writes both checkpoints
    // of every log dir. From shard 0.
    asio::awaitable<void> write_checkpoints();
    struct dir_offsets {
        storage::checkpoint_map recovery_points, log_start_offsets, cleaner_offsets;
    };
    void write_checkpoint_files(const std::map<std::string, dir_offsets>& per_dir);

    broker& broker_;
    struct dir_state {
        bool clean_shutdown = false;
        storage::checkpoint_map recovery_points;
        storage::checkpoint_map log_start_offsets;
        storage::checkpoint_map cleaner_offsets;
    };
    std::map<std::string, dir_state> dirs_;
    std::atomic<bool> stopping_{false};
};

}  // namespace runnel::server
