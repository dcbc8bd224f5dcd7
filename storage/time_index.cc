#include "storage/time_index.h"

#include "protocol/record_batch_header.h"
#include "storage/log.h"

#include <fcntl.h>

#include <algorithm>
#include <limits>

namespace runnel::storage {

namespace bl = protocol::batch_layout;

result<time_index> time_index::open(const std::filesystem::path& path, int64_t base_offset,
                                    int32_t max_index_bytes) {
    auto f = file::open(path, O_RDWR | O_CREAT);
    if (!f) return f.error();
    auto size = f->size();
    if (!size) return size.error();

    time_index idx;
    idx.base_offset_ = base_offset;
    idx.max_entries_ = static_cast<size_t>(std::max(max_index_bytes, 0)) / entry_size;

    std::vector<uint8_t> raw(static_cast<size_t>(*size));
    auto got = f->read_at(raw.data(), raw.size(), 0);
    if (!got) return got.error();
    size_t n = *got / entry_size;
    idx.entries_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const uint8_t* p = raw.data() + i * entry_size;
        entry_t e{bl::load_i64(p), bl::load_i32(p + 8)};
        // Kafka only writes an entry whose timestamp beats the previous one (the first must beat
        // no_timestamp), so anything else marks the end of the real entries.
        if (e.relative_offset < 0 || e.timestamp <= no_timestamp) break;
        if (!idx.entries_.empty() && (e.timestamp <= idx.entries_.back().timestamp ||
                                      e.relative_offset < idx.entries_.back().relative_offset)) {
            break;
        }
        idx.entries_.push_back(e);
    }
    auto valid_bytes = static_cast<int64_t>(idx.entries_.size() * entry_size);
    if (valid_bytes != *size) {
        storage_log().debug("{}: trimming {} bytes after {} valid time index entries",
                            path.string(), *size - valid_bytes, idx.entries_.size());
        if (auto ec = f->truncate(valid_bytes)) return ec;
    }
    idx.file_ = std::move(*f);
    return idx;
}

timestamp_offset time_index::entry(size_t n) const {
    const auto& e = entries_[n];
    return {e.timestamp, base_offset_ + e.relative_offset};
}

timestamp_offset time_index::last_entry() const {
    if (entries_.empty()) return {no_timestamp, base_offset_};
    return entry(entries_.size() - 1);
}

timestamp_offset time_index::lookup(int64_t target_timestamp) const {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), target_timestamp,
                               [](int64_t t, const entry_t& e) { return t < e.timestamp; });
    if (it == entries_.begin()) return {no_timestamp, base_offset_};
    return entry(static_cast<size_t>(it - entries_.begin()) - 1);
}

std::error_code time_index::maybe_append(int64_t timestamp, int64_t offset, bool skip_full_check) {
    int64_t rel = offset - base_offset_;
    auto last = last_entry();
    if (rel < 0 || rel > std::numeric_limits<int32_t>::max() ||
        (!entries_.empty() && offset < last.offset)) {
        storage_log().error("{}: refusing time index entry {} -> {} (last {} -> {})",
                            path().string(), timestamp, offset, last.timestamp, last.offset);
        return errc::invalid_index_entry;
    }
    if (timestamp <= last.timestamp) return {};
    if (!skip_full_check && full()) {
        storage_log().error("{}: time index full ({} entries)", path().string(), entries_.size());
        return errc::invalid_index_entry;
    }
    entry_t e{timestamp, static_cast<int32_t>(rel)};
    uint8_t buf[entry_size];
    bl::store_i64(buf, e.timestamp);
    bl::store_i32(buf + 8, e.relative_offset);
    if (auto ec =
            file_.write_at(buf, entry_size, static_cast<int64_t>(entries_.size() * entry_size)))
        return ec;
    entries_.push_back(e);
    return {};
}

std::error_code time_index::truncate_to(int64_t offset) {
    int64_t rel = offset - base_offset_;
    // Offsets are sorted (non-decreasing), so the entries to drop form a suffix.
    auto it = std::lower_bound(entries_.begin(), entries_.end(), rel,
                               [](const entry_t& e, int64_t r) { return e.relative_offset < r; });
    return truncate_to_entries(static_cast<size_t>(it - entries_.begin()));
}

std::error_code time_index::truncate_to_entries(size_t n) {
    if (n >= entries_.size()) return {};
    if (auto ec = file_.truncate(static_cast<int64_t>(n * entry_size))) return ec;
    entries_.resize(n);
    return {};
}

}  // namespace runnel::storage
