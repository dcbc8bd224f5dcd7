#include "storage/segment.h"

#include "protocol/crc32c.h"
#include "protocol/record_batch_header.h"
#include "storage/log.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <memory>

namespace runnel::storage {

namespace bl = protocol::batch_layout;
namespace fs = std::filesystem;

namespace {

constexpr int64_t max_relative_offset = std::numeric_limits<int32_t>::max();
// Index positions are 4 bytes, so a .log file may not grow past this.
constexpr int64_t max_segment_size = std::numeric_limits<int32_t>::max();
constexpr size_t scan_window = 16 * 1024;       // header walks: a few batches per read
constexpr size_t recover_window = 1024 * 1024;  // recovery reads whole batches sequentially

// A buffered view of [0, limit) of a file for forward scans: get() returns n bytes at pos from the
// buffer, refilling it from pos when they are not there. Refills start small and double up to
// `capacity` while the scan keeps landing just past the last one (small batches read in few
// calls); a jump well past it (a large batch) starts small again, so walking the headers of
// 1 MiB batches copies a little per header instead of `capacity` (on consume that copy was 4%
// of the broker's CPU).
class file_window {
  public:
    file_window(const file& f, int64_t limit, size_t capacity)
        : file_(f), limit_(limit), capacity_(capacity) {}

    size_t capacity() const { return capacity_; }

    // nullptr (with no error) when [pos, pos + n) is not all in the file.
    result<const uint8_t*> get(int64_t pos, size_t n) {
        const auto end = start_ + static_cast<int64_t>(len_);
        if (pos >= start_ && pos + static_cast<int64_t>(n) <= end)
            return buf_.get() + (pos - start_);
        if (n > capacity_ || pos + static_cast<int64_t>(n) > limit_)
            return static_cast<const uint8_t*>(nullptr);
        // Landing less than a full window past the last read: batches small enough that a larger
        // read covers several.
        const bool near = len_ > 0 && pos >= start_ && pos - end < static_cast<int64_t>(capacity_);
        next_read_ = near ? std::min(next_read_ * 2, capacity_) : std::min(first_read, capacity_);
        size_t want = static_cast<size_t>(std::min<int64_t>(std::max(next_read_, n), limit_ - pos));
        if (want > allocated_) {
            buf_ = std::make_unique_for_overwrite<uint8_t[]>(want);
            allocated_ = want;
        }
        auto got = file_.read_at(buf_.get(), want, pos);
        if (!got) return got.error();
        start_ = pos;
        len_ = *got;
        if (len_ < n) return static_cast<const uint8_t*>(nullptr);  // file shorter than expected
        return buf_.get();
    }

  private:
    static constexpr size_t first_read = 512;  // a few headers; larger reads are earned

    const file& file_;
    int64_t limit_;
    size_t capacity_;
    std::unique_ptr<uint8_t[]> buf_;
    size_t allocated_ = 0;
    size_t next_read_ = 0;
    int64_t start_ = 0;
    size_t len_ = 0;
};

int64_t header_field_last_offset(const uint8_t* p) {
    return bl::load_i64(p + bl::base_offset) + bl::load_i32(p + bl::last_offset_delta);
}

}  // namespace

std::optional<batch_header> parse_batch_header(const uint8_t* p, int64_t position) {
    auto wire = protocol::parse_batch_header(std::span<const uint8_t>(p, bl::header_size));
    if (!wire || wire->batch_length < protocol::min_batch_length ||
        wire->magic != protocol::current_magic || wire->last_offset_delta < 0) {
        return std::nullopt;
    }
    batch_header h;
    static_cast<protocol::batch_header&>(h) = *wire;
    h.position = position;
    return h;
}

namespace {

// The header of a batch lying wholly inside the first file_size bytes at `position`, or nullopt
// (also on a read error: the caller then scans, and the scan reports it).
std::optional<batch_header> read_header_in(const file& log, int64_t file_size, int64_t position) {
    uint8_t buf[bl::header_size];
    if (position < 0 || position + static_cast<int64_t>(sizeof buf) > file_size) return {};
    auto got = log.read_at(buf, sizeof buf, position);
    if (!got || *got != sizeof buf) return {};
    auto h = parse_batch_header(buf, position);
    if (!h || position + h->total_size() > file_size) return {};
    return h;
}

}  // namespace

std::string segment_file_name(int64_t base_offset, std::string_view suffix) {
    return fmt::format("{:020d}{}", base_offset, suffix);
}

std::optional<int64_t> parse_segment_file_name(std::string_view name, std::string_view suffix) {
    if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
    auto digits = name.substr(0, 20);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    return v;
}

result<segment> segment::open_files(const fs::path& dir, int64_t base_offset,
                                    const segment_options& options, bool create) {
    segment s;
    s.dir_ = dir;
    s.base_offset_ = base_offset;
    s.options_ = options;

    auto log_path = dir / segment_file_name(base_offset, log_suffix);
    auto index_path = dir / segment_file_name(base_offset, index_suffix);
    auto time_index_path = dir / segment_file_name(base_offset, time_index_suffix);
    auto txn_index_path = dir / segment_file_name(base_offset, txn_index_suffix);

    if (!create) {
        std::error_code ec;
        if (!fs::exists(index_path, ec) || !fs::exists(time_index_path, ec)) {
            s.needs_recovery_ = true;
        }
    }
    auto log = cached_file::open(log_path, create ? (O_RDWR | O_CREAT | O_EXCL) : O_RDWR, O_RDWR);
    if (!log) return log.error();
    s.log_ = std::move(*log);
    if (create) {
        // Stale index files without a .log would otherwise be loaded as if they were ours.
        std::error_code ec;
        fs::remove(index_path, ec);
        fs::remove(time_index_path, ec);
        fs::remove(txn_index_path, ec);
    }
    // From here on the .log is ours (O_EXCL): if an index cannot be made, the files go again so
    // a retry (the next roll) does not fail on a leftover .log.
    auto undo_create = [&](std::error_code ec) -> result<segment> {
        if (create) (void)s.remove();
        return ec;
    };
    auto oi = offset_index::open(index_path, base_offset, options.segment_index_bytes);
    if (!oi) return undo_create(oi.error());
    s.offset_index_ = std::move(*oi);
    auto ti = time_index::open(time_index_path, base_offset, options.segment_index_bytes);
    if (!ti) return undo_create(ti.error());
    s.time_index_ = std::move(*ti);
    auto xi = transaction_index::open(txn_index_path, base_offset);
    if (!xi) return undo_create(xi.error());
    s.txn_index_ = std::move(*xi);
    return s;
}

result<segment> segment::create(const fs::path& dir, int64_t base_offset,
                                const segment_options& options, int64_t now_ms) {
    auto s = open_files(dir, base_offset, options, true);
    if (!s) return s.error();  // open_files removed whatever it had created
    s->next_offset_ = base_offset;
    s->first_append_ms_ = now_ms;
    return s;
}

result<segment> segment::open(const fs::path& dir, int64_t base_offset,
                              const segment_options& options, int64_t now_ms) {
    auto s = open_files(dir, base_offset, options, false);
    if (!s) return s.error();
    auto log = s->log_.get();
    if (!log) return log.error();
    auto size = (*log)->size();
    if (!size) return size.error();
    s->size_ = *size;
    s->first_append_ms_ = now_ms;
    // Index entries must point inside the log; anything else means the files do not belong
    // together.
    if (s->offset_index_.entries() > 0 && s->offset_index_.last_entry().position >= s->size_) {
        s->needs_recovery_ = true;
    }
    if (s->size_ > max_segment_size) s->needs_recovery_ = true;
    // A sealed segment's last time index entry is its largest timestamp (Kafka relies on it too).
    if (s->time_index_.entries() > 0) {
        auto last = s->time_index_.last_entry();
        s->max_timestamp_ = last.timestamp;
        s->offset_of_max_timestamp_ = last.offset;
    }
    if (s->size_ == 0) s->next_offset_ = base_offset;
    s->bytes_since_last_index_entry_ = s->size_ - s->offset_index_.last_entry().position;
    return s;
}

std::error_code segment::append(std::span<const uint8_t> batches, int64_t last_offset,
                                int64_t max_timestamp, int64_t offset_of_max_timestamp,
                                int64_t now_ms) {
    if (batches.empty()) return {};
    if (last_offset < base_offset_ || last_offset - base_offset_ > max_relative_offset ||
        size_ + static_cast<int64_t>(batches.size()) > max_segment_size) {
        return errc::offset_overflow;
    }
    int64_t position = size_;
    auto log = log_.get();
    if (!log) return log.error();
    if (auto ec = (*log)->write_at(batches.data(), batches.size(), position)) return ec;

    int64_t new_max_ts = max_timestamp_;
    int64_t new_offset_of_max = offset_of_max_timestamp_;
    if (max_timestamp > max_timestamp_) {
        new_max_ts = max_timestamp;
        new_offset_of_max = offset_of_max_timestamp;
    }
    bool indexed = false;
    if (bytes_since_last_index_entry_ > options_.index_interval_bytes) {
        size_t offset_entries = offset_index_.entries();
        size_t time_entries = time_index_.entries();
        auto ec = offset_index_.append(last_offset, position);
        if (!ec) ec = time_index_.maybe_append(new_max_ts, new_offset_of_max);
        if (ec) {
            // Keep the log and its indexes in step: undo the whole append.
            (void)offset_index_.truncate_to_entries(offset_entries);
            (void)time_index_.truncate_to_entries(time_entries);
            (void)(*log)->truncate(position);
            return ec;
        }
        indexed = true;
    }
    if (size_ == 0) first_append_ms_ = now_ms;
    max_timestamp_ = new_max_ts;
    offset_of_max_timestamp_ = new_offset_of_max;
    if (indexed) bytes_since_last_index_entry_ = 0;
    bytes_since_last_index_entry_ += static_cast<int64_t>(batches.size());
    size_ += static_cast<int64_t>(batches.size());
    next_offset_ = last_offset + 1;
    return {};
}

result<batch_header> segment::read_header(int64_t position) const {
    uint8_t buf[bl::header_size];
    if (position < 0 || position + static_cast<int64_t>(bl::header_size) > size_) {
        storage_log().error("{}: no batch header fits at position {} (size {})",
                            log_.path().string(), position, size_);
        return errc::corrupt_segment;
    }
    auto log = log_.get();
    if (!log) return log.error();
    auto got = (*log)->read_at(buf, sizeof buf, position);
    if (!got) return got.error();
    auto h = *got == sizeof buf ? parse_batch_header(buf, position) : std::nullopt;
    if (!h || position + h->total_size() > size_) {
        storage_log().error("{}: bad batch header at position {}", log_.path().string(), position);
        return errc::corrupt_segment;
    }
    return *h;
}

result<segment_read> segment::read(int64_t position, size_t max_bytes, bool min_one_batch,
                                   std::vector<uint8_t>* out, int64_t end_position,
                                   const batch_header* known_first) const {
    segment_read r;
    r.position = position;
    if (position >= size_) {
        r.to_end = true;
        return r;
    }
    const int64_t end = end_position >= 0 ? std::min(end_position, size_) : size_;
    if (position >= end) return r;  // to_end stays false: the caller stops here
    auto first = known_first ? result<batch_header>(*known_first) : read_header(position);
    if (!first) return first.error();
    auto available = static_cast<size_t>(end - position);
    size_t budget = max_bytes;
    if (min_one_batch) budget = std::max(budget, static_cast<size_t>(first->total_size()));
    budget = std::min(budget, available);
    if (static_cast<size_t>(first->total_size()) > budget) return r;

    size_t used = 0;
    if (out) {
        size_t old = out->size();
        out->resize(old + budget);
        uint8_t* buf = out->data() + old;
        auto log = log_.get();
        auto got = log ? (*log)->read_at(buf, budget, position) : result<size_t>(log.error());
        if (!got || *got != budget) {
            out->resize(old);
            if (!got) return got.error();
            storage_log().error("{}: short read at {}", log_.path().string(), position);
            return errc::corrupt_segment;
        }
        while (used + bl::log_overhead <= budget) {
            int64_t size = int64_t{12} + bl::load_i32(buf + used + bl::batch_length);
            bool bad = size < static_cast<int64_t>(bl::header_size);
            if (!bad && used + static_cast<size_t>(size) > budget) break;
            if (bad || buf[used + bl::magic] != 2) {
                out->resize(old);
                storage_log().error("{}: bad batch header at position {}", log_.path().string(),
                                    position + static_cast<int64_t>(used));
                return errc::corrupt_segment;
            }
            if (r.first_offset < 0) r.first_offset = bl::load_i64(buf + used);
            r.last_offset = header_field_last_offset(buf + used);
            used += static_cast<size_t>(size);
        }
        out->resize(old + used);
    } else {
        // Only the end of the run is needed: every batch before the last indexed batch start
        // within the budget fits, so walk the headers from there (about index.interval.bytes).
        const int64_t limit = position + static_cast<int64_t>(budget);
        int64_t pos = std::max(position, offset_index_.floor_by_position(limit).position);
        r.first_offset = first->base_offset;
        r.last_offset = -1;
        auto ec = walk_headers(pos, scan_window, [&](const batch_header& h) {
            if (h.position + h.total_size() > limit) {
                // The run ends before this batch; its base offset tells where.
                if (r.last_offset < 0) r.last_offset = h.base_offset - 1;
                return false;
            }
            r.last_offset = h.last_offset();
            pos = h.position + h.total_size();
            return true;
        });
        if (ec) return ec;
        used = static_cast<size_t>(pos - position);
    }
    r.length = used;
    if (used > 0) r.first_batch_size = first->total_size();
    r.to_end = position + static_cast<int64_t>(used) == size_;
    return r;
}

std::error_code segment::read_bytes(int64_t position, size_t length, uint8_t* out) const {
    if (position < 0 || position + static_cast<int64_t>(length) > size_)
        return errc::corrupt_segment;
    auto log = log_.get();
    if (!log) return log.error();
    auto got = (*log)->read_at(out, length, position);
    if (!got) return got.error();
    if (*got != length) return errc::corrupt_segment;
    return {};
}

result<std::optional<batch_header>> segment::find_position(int64_t offset) const {
    if (next_offset_ && offset >= *next_offset_) return std::optional<batch_header>();
    std::optional<batch_header> found;
    auto ec = walk_headers(offset_index_.lookup(offset).position, scan_window,
                           [&](const batch_header& h) {
                               if (h.last_offset() < offset) return true;
                               found = h;
                               return false;
                           });
    if (ec) return ec;
    return found;
}

result<std::optional<batch_header>> segment::find_by_timestamp(int64_t timestamp,
                                                               int64_t start_offset) const {
    // The time index entry (t <= timestamp, o) says every batch before the one ending at o has
    // smaller timestamps, so the scan can start at that batch (or at start_offset's, if later).
    auto entry = time_index_.lookup(timestamp);
    int64_t pos = std::max(offset_index_.lookup(entry.offset).position,
                           offset_index_.lookup(start_offset).position);
    std::optional<batch_header> found;
    auto ec = walk_headers(pos, scan_window, [&](const batch_header& h) {
        if (h.max_timestamp < timestamp || h.last_offset() < start_offset) return true;
        found = h;
        return false;
    });
    if (ec) return ec;
    return found;
}

result<segment::recovery_scan> segment::recover_after(int64_t recovery_point) {
    auto log = log_.get();
    if (!log) return log.error();
    auto file_size = (*log)->size();
    if (!file_size) return file_size.error();

    int64_t pos = 0;
    int64_t expected_offset = base_offset_;
    int64_t max_ts = no_timestamp;
    int64_t offset_of_max = -1;
    int64_t last_index_position = 0;
    // An entry written on append names the last offset of everything appended at its position,
    // which may be several batches: none of those gets an entry of its own again.
    int64_t indexed_through = base_offset_ - 1;
    std::optional<int64_t> first_batch_ts;
    const char* stop_reason = nullptr;

    // The trusted prefix ends at the append the last index entry below the recovery point names:
    // (offset, position) says the batches written at `position` end at `offset`, so a scan from
    // there re-reads at most one index interval of flushed data.
    auto resume = recovery_point > base_offset_ && !needs_recovery_
                      ? offset_index_.lookup(recovery_point - 1)
                      : offset_position{base_offset_, 0};
    if (resume.position > 0 && resume.position < *file_size && resume.offset < recovery_point) {
        auto at = read_header_in(**log, *file_size, resume.position);
        auto first = read_header_in(**log, *file_size, 0);
        if (at && first && at->base_offset >= base_offset_ && at->base_offset <= resume.offset) {
            if (auto ec = offset_index_.truncate_to(resume.offset + 1)) return ec;
            if (auto ec = time_index_.truncate_to(resume.offset + 1)) return ec;
            if (time_index_.entries() > 0) {
                // The entry written with the index entry above holds the largest timestamp so
                // far, the batches at `position` included.
                max_ts = time_index_.last_entry().timestamp;
                offset_of_max = time_index_.last_entry().offset;
            }
            pos = resume.position;
            last_index_position = pos;
            indexed_through = resume.offset;
            expected_offset = at->base_offset;
            first_batch_ts = first->max_timestamp;
        } else {
            storage_log().warn(
                "{}: offset index entry ({}, {}) does not match the log; scanning it all",
                log_.path().string(), resume.offset, resume.position);
        }
    }
    if (pos == 0) {
        if (auto ec = offset_index_.reset()) return ec;
        if (auto ec = time_index_.reset()) return ec;
    }
    const bool trusted_prefix = pos > 0;

    file_window window(**log, *file_size, recover_window);

    while (pos < *file_size) {
        if (pos + static_cast<int64_t>(bl::header_size) > *file_size) {
            stop_reason = "partial batch header";
            break;
        }
        auto p = window.get(pos, bl::header_size);
        if (!p) return p.error();  // an I/O error is not corruption: change nothing
        if (!*p) {
            stop_reason = "short read";
            break;
        }
        auto h = parse_batch_header(*p, pos);
        if (!h) {
            stop_reason = "bad batch header (length, magic or last offset delta)";
            break;
        }
        if (pos + h->total_size() > *file_size || pos + h->total_size() > max_segment_size) {
            stop_reason = "batch extends past the end of the file";
            break;
        }
        if (h->base_offset < expected_offset ||
            h->last_offset() - base_offset_ > max_relative_offset) {
            stop_reason = "batch offsets out of order";
            break;
        }
        uint32_t crc = 0;
        bool short_read = false;
        for (int64_t at = pos + static_cast<int64_t>(bl::crc + 4), end = pos + h->total_size();
             at < end;) {
            auto n = static_cast<size_t>(std::min<int64_t>(end - at, window.capacity()));
            auto chunk = window.get(at, n);
            if (!chunk) return chunk.error();
            if (!*chunk) {
                short_read = true;
                break;
            }
            crc = protocol::crc32c(*chunk, n, crc);
            at += static_cast<int64_t>(n);
        }
        if (short_read) {
            stop_reason = "short read";
            break;
        }
        if (crc != h->crc) {
            stop_reason = "CRC mismatch";
            break;
        }

        if (!first_batch_ts) first_batch_ts = h->max_timestamp;
        if (h->max_timestamp > max_ts) {
            max_ts = h->max_timestamp;
            offset_of_max = h->last_offset();
        }
        // Same rule as Kafka's recovery, so rebuilt indexes match what Kafka would write.
        if (pos - last_index_position > options_.index_interval_bytes &&
            h->last_offset() > indexed_through && !offset_index_.full() && !time_index_.full()) {
            if (auto ec = offset_index_.append(h->last_offset(), pos)) return ec;
            if (auto ec = time_index_.maybe_append(max_ts, offset_of_max)) return ec;
            last_index_position = pos;
        }
        pos += h->total_size();
        expected_offset = h->next_offset();
    }
    if (expected_offset <= indexed_through) {
        // The log stops inside what the kept index entry covers (flushed data torn after all):
        // the kept entries and largest timestamp may describe batches that are gone.
        storage_log().warn("{}: {} below the recovery point, at position {}; scanning it all",
                           log_.path().string(), stop_reason ? stop_reason : "invalid data", pos);
        return recover_after(base_offset_);
    }

    int64_t dropped = *file_size - pos;
    if (dropped > 0) {
        storage_log().info("{}: {} at position {}; dropping {} bytes", log_.path().string(),
                           stop_reason ? stop_reason : "invalid data", pos, dropped);
        if (auto ec = (*log)->truncate(pos)) return ec;
    }
    if (max_ts > no_timestamp) {
        if (auto ec = time_index_.maybe_append(max_ts, offset_of_max, true)) return ec;
    }
    if (auto ec = txn_index_.truncate_to(expected_offset)) return ec;
    // The rebuilt indexes replace the files now (synced with the segment's next flush).
    if (auto ec = offset_index_.write_all()) return ec;
    if (auto ec = time_index_.write_all()) return ec;
    size_ = pos;
    next_offset_ = expected_offset;
    max_timestamp_ = max_ts;
    offset_of_max_timestamp_ = offset_of_max;
    bytes_since_last_index_entry_ = pos - last_index_position;
    if (first_batch_ts && *first_batch_ts >= 0 && *first_batch_ts <= first_append_ms_) {
        first_append_ms_ = *first_batch_ts;  // best guess at when the segment was started
    }
    needs_recovery_ = false;
    return recovery_scan{dropped,
                         trusted_prefix ? std::min(recovery_point, expected_offset) : base_offset_};
}

std::error_code segment::for_each_header(int64_t offset,
                                         const std::function<void(const batch_header&)>& f) const {
    auto start = find_position(offset);
    if (!start) return start.error();
    if (!*start) return {};
    // A small window: large batches cost one short read each, small ones share a read.
    constexpr size_t header_window = 1024;
    return walk_headers((*start)->position, header_window, [&f](const batch_header& h) {
        f(h);
        return true;
    });
}

std::error_code segment::walk_headers(int64_t position, size_t window_size,
                                      const std::function<bool(const batch_header&)>& visit) const {
    auto log = log_.get();
    if (!log) return log.error();
    file_window window(**log, size_, window_size);
    for (int64_t pos = position; pos < size_;) {
        auto p = window.get(pos, bl::header_size);
        if (!p) return p.error();
        auto h = *p ? parse_batch_header(*p, pos) : std::nullopt;
        if (!h || pos + h->total_size() > size_) {
            storage_log().error("{}: bad batch header at position {}", log_.path().string(), pos);
            return errc::corrupt_segment;
        }
        if (!visit(*h)) break;
        pos += h->total_size();
    }
    return {};
}

result<bool> segment::load_tail() {
    if (next_offset_) return true;
    auto start = offset_index_.last_entry();
    int64_t pos = start.position;
    int64_t next = base_offset_;
    int64_t max_ts = max_timestamp_;
    int64_t offset_of_max = offset_of_max_timestamp_;
    auto log = log_.get();
    if (!log) return result<bool>(boost::system::in_place_error, log.error());
    file_window window(**log, size_, scan_window);
    while (pos < size_) {
        auto p = window.get(pos, bl::header_size);
        if (!p) return result<bool>(boost::system::in_place_error, p.error());
        auto h = *p ? parse_batch_header(*p, pos) : std::nullopt;
        if (!h || pos + h->total_size() > size_ || h->base_offset < next ||
            h->last_offset() - base_offset_ > max_relative_offset) {
            storage_log().warn("{}: bad batch at position {} after the last index entry",
                               log_.path().string(), pos);
            needs_recovery_ = true;
            return false;
        }
        if (h->max_timestamp > max_ts) {
            max_ts = h->max_timestamp;
            offset_of_max = h->last_offset();
        }
        next = h->next_offset();
        pos += h->total_size();
    }
    if (size_ > 0) {
        // segment.ms counts from the first batch's timestamp, as in Kafka.
        auto first = read_header(0);
        if (!first) return result<bool>(boost::system::in_place_error, first.error());
        if (first->max_timestamp >= 0 && first->max_timestamp <= first_append_ms_)
            first_append_ms_ = first->max_timestamp;
    }
    next_offset_ = next;
    max_timestamp_ = max_ts;
    offset_of_max_timestamp_ = offset_of_max;
    return true;
}

result<int64_t> segment::largest_timestamp() const {
    if (max_timestamp_ >= 0) return max_timestamp_;
    auto log = log_.get();
    if (!log) return log.error();
    return (*log)->modified_ms();
}

result<int64_t> segment::truncate_to(int64_t offset) {
    auto at = find_position(offset);
    if (!at) return at.error();
    if (!*at) return int64_t{0};
    const int64_t cut = (*at)->position;
    const int64_t dropped = size_ - cut;
    auto log = log_.get();
    if (!log) return log.error();
    if (auto ec = (*log)->truncate(cut)) return ec;
    auto scan = recover_after(offset);
    if (!scan) return scan.error();
    return dropped;
}

std::error_code segment::seal() {
    if (max_timestamp_ > no_timestamp) {
        if (auto ec = time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_, true))
            return ec;
    }
    if (auto ec = offset_index_.write_all()) return ec;
    return time_index_.write_all();
}

std::error_code segment::flush() {
    auto log = log_.get();
    if (!log) return log.error();
    if (auto ec = (*log)->datasync()) return ec;
    if (auto ec = offset_index_.flush()) return ec;
    if (auto ec = time_index_.flush()) return ec;
    return txn_index_.flush();
}

std::error_code segment::add_to_flush(std::vector<file>& files,
                                      std::vector<index_write>& index_writes) {
    auto log = log_.get();
    if (!log) return log.error();
    auto copy = (*log)->duplicate();
    if (!copy) return copy.error();
    if (auto ec = txn_index_.duplicate(files)) return ec;
    files.push_back(std::move(*copy));
    for (auto w : {offset_index_.take_pending(), time_index_.take_pending()}) {
        if (w) index_writes.push_back(std::move(*w));
    }
    return {};
}

bool segment::indexes_settled() const {
    return offset_index_.nothing_pending() && time_index_.nothing_pending() &&
           max_timestamp_ <= time_index_.last_entry().timestamp;
}

std::error_code segment::close(bool seal_first) {
    std::error_code first;
    if (seal_first && log_.is_open()) first = seal();
    for (auto ec : {txn_index_.close(), log_.close()}) {
        if (ec && !first) first = ec;
    }
    return first;
}

std::error_code segment::remove(bool keep_txn_index) {
    // No seal(): the files are about to go.
    std::error_code first;
    for (auto ec : {keep_txn_index ? txn_index_.close() : txn_index_.remove(), log_.close()}) {
        if (ec && !first) first = ec;
    }
    for (auto suffix : {log_suffix, index_suffix, time_index_suffix}) {
        auto path = dir_ / segment_file_name(base_offset_, suffix);
        std::error_code ec;
        fs::remove(path, ec);
        if (ec) {
            storage_log().error("remove {}: {}", path.string(), ec.message());
            if (!first) first = errc::io_error;
        }
    }
    return first;
}

}  // namespace runnel::storage
