#include "storage/offset_index.h"

#include "protocol/record_batch_header.h"
#include "storage/log.h"

#include <fcntl.h>

#include <algorithm>
#include <limits>

namespace runnel::storage {

namespace bl = protocol::batch_layout;

result<offset_index> offset_index::open(const std::filesystem::path& path, int64_t base_offset,
                                        int32_t max_index_bytes) {
    auto f = file::open(path, O_RDWR | O_CREAT);
    if (!f) return f.error();
    auto size = f->size();
    if (!size) return size.error();

    offset_index idx;
    idx.base_offset_ = base_offset;
    idx.max_entries_ = static_cast<size_t>(std::max(max_index_bytes, 0)) / entry_size;

    std::vector<uint8_t> raw(static_cast<size_t>(*size));
    auto got = f->read_at(raw.data(), raw.size(), 0);
    if (!got) return got.error();
    size_t n = *got / entry_size;
    idx.entries_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const uint8_t* p = raw.data() + i * entry_size;
        entry_t e{bl::load_i32(p), bl::load_i32(p + 4)};
        if (e.relative_offset < 0 || e.position < 0) break;
        if (!idx.entries_.empty() && (e.relative_offset <= idx.entries_.back().relative_offset ||
                                      e.position <= idx.entries_.back().position)) {
            break;  // zero fill or garbage after the last real entry
        }
        idx.entries_.push_back(e);
    }
    auto valid_bytes = static_cast<int64_t>(idx.entries_.size() * entry_size);
    if (valid_bytes != *size) {
        storage_log().debug("{}: trimming {} bytes after {} valid index entries", path.string(),
                            *size - valid_bytes, idx.entries_.size());
        if (auto ec = f->truncate(valid_bytes)) return ec;
    }
    idx.file_ = std::move(*f);
    return idx;
}

offset_position offset_index::entry(size_t n) const {
    const auto& e = entries_[n];
    return {base_offset_ + e.relative_offset, e.position};
}

offset_position offset_index::last_entry() const {
    if (entries_.empty()) return {base_offset_, 0};
    return entry(entries_.size() - 1);
}

offset_position offset_index::lookup(int64_t target) const {
    int64_t rel = target - base_offset_;
    if (rel < 0 || entries_.empty()) return {base_offset_, 0};
    auto it = std::upper_bound(entries_.begin(), entries_.end(), rel,
                               [](int64_t r, const entry_t& e) { return r < e.relative_offset; });
    if (it == entries_.begin()) return {base_offset_, 0};
    return entry(static_cast<size_t>(it - entries_.begin()) - 1);
}

std::error_code offset_index::append(int64_t offset, int64_t position) {
    int64_t rel = offset - base_offset_;
    if (full() || rel < 0 || rel > std::numeric_limits<int32_t>::max() || position < 0 ||
        position > std::numeric_limits<int32_t>::max() ||
        (!entries_.empty() &&
         (rel <= entries_.back().relative_offset || position <= entries_.back().position))) {
        storage_log().error("{}: refusing index entry {} -> {} (entries {}, last {})",
                            path().string(), offset, position, entries_.size(),
                            last_entry().offset);
        return errc::invalid_index_entry;
    }
    entry_t e{static_cast<int32_t>(rel), static_cast<int32_t>(position)};
    uint8_t buf[entry_size];
    bl::store_i32(buf, e.relative_offset);
    bl::store_i32(buf + 4, e.position);
    if (auto ec =
            file_.write_at(buf, entry_size, static_cast<int64_t>(entries_.size() * entry_size)))
        return ec;
    entries_.push_back(e);
    return {};
}

std::error_code offset_index::truncate_to(int64_t offset) {
    int64_t rel = offset - base_offset_;
    auto it = std::lower_bound(entries_.begin(), entries_.end(), rel,
                               [](const entry_t& e, int64_t r) { return e.relative_offset < r; });
    return truncate_to_entries(static_cast<size_t>(it - entries_.begin()));
}

std::error_code offset_index::truncate_to_entries(size_t n) {
    if (n >= entries_.size()) return {};
    if (auto ec = file_.truncate(static_cast<int64_t>(n * entry_size))) return ec;
    entries_.resize(n);
    return {};
}

}  // namespace runnel::storage
