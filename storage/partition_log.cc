#include "storage/partition_log.h"

#include "protocol/record_batch_header.h"
#include "storage/file.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"
#include "storage/wall_clock.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace runnel::storage {

namespace bl = protocol::batch_layout;
namespace fs = std::filesystem;

namespace {

constexpr int64_t max_relative_offset = std::numeric_limits<int32_t>::max();
constexpr int64_t max_segment_size = std::numeric_limits<int32_t>::max();

}  // namespace

partition_log::partition_log(fs::path dir, log_config config)
    : dir_(std::move(dir)), config_(config), epochs_(dir_), clock_(wall_clock_ms) {}

partition_log::~partition_log() = default;

segment_options partition_log::options() const {
    return {config_.index_interval_bytes, config_.segment_index_bytes};
}

std::error_code partition_log::roll(int64_t now) {
    // The old segment is not flushed here (that would stall the shard for as long as its dirty
    // pages take to write): append reports the roll and the next flush job covers it, as Kafka
    // schedules an asynchronous flush of the rolled segment.
    auto& old = segments_.back();
    // On failure the old segment stays the active one (a full disk, say).
    if (auto ec = old.seal()) return ec;
    auto seg = segment::create(dir_, next_offset_, options(), now);
    if (!seg) return seg.error();
    segments_.push_back(std::move(*seg));
    dir_unsynced_ = true;
    snapshot_producers(false, false);
    storage_log().debug("{}: rolled new segment {}", dir_.string(), next_offset_);
    return {};
}

result<bool> partition_log::roll_if_needed(int64_t size, int64_t last_offset, int64_t now) {
    const auto& active = segments_.back();
    bool roll_needed =
        !active.empty() &&
        (active.size() + size > config_.segment_bytes || active.size() + size > max_segment_size ||
         (config_.segment_ms >= 0 && now - active.first_append_ms() > config_.segment_ms) ||
         active.index_full() || last_offset - active.base_offset() > max_relative_offset);
    if (!roll_needed) return false;
    if (auto ec = roll(now)) return result<bool>(boost::system::in_place_error, ec);
    return true;
}

append_info partition_log::appended(int64_t first_offset, int64_t last_offset, int64_t records,
                                    std::optional<int64_t> log_append_time, int64_t now,
                                    bool rolled) {
    unflushed_messages_ += records;
    append_info info{first_offset, last_offset, log_append_time.value_or(-1), records};
    info.flush_due =
        (config_.flush_messages > 0 && unflushed_messages_ >= config_.flush_messages) ||
        (config_.flush_ms >= 0 && now - last_flush_ms_ >= config_.flush_ms);
    info.rolled = rolled;
    return info;
}

result<append_info> partition_log::append(std::span<uint8_t> batches,
                                          std::optional<int64_t> log_append_time,
                                          append_origin origin) {
    if (closed_) return make_error_code(errc::log_closed);
    if (batches.empty()) return make_error_code(errc::invalid_batch);

    // First pass: check the framing and work out the offsets, touching nothing.
    int64_t next = next_offset_;
    int64_t records = 0;
    int64_t max_ts = no_timestamp;
    int64_t offset_of_max_ts = -1;
    for (size_t pos = 0; pos < batches.size();) {
        size_t left = batches.size() - pos;
        const uint8_t* p = batches.data() + pos;
        if (left < bl::header_size) return make_error_code(errc::invalid_batch);
        auto h = parse_batch_header(p, static_cast<int64_t>(pos));
        if (!h || static_cast<uint64_t>(h->total_size()) > left ||
            (h->attributes & bl::control_bit))
            return make_error_code(errc::invalid_batch);
        int64_t last = next + h->last_offset_delta;
        if (h->max_timestamp > max_ts) {
            max_ts = h->max_timestamp;
            offset_of_max_ts = last;
        }
        records += h->records_count;
        next = last + 1;
        pos += static_cast<size_t>(h->total_size());
    }
    int64_t first_offset = next_offset_;
    int64_t last_offset = next - 1;

    // Idempotent producers: refuse gaps and stale epochs, answer retries with the original
    // offsets. (A produce carries one batch; the checks look at each against the stored state.)
    for (size_t pos = 0; pos < batches.size();) {
        auto h = parse_batch_header(batches.data() + pos, static_cast<int64_t>(pos));
        auto verdict = producers_.check(producer_append::of(*h), origin);
        if (!verdict) return verdict.error();
        if (*verdict) {
            append_info dup{(*verdict)->first_offset, (*verdict)->last_offset,
                            log_append_time.value_or(-1), 0};
            dup.duplicate = true;
            return dup;
        }
        pos += static_cast<size_t>(h->total_size());
    }

    int64_t now = now_ms();
    auto rolled = roll_if_needed(static_cast<int64_t>(batches.size()), last_offset, now);
    if (!rolled) return rolled.error();

    int64_t offset = first_offset;
    for (size_t pos = 0; pos < batches.size();) {
        uint8_t* p = batches.data() + pos;
        bl::store_i64(p + bl::base_offset, offset);
        bl::store_i32(p + bl::partition_leader_epoch, leader_epoch_);  // outside the CRC
        offset += int64_t{bl::load_i32(p + bl::last_offset_delta)} + 1;
        pos += bl::log_overhead + static_cast<size_t>(bl::load_i32(p + bl::batch_length));
    }
    if (auto ec = segments_.back().append(batches, last_offset, max_ts, offset_of_max_ts, now))
        return ec;
    next_offset_ = last_offset + 1;
    for (size_t pos = 0; pos < batches.size();) {
        auto h = parse_batch_header(batches.data() + pos, static_cast<int64_t>(pos));
        producers_.update(producer_append::of(*h), h->base_offset, h->last_offset());
        pos += static_cast<size_t>(h->total_size());
    }
    return appended(first_offset, last_offset, records, log_append_time, now, *rolled);
}

result<append_info> partition_log::append_marker(int64_t producer_id, int16_t producer_epoch,
                                                 protocol::txn_result result,
                                                 int32_t coordinator_epoch, int64_t timestamp) {
    if (closed_) return make_error_code(errc::log_closed);
    if (producer_id < 0 || producer_epoch < 0) return make_error_code(errc::invalid_batch);
    marker_append m{producer_id, producer_epoch, coordinator_epoch,
                    result == protocol::txn_result::commit, timestamp};
    if (auto ec = producers_.check_marker(m)) return ec;
    auto batch = protocol::build_end_txn_marker_batch(
        {producer_id, producer_epoch, timestamp, leader_epoch_}, {result, coordinator_epoch});
    int64_t now = now_ms();
    const int64_t offset = next_offset_;
    auto rolled = roll_if_needed(static_cast<int64_t>(batch.size()), offset, now);
    if (!rolled) return rolled.error();
    bl::store_i64(batch.data() + bl::base_offset, offset);

    // The index entry is written before the marker: a failed log write takes the entry back,
    // whereas the other order could leave an abort marker without its entry.
    auto& seg = segments_.back();
    auto done = producers_.completion(m, offset);
    const bool index_it = done && done->aborted;
    if (index_it) {
        bool created = false;
        aborted_txn entry{producer_id, done->first_offset, offset, done->last_stable_offset};
        if (auto ec = seg.txn_index().append(entry, &created)) return ec;
        if (created) dir_unsynced_ = true;
    }
    if (auto ec = seg.append(batch, offset, timestamp, offset, now)) {
        if (index_it) {
            if (auto undo = seg.txn_index().truncate_to(offset)) {
                storage_log().error(
                    "{}: cannot take back the index entry of a failed abort "
                    "marker at {}: {}",
                    dir_.string(), offset, undo.message());
            }
        }
        return ec;
    }
    next_offset_ = offset + 1;
    producers_.apply_marker(m, offset);
    return appended(offset, offset, 1, std::nullopt, now, *rolled);
}

int64_t partition_log::last_stable_offset() const {
    auto first = producers_.first_unstable_offset();
    if (!first) return next_offset_;
    // Kafka keeps it at or above the log start offset (retention may pass an open transaction).
    return std::clamp(*first, log_start_offset_, next_offset_);
}

size_t partition_log::segment_for(int64_t offset) const {
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](int64_t o, const segment& s) { return o < s.base_offset(); });
    return it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin()) - 1;
}

result<read_result> partition_log::read(int64_t offset, size_t max_bytes, bool min_one_batch,
                                        read_mode mode, int64_t end_offset) const {
    if (closed_) return make_error_code(errc::log_closed);
    if (offset < log_start_offset() || offset > next_offset_)
        return make_error_code(errc::offset_out_of_range);

    const bool copy = mode == read_mode::copy;
    read_result r;
    if (copy) r.bytes = std::make_shared<std::vector<uint8_t>>();
    r.next_offset = offset;
    r.log_start_offset = log_start_offset();
    r.log_end_offset = next_offset_;
    if (offset == next_offset_ || offset >= end_offset) return r;

    // With an end_offset inside the log, the read stops at the start of the batch holding it.
    size_t stop_segment = segments_.size();
    int64_t stop_position = -1;
    if (end_offset < next_offset_) {
        stop_segment = segment_for(end_offset);
        const auto& seg = segments_[stop_segment];
        auto h = seg.find_position(end_offset);
        if (!h) return h.error();
        stop_position = *h ? (*h)->position : seg.size();
    }

    size_t start = segment_for(offset);
    for (size_t i = start; i < segments_.size() && i <= stop_segment; ++i) {
        const auto& seg = segments_[i];
        int64_t position = 0;
        std::optional<batch_header> first;
        if (i == start) {
            auto h = seg.find_position(offset);
            if (!h) return h.error();
            if (!*h) continue;  // everything in this segment is below `offset`
            first = **h;
            position = first->position;
        }
        size_t budget = max_bytes > r.size ? max_bytes - r.size : 0;
        auto part =
            seg.read(position, budget, min_one_batch && r.size == 0, copy ? r.bytes.get() : nullptr,
                     i == stop_segment ? stop_position : -1, first ? &*first : nullptr);
        if (!part) return part.error();
        if (part->length > 0) {
            if (r.first_offset < 0) {
                r.first_offset = part->first_offset;
                r.first_batch_size = part->first_batch_size;
            }
            r.next_offset = part->last_offset + 1;
            if (!copy) {
                auto f = seg.log_file();
                if (!f) return f.error();
                r.ranges.push_back({std::move(*f), part->position, part->length});
            }
            r.size += part->length;
        }
        if (!part->to_end || r.size >= max_bytes) break;
    }
    return r;
}

result<std::vector<aborted_txn>> partition_log::collect_aborted(int64_t fetch_offset,
                                                                int64_t upper_bound) const {
    if (closed_) return make_error_code(errc::log_closed);
    std::vector<aborted_txn> out;
    for (size_t i = segment_for(fetch_offset); i < segments_.size(); ++i) {
        const auto& index = segments_[i].txn_index();
        if (index.entries() == 0) continue;
        const size_t before = out.size();
        auto complete = index.collect(fetch_offset, upper_bound, out);
        if (!complete) return complete.error();
        // Each marker once: an interrupted cleaner swap can leave a segment holding entries of the
        // next ones (until the next open trims them), and clients count every entry.
        if (before > 0) {
            const int64_t seen = out[before - 1].last_offset;
            out.erase(
                std::remove_if(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                               [seen](const aborted_txn& e) { return e.last_offset <= seen; }),
                out.end());
        }
        if (*complete) break;
    }
    return out;
}

result<timestamp_lookup> partition_log::read_batch(const segment& seg,
                                                   const batch_header& h) const {
    timestamp_lookup t;
    t.base_offset = h.base_offset;
    t.last_offset = h.last_offset();
    t.max_timestamp = h.max_timestamp;
    t.batch = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(h.total_size()));
    if (auto ec = seg.read_bytes(h.position, t.batch->size(), t.batch->data())) return ec;
    return t;
}

result<std::optional<timestamp_lookup>> partition_log::find_batch_by_timestamp(int64_t ts) const {
    if (closed_) return make_error_code(errc::log_closed);
    for (size_t i = 0; i < segments_.size(); ++i) {
        const auto& seg = segments_[i];
        if (seg.empty() || seg.max_timestamp() < ts) continue;
        // A segment wholly below the log start offset (not deleted yet) is skipped.
        if (i + 1 < segments_.size() && segments_[i + 1].base_offset() <= log_start_offset_)
            continue;
        auto h = seg.find_by_timestamp(ts, log_start_offset_);
        if (!h) return h.error();
        if (!*h) continue;
        auto t = read_batch(seg, **h);
        if (!t) return t.error();
        return std::optional<timestamp_lookup>(std::move(*t));
    }
    return std::optional<timestamp_lookup>();
}

result<std::optional<timestamp_lookup>> partition_log::max_timestamp_batch() const {
    if (closed_) return make_error_code(errc::log_closed);
    const segment* best = nullptr;
    for (const auto& seg : segments_) {
        if (!seg.empty() && (!best || seg.max_timestamp() > best->max_timestamp())) best = &seg;
    }
    if (!best || best->max_timestamp() <= no_timestamp) return std::optional<timestamp_lookup>();
    auto h = best->find_position(best->offset_of_max_timestamp());
    if (!h) return h.error();
    if (!*h) return std::optional<timestamp_lookup>();
    auto t = read_batch(*best, **h);
    if (!t) return t.error();
    return std::optional<timestamp_lookup>(std::move(*t));
}

int64_t partition_log::size_bytes() const {
    int64_t total = 0;
    for (const auto& seg : segments_) total += seg.size();
    return total;
}

std::vector<int64_t> partition_log::segment_base_offsets() const {
    std::vector<int64_t> v;
    v.reserve(segments_.size());
    for (const auto& seg : segments_) v.push_back(seg.base_offset());
    return v;
}

size_t partition_log::first_unflushed_segment(bool force_active) const {
    if (recovery_point_ >= next_offset_)
        return force_active ? segments_.size() - 1 : segments_.size();
    return segment_for(recovery_point_);
}

std::error_code partition_log::flush_unflushed(bool force_active) {
    for (size_t i = first_unflushed_segment(force_active); i < segments_.size(); ++i) {
        if (auto ec = segments_[i].flush()) return ec;
    }
    if (dir_unsynced_) {
        if (auto ec = sync_directory(dir_)) return ec;
        dir_unsynced_ = false;
    }
    recovery_point_ = next_offset_;
    unflushed_messages_ = 0;
    last_flush_ms_ = now_ms();
    return {};
}

result<std::optional<flush_job>> partition_log::prepare_flush() {
    if (closed_) return make_error_code(errc::log_closed);
    unflushed_messages_ = 0;
    last_flush_ms_ = now_ms();
    if (recovery_point_ >= next_offset_ && !dir_unsynced_) return std::optional<flush_job>();
    flush_job job;
    job.target = next_offset_;
    for (size_t i = first_unflushed_segment(false); i < segments_.size(); ++i) {
        if (auto ec = segments_[i].add_to_flush(job.files, job.index_writes)) return ec;
    }
    if (dir_unsynced_) {
        auto d = file::open(dir_, O_RDONLY | O_DIRECTORY);
        if (!d) return d.error();
        job.dir = std::move(*d);
        dir_unsynced_ = false;
    }
    return std::optional<flush_job>(std::move(job));
}

void partition_log::flush_done(const flush_job& job, std::error_code outcome) {
    if (outcome) {
        if (job.dir) dir_unsynced_ = true;
        for (size_t i = first_unflushed_segment(false); i < segments_.size(); ++i)
            segments_[i].flush_failed();
        return;
    }
    recovery_point_ = std::max(recovery_point_, std::min(job.target, next_offset_));
}

std::error_code flush_job::run() {
    for (auto& f : files) {
        if (auto ec = f.datasync()) return ec;
    }
    for (const auto& w : index_writes) {
        if (auto ec = w.run()) return ec;
    }
    if (dir && ::fsync(dir->fd()) != 0) return errno_error(errno, "fsync", dir->path());
    return {};
}

std::error_code partition_log::flush() {
    if (closed_) return errc::log_closed;
    return flush_unflushed(false);
}

std::error_code partition_log::close(close_sync sync) {
    if (closed_) return {};
    // Nothing appended since the last flush and every index on disk (most of 100,000 idle
    // partitions at shutdown): nothing to write or sync but a changed producer snapshot and a
    // new directory, as Kafka's shutdown skips logs already flushed up to their end.
    const bool settled = recovery_point_ >= next_offset_ &&
                         std::all_of(segments_.begin(), segments_.end(),
                                     [](const segment& s) { return s.indexes_settled(); });
    std::error_code first;
    // Trim the active segment's indexes before the last flush so the trim is durable too.
    if (!settled) first = segments_.back().seal();
    snapshot_producers(true, sync == close_sync::each_file);
    if (sync == close_sync::by_caller) {
        // seg.close() below writes the indexes in full; the caller's syncfs does the rest.
        recovery_point_ = next_offset_;
        dir_unsynced_ = false;
    } else if (!settled) {
        if (auto ec = flush_unflushed(true); ec && !first) first = ec;
    } else if (dir_unsynced_) {
        // A new partition's first segment: only its directory entry is not on disk yet.
        if (auto ec = sync_directory(dir_); ec && !first) first = ec;
        dir_unsynced_ = false;
    }
    for (auto& seg : segments_) {
        if (auto ec = seg.close(!settled); ec && !first) first = ec;
    }
    closed_ = true;
    return first;
}

std::error_code partition_log::remove(const fs::path& dir, bool sync_parent) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) {
        storage_log().error("remove {}: {}", dir.string(), ec.message());
        return errc::io_error;
    }
    if (sync_parent && dir.has_parent_path()) return sync_directory(dir.parent_path());
    return {};
}

}  // namespace runnel::storage
