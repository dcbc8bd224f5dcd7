// partition_log::open: loading a partition directory and recovering what may not have been flushed
// (Kafka's LogLoader).
#include "storage/file.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"
#include "storage/partition_log.h"

#include <algorithm>
#include <chrono>

namespace runnel::storage {

namespace fs = std::filesystem;

namespace {

// Base offsets of the .log files in `dir`; index files (.index, .timeindex, .txnindex) without a
// .log are deleted (Kafka does too).
result<std::vector<int64_t>> list_segments(const fs::path& dir) {
    std::vector<int64_t> bases;
    std::vector<fs::path> index_files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (auto base = parse_segment_file_name(name, log_suffix)) {
            bases.push_back(*base);
        } else if (parse_segment_file_name(name, index_suffix) ||
                   parse_segment_file_name(name, time_index_suffix) ||
                   parse_segment_file_name(name, txn_index_suffix)) {
            index_files.push_back(it->path());
        }
    }
    if (ec) {
        storage_log().error("list directory {}: {}", dir.string(), ec.message());
        return make_error_code(errc::io_error);
    }
    std::sort(bases.begin(), bases.end());
    for (const auto& p : index_files) {
        auto base = parse_segment_file_name(p.stem().string() + ".log", log_suffix);
        if (base && !std::binary_search(bases.begin(), bases.end(), *base)) {
            storage_log().info("{}: deleting orphaned index file {}", dir.string(), p.string());
            fs::remove(p, ec);
        }
    }
    return bases;
}

// A trusted segment whose index entries point at or past the next segment's base offset does not
// belong with its log.
bool indexes_overrun(const segment& seg, int64_t next_base) {
    return (seg.offsets().entries() > 0 && seg.offsets().last_entry().offset >= next_base) ||
           (seg.times().entries() > 0 && seg.times().last_entry().offset >= next_base);
}

}  // namespace

result<std::unique_ptr<partition_log>> partition_log::open(fs::path dir, log_config config,
                                                           open_options options) {
    std::unique_ptr<partition_log> log(new partition_log(std::move(dir), config));
    if (auto ec = log->load_segments(options)) return ec;
    return log;
}

std::error_code partition_log::load_segments(const open_options& opts) {
    const auto& d = dir_;
    auto started = std::chrono::steady_clock::now();
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) {
        storage_log().error("create directory {}: {}", d.string(), ec.message());
        return errc::io_error;
    }
    if (auto swap_ec = recover_interrupted_swaps(d)) return swap_ec;
    auto bases = list_segments(d);
    if (!bases) return bases.error();

    int64_t now = now_ms();
    for (int64_t base : *bases) {
        auto seg = segment::open(d, base, options(), now);
        if (!seg) return seg.error();
        segments_.push_back(std::move(*seg));
    }

    // Segments [first_unflushed, n) may hold data that never reached the disk.
    size_t n = segments_.size();
    size_t first_unflushed = n;
    if (!opts.clean_shutdown && n > 0) {
        first_unflushed = opts.recovery_point == open_options::recover_last_segment
                              ? n - 1
                              : segment_for(opts.recovery_point);
    }
    for (size_t i = 0; i + 1 < n; ++i) {
        // A .txnindex entry belongs to the segment holding its marker; later ones are left over
        // from an interrupted cleaner swap (their own segments still hold them).
        auto& index = segments_[i].txn_index();
        if (index.last_offset() && *index.last_offset() >= (*bases)[i + 1]) {
            storage_log().warn("{}: dropping entries past segment {} from {}", d.string(),
                               (*bases)[i + 1], index.path().string());
            if (auto trunc_ec = index.truncate_to((*bases)[i + 1])) return trunc_ec;
        }
    }
    for (size_t i = 0; i < first_unflushed; ++i) {
        auto& seg = segments_[i];
        if (!seg.needs_recovery() && (i + 1 == n || !indexes_overrun(seg, (*bases)[i + 1])))
            continue;
        storage_log().warn("{}: rebuilding the indexes of segment {}", d.string(),
                           seg.base_offset());
        auto dropped = seg.recover();
        if (!dropped) return dropped.error();
        if (*dropped > 0) {
            storage_log().warn("{}: dropped {} bytes of corrupt data in flushed segment {}",
                               d.string(), *dropped, seg.base_offset());
        }
    }

    int64_t dropped_bytes = 0;
    size_t recovered = 0;
    size_t deleted_after = 0;
    // Segments from here on were scanned; the producer replay rebuilds their .txnindex from
    // offset rebuild_from on (entries below the recovery point were flushed with their markers).
    size_t rebuild_first = first_unflushed;
    int64_t rebuild_from = -1;
    for (size_t i = first_unflushed; i < segments_.size(); ++i) {
        // Only the first may hold flushed batches (those below the checkpointed recovery point).
        const int64_t trusted_below =
            i == first_unflushed && opts.recovery_point != open_options::recover_last_segment
                ? opts.recovery_point
                : segments_[i].base_offset();
        auto scan = segments_[i].recover_after(trusted_below);
        if (!scan) return scan.error();
        if (i == first_unflushed) rebuild_from = scan->untrusted_from;
        ++recovered;
        if (scan->dropped == 0) continue;
        dropped_bytes += scan->dropped;
        // Nothing after a bad batch may be served: the later segments go too (as in Kafka). Make
        // the cut durable first so the deleted segments cannot come back without it.
        if (auto flush_ec = segments_[i].flush()) return flush_ec;
        for (size_t j = i + 1; j < segments_.size(); ++j) {
            dropped_bytes += segments_[j].size();
            ++deleted_after;
            if (auto rm_ec = segments_[j].remove()) return rm_ec;
        }
        segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i) + 1, segments_.end());
        if (deleted_after > 0) {
            if (auto sync_ec = sync_directory(d)) return sync_ec;
        }
        break;
    }
    if (!segments_.empty() && !segments_.back().next_offset()) {
        // Trusted last segment (clean shutdown): find its end without scanning it all.
        auto& last = segments_.back();
        auto ok = last.load_tail();
        if (!ok) return ok.error();
        if (!*ok) {
            auto dropped = last.recover();
            if (!dropped) return dropped.error();
            ++recovered;
            dropped_bytes += *dropped;
            if (segments_.size() - 1 < rebuild_first) {
                rebuild_first = segments_.size() - 1;
                rebuild_from = last.base_offset();
            }
        }
    }

    if (!segments_.empty() && *segments_.back().next_offset() < opts.log_start_offset) {
        storage_log().warn(
            "{}: the log ends at offset {}, below its checkpointed log start offset {}; deleting "
            "all {} segments",
            d.string(), *segments_.back().next_offset(), opts.log_start_offset, segments_.size());
        for (auto& seg : segments_) {
            if (auto rm_ec = seg.remove()) return rm_ec;
        }
        segments_.clear();
    }
    if (segments_.empty()) {
        auto seg = segment::create(d, std::max<int64_t>(opts.log_start_offset, 0), options(), now);
        if (!seg) return seg.error();
        segments_.push_back(std::move(*seg));
        // Synced by the first flush (nothing in it can have been acknowledged as durable
        // before), not here: creating 10,000 partitions paid 10,000 directory syncs.
        dir_unsynced_ = true;
    }

    next_offset_ = segments_.back().next_offset().value_or(segments_.back().base_offset());
    log_start_offset_ = std::max(opts.log_start_offset, segments_.front().base_offset());
    cleaner_offset_ = std::clamp<int64_t>(opts.cleaner_offset, log_start_offset_, next_offset_);
    if (opts.clean_shutdown) {
        recovery_point_ = next_offset_;
    } else {
        int64_t rp = opts.recovery_point == open_options::recover_last_segment
                         ? segments_.back().base_offset()
                         : opts.recovery_point;
        recovery_point_ = std::clamp<int64_t>(rp, 0, next_offset_);
    }
    last_flush_ms_ = now;
    if (rebuild_first >= segments_.size()) {
        rebuild_first = segments_.size();
        rebuild_from = next_offset_;
    } else if (rebuild_from < 0) {
        rebuild_from = segments_[rebuild_first].base_offset();
    }
    if (auto prod_ec = load_producer_state(rebuild_first, rebuild_from)) return prod_ec;
    // Epochs that began past what recovery kept are gone with their data (Kafka truncates the
    // cache the same way after loading).
    epochs_.load();
    (void)epochs_.truncate_from_end(next_offset_);

    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    if (dropped_bytes > 0) {
        storage_log().warn(
            "{}: recovered {} segment(s) in {} ms: dropped {} bytes of torn or corrupt data "
            "({} later segment(s) deleted); log end offset {}",
            d.string(), recovered, ms, dropped_bytes, deleted_after, next_offset_);
    } else if (recovered > 0 && opts.recovery_point != open_options::recover_last_segment) {
        storage_log().info(
            "{}: recovered {} segment(s) in {} ms: dropped 0 bytes; log end offset {}", d.string(),
            recovered, ms, next_offset_);
    }
    storage_log().debug("{}: opened with {} segments, log start offset {}, log end offset {}",
                        d.string(), segments_.size(), log_start_offset_, next_offset_);
    return {};
}

}  // namespace runnel::storage
