#include "server/cluster/log_maintenance.h"
#include "server/core/cross_shard.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>

#include "server/cluster/cluster_context.h"
#include "server/cluster/partition.h"
#include "server/core/logger.h"
#include "storage/clean_shutdown.h"
#include "storage/wall_clock.h"

namespace runnel::server {

namespace fs = std::filesystem;

namespace {

std::string log_dir_of(const partition& p) { return p.log().dir().parent_path().string(); }

// Offsets of one partition, read on its owner shard.
struct partition_offsets {
    std::string log_dir;
    storage::topic_partition_name name;
    int64_t recovery_point = 0;
    int64_t log_start_offset = 0;
    int64_t cleaner_offset = -1;  // -1: not a compacted topic (no entry)
    int64_t high_watermark = 0;
};

std::vector<partition_offsets> offsets_on(partition_store& store) {
    std::vector<partition_offsets> out;
    store.for_each([&](partition& p) {
        out.push_back({log_dir_of(p),
                       {p.topic(), p.index()},
                       p.log().recovery_point(),
                       p.log().log_start_offset(),
                       p.config().compact() ? p.log().cleaner_offset() : -1,
                       p.high_watermark()});
    });
    return out;
}

template <class Map>
void add_offsets(Map& per_dir, const partition_offsets& o) {
    auto& d = per_dir[o.log_dir];
    d.recovery_points[o.name] = o.recovery_point;
    d.log_start_offsets[o.name] = o.log_start_offset;
    if (o.cleaner_offset >= 0) d.cleaner_offsets[o.name] = o.cleaner_offset;
    d.high_watermarks[o.name] = o.high_watermark;
}

// Whether `dir` has any subdirectory (partition directories are its only ones).
bool holds_partitions(const std::string& dir) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory(ec)) return true;
    }
    return false;
}

}  // namespace

void log_maintenance::read_startup_state() {
    for (const auto& d : cluster_.config().log_dirs) {
        dir_state state;
        auto marker = storage::take_clean_shutdown_marker(d);
        state.clean_shutdown = marker && *marker;
        auto read = [&](std::string_view name, storage::checkpoint_map& into) {
            auto r = storage::checkpoint_file(fs::path(d) / name).read();
            if (r) {
                into = std::move(*r);
            } else {
                server_log().warn("{}/{}: {}; recovering without it", d, name, r.error().message());
            }
        };
        read(storage::recovery_point_checkpoint_file_name, state.recovery_points);
        read(storage::log_start_offset_checkpoint_file_name, state.log_start_offsets);
        read(storage::cleaner_offset_checkpoint_file_name, state.cleaner_offsets);
        read(storage::replication_offset_checkpoint_file_name, state.high_watermarks);
        if (!state.clean_shutdown && !holds_partitions(d)) {
            // A new log dir: nothing to check, nothing to tell a first start about.
            server_log().debug("log dir {} holds no partitions yet", d);
        } else if (!state.clean_shutdown) {
            server_log().info(
                "log dir {} was not shut down cleanly: logs after their recovery "
                "points will be checked",
                d);
        }
        dirs_[d] = std::move(state);
    }
}

storage::open_options log_maintenance::open_options_for(const std::string& log_dir,
                                                        const std::string& topic,
                                                        int32_t partition) const {
    storage::open_options o;
    auto it = dirs_.find(log_dir);
    if (it == dirs_.end()) return o;
    const dir_state& s = it->second;
    storage::topic_partition_name key{topic, partition};
    auto rp = s.recovery_points.find(key);
    auto lso = s.log_start_offsets.find(key);
    // Without an entry Kafka assumes 0: the whole log is checked.
    o.recovery_point = rp == s.recovery_points.end() ? 0 : rp->second;
    o.log_start_offset = lso == s.log_start_offsets.end() ? 0 : lso->second;
    o.clean_shutdown = s.clean_shutdown;
    auto co = s.cleaner_offsets.find(key);
    o.cleaner_offset = co == s.cleaner_offsets.end() ? 0 : co->second;
    return o;
}

std::optional<int64_t> log_maintenance::high_watermark_for(const std::string& log_dir,
                                                           const std::string& topic,
                                                           int32_t partition) const {
    auto it = dirs_.find(log_dir);
    if (it == dirs_.end()) return std::nullopt;
    auto hw = it->second.high_watermarks.find(storage::topic_partition_name{topic, partition});
    if (hw == it->second.high_watermarks.end()) return std::nullopt;
    return hw->second;
}

void log_maintenance::start() {
    asio::co_spawn(cluster_.metadata_shard().executor(), checkpoint_loop(), asio::detached);
    for (shard_id i = 0; i < cluster_.shards().size(); ++i) {
        asio::co_spawn(cluster_.shards().at(i).executor(), retention_loop(), asio::detached);
        asio::co_spawn(cluster_.shards().at(i).executor(), producer_expiration_loop(),
                       asio::detached);
        if (cluster_.config().log_cleaner_enable) {
            asio::co_spawn(cluster_.shards().at(i).executor(), cleaner_loop(), asio::detached);
        }
    }
}

namespace {
// Checkpoints nudged by flushes are at least this far apart (each rewrites and syncs every
// partition's line of three files per log dir).
constexpr auto min_checkpoint_gap = std::chrono::seconds(1);
}  // namespace

asio::awaitable<void> log_maintenance::checkpoint_loop() {
    using clock = std::chrono::steady_clock;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto every = std::chrono::milliseconds(
        std::max<int64_t>(1000, cluster_.config().log_flush_offset_checkpoint_interval_ms));
    checkpoint_timer_ = &timer;
    last_checkpoint_ = clock::now();
    // A flush before the loop started (during start-up) asks for an early first write.
    next_checkpoint_ = last_checkpoint_ + (flush_pending_ ? min_checkpoint_gap : every);
    while (!stopping_) {
        timer.expires_at(next_checkpoint_);
        // Cancelled when note_flushed() brings the next write forward: wait again for that.
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopping_) break;
        if (clock::now() < next_checkpoint_) continue;
        // Flushes finishing from here on may not be covered by the offsets about to be
        // collected: they ask for the next write.
        flush_noted_ = false;
        flush_pending_ = false;
        writing_ = true;
        co_await write_checkpoints();
        writing_ = false;
        last_checkpoint_ = clock::now();
        next_checkpoint_ = last_checkpoint_ + (flush_pending_ ? min_checkpoint_gap : every);
    }
    checkpoint_timer_ = nullptr;
}

void log_maintenance::note_flushed() {
    if (flush_noted_.exchange(true)) return;  // already on its way
    asio::post(cluster_.metadata_shard().executor(), [this] {
        flush_pending_ = true;
        if (checkpoint_timer_ == nullptr || stopping_) return;  // the loop has not started
        if (writing_) return;  // the loop schedules the next write when this one is done
        auto soon =
            std::max(last_checkpoint_ + min_checkpoint_gap, std::chrono::steady_clock::now());
        if (soon < next_checkpoint_) {
            next_checkpoint_ = soon;
            checkpoint_timer_->cancel();
        }
    });
}

asio::awaitable<void> log_maintenance::write_checkpoints() {
    std::map<std::string, dir_offsets> per_dir;
    for (shard_id i = 0; i < cluster_.shards().size(); ++i) {
        auto collect = [this, i]() -> asio::awaitable<std::vector<partition_offsets>> {
            co_return offsets_on(cluster_.partitions_on(i));
        };
        auto got = co_await on_shard(cluster_.shards().at(i), collect);
        for (auto& o : got) add_offsets(per_dir, o);
    }
    // On the I/O pool: each file is synced, its directory too, and flushes can ask for a write
    // every second; the metadata shard keeps serving its connections meanwhile.
    auto write = [this, per_dir = std::move(per_dir)]() -> asio::awaitable<void> {
        write_checkpoint_files(per_dir, false);
        co_return;
    };
    co_await asio::co_spawn(cluster_.io_pool().get_executor(), write(), asio::use_awaitable);
}

std::set<std::string> log_maintenance::write_checkpoint_files(
    const std::map<std::string, dir_offsets>& per_dir, bool final) {
    std::lock_guard lock(checkpoint_mutex_);
    std::set<std::string> written;
    // Offsets collected by the periodic task before shutdown began must not replace the final
    // ones (finish() sets stopping_ before it takes the lock).
    if (!final && stopping_) return written;
    for (const auto& d : cluster_.config().log_dirs) {
        auto it = per_dir.find(d);
        static const dir_offsets empty;
        const auto& o = it == per_dir.end() ? empty : it->second;
        bool all = true;
        for (auto [name, map] :
             {std::pair{storage::recovery_point_checkpoint_file_name, &o.recovery_points},
              std::pair{storage::log_start_offset_checkpoint_file_name, &o.log_start_offsets},
              std::pair{storage::cleaner_offset_checkpoint_file_name, &o.cleaner_offsets},
              std::pair{storage::replication_offset_checkpoint_file_name, &o.high_watermarks}}) {
            const auto path = (fs::path(d) / name).string();
            if (auto ec = storage::checkpoint_file(path).write(*map)) {
                all = false;
                // Once per streak: the task retries every interval until space returns.
                if (checkpoint_failures_.failed(path, ec)) {
                    server_log().error(
                        "cannot write {}: {} (retried every round; logged again "
                        "only when it works or fails differently)",
                        path, ec.message());
                }
            } else if (checkpoint_failures_.succeeded(path)) {
                server_log().info("{} written again after failing", path);
            }
        }
        if (all) written.insert(d);
    }
    return written;
}

asio::awaitable<void> log_maintenance::retention_loop() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    shard* me = shard_set::current();
    repeated_failures failures;  // this shard's partitions
    const auto every = std::chrono::milliseconds(
        std::max<int64_t>(100, cluster_.config().log_retention_check_interval_ms));
    while (!stopping_) {
        timer.expires_after(every);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || stopping_ || !me) co_return;
        const int64_t now = storage::wall_clock_ms();
        cluster_.partitions_on(me->id()).for_each(
            [&](partition& p) { apply_retention(p, now, failures); });
    }
}

asio::awaitable<void> log_maintenance::producer_expiration_loop() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    shard* me = shard_set::current();
    const auto& cfg = cluster_.config();
    while (!stopping_) {
        timer.expires_after(
            std::chrono::milliseconds(cfg.producer_id_expiration_check_interval_ms));
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || stopping_ || !me) co_return;
        const int64_t now = storage::wall_clock_ms();
        const int64_t expiration_ms = cluster_.live_config()->producer_id_expiration_ms;  // dynamic
        cluster_.partitions_on(me->id()).for_each([&](partition& p) {
            if (size_t n = p.expire_producers(now, expiration_ms)) {
                server_log().info("{}-{}: {} idle producer id(s) expired", p.topic(), p.index(), n);
            }
        });
    }
}

void log_maintenance::apply_retention(partition& p, int64_t now, repeated_failures& failures) {
    const auto& c = p.config();
    // Without "delete" in cleanup.policy only segments below the log start offset go.
    const int64_t ms = c.delete_enabled() ? c.retention_ms() : -1;
    const int64_t bytes = c.delete_enabled() ? c.retention_bytes() : -1;
    const std::string subject = "retention " + p.topic() + "-" + std::to_string(p.index());
    auto r = p.delete_old_segments(now, ms, bytes);
    if (!r) {
        if (failures.failed(subject, r.error())) {
            server_log().error(
                "retention of {}-{}: {} (logged again only when it works or fails "
                "differently)",
                p.topic(), p.index(), r.error().message());
        }
        return;
    }
    if (failures.succeeded(subject)) {
        server_log().info("retention of {}-{} works again", p.topic(), p.index());
    }
    if (!r->deleted_segments.empty()) {
        server_log().info(
            "retention deleted {} segment(s) ({} bytes) of {}-{}; log start offset "
            "now {}",
            r->deleted_segments.size(), r->deleted_bytes, p.topic(), p.index(),
            r->log_start_offset);
    }
}

asio::awaitable<void> log_maintenance::cleaner_loop() {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor);
    shard* me = shard_set::current();
    repeated_failures failures;  // this shard's partitions
    while (!stopping_) {
        // log.cleaner.backoff.ms may change at run time (a dynamic broker config).
        timer.expires_after(std::chrono::milliseconds(
            std::max<int64_t>(10, cluster_.live_config()->log_cleaner_backoff_ms)));
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || stopping_ || !me) co_return;
        // Keys, not pointers: a partition may go (topic deleted) while this coroutine yields.
        std::vector<std::pair<protocol::uuid, int32_t>> compacted;
        cluster_.partitions_on(me->id()).for_each([&](partition& p) {
            if (p.config().compact()) compacted.emplace_back(p.topic_id(), p.index());
        });
        for (const auto& [id, index] : compacted) {
            for (;;) {
                if (stopping_) co_return;
                partition* p = cluster_.partitions_on(me->id()).find(id, index);
                if (!p || !p->config().compact() ||
                    !clean_step(*p, storage::wall_clock_ms(), failures))
                    break;
                // Let the shard's connections run between two groups.
                co_await asio::post(executor, asio::use_awaitable);
            }
            co_await asio::post(executor, asio::use_awaitable);
        }
    }
}

int64_t log_maintenance::key_map_bytes_per_shard() const {
    const auto shards = static_cast<int64_t>(std::max<size_t>(1, cluster_.shards().size()));
    return cluster_.live_config()->log_cleaner_dedupe_buffer_size / shards;
}

bool log_maintenance::clean_step(partition& p, int64_t now, repeated_failures& failures) {
    const auto& c = p.config();
    storage::cleaning_options o;
    o.delete_retention_ms = c.delete_retention_ms();
    o.min_cleanable_dirty_ratio = c.min_cleanable_dirty_ratio();
    o.min_compaction_lag_ms = c.min_compaction_lag_ms();
    o.max_compaction_lag_ms = c.max_compaction_lag_ms();
    o.max_segment_bytes = c.segment_bytes();
    o.key_map_bytes = key_map_bytes_per_shard();
    o.key_map_load_factor = cluster_.live_config()->log_cleaner_io_buffer_load_factor;
    const std::string subject = "cleaning " + p.topic() + "-" + std::to_string(p.index());
    auto r = p.clean(o, now);
    if (!r) {
        if (failures.failed(subject, r.error())) {
            server_log().error(
                "cleaning {}-{}: {} (logged again only when it works or fails "
                "differently)",
                p.topic(), p.index(), r.error().message());
        }
        return false;
    }
    if (failures.succeeded(subject)) {
        server_log().info("cleaning {}-{} works again", p.topic(), p.index());
    }
    return !r->pass_done;
}

void log_maintenance::finish(bool logs_closed_cleanly, bool logs_durable) {
    stopping_ = true;
    if (!logs_durable) {
        server_log().error(
            "not writing checkpoints or clean-shutdown markers: the logs' last "
            "writes could not be synced, so the next start recovers from the "
            "checkpoints as they were");
        return;
    }
    std::map<std::string, dir_offsets> per_dir;
    std::mutex m;  // shards report concurrently into one map
    run_on_every_shard(cluster_.shards(), [&](shard_id id) {
        auto got = offsets_on(cluster_.partitions_on(id));
        std::lock_guard lock(m);
        for (auto& o : got) add_offsets(per_dir, o);
    });
    auto written = write_checkpoint_files(per_dir, true);
    if (!logs_closed_cleanly) return;
    for (const auto& d : cluster_.config().log_dirs) {
        if (!written.count(d)) {
            // The next start must not trust stale checkpoints: it recovers this dir instead.
            server_log().warn(
                "not writing the clean-shutdown marker in {}: its checkpoints could "
                "not be written",
                d);
            continue;
        }
        if (auto ec = storage::write_clean_shutdown_marker(d)) {
            server_log().error("cannot write the clean-shutdown marker in {}: {}", d, ec.message());
        }
    }
}

}  // namespace runnel::server
