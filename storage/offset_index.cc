#include "storage/offset_index.h"

#include "protocol/record_batch_header.h"
#include "storage/log.h"

#include <algorithm>
#include <limits>

namespace runnel::storage {

namespace bl = protocol::batch_layout;

offset_index_entry offset_index_entry::decode(const uint8_t* p) {
    return {bl::load_i32(p), bl::load_i32(p + 4)};
}

void offset_index_entry::encode(uint8_t* p) const {
    bl::store_i32(p, relative_offset);
    bl::store_i32(p + 4, position);
}

result<offset_index> offset_index::open(const std::filesystem::path& path, int64_t base_offset,
                                        int32_t max_index_bytes) {
    offset_index idx;
    if (auto ec = idx.load(path, base_offset, max_index_bytes)) return ec;
    return idx;
}

offset_position offset_index::entry(size_t n) const {
    const auto& e = raw_entries()[n];
    return {base_offset() + e.relative_offset, e.position};
}

offset_position offset_index::last_entry() const {
    if (entries() == 0) return {base_offset(), 0};
    return entry(entries() - 1);
}

offset_position offset_index::lookup(int64_t target) const {
    int64_t rel = target - base_offset();
    const auto& all = raw_entries();
    if (rel < 0 || all.empty()) return {base_offset(), 0};
    auto it = std::upper_bound(all.begin(), all.end(), rel,
                               [](int64_t r, const auto& e) { return r < e.relative_offset; });
    if (it == all.begin()) return {base_offset(), 0};
    return entry(static_cast<size_t>(it - all.begin()) - 1);
}

offset_position offset_index::floor_by_position(int64_t position) const {
    const auto& all = raw_entries();
    auto it = std::upper_bound(all.begin(), all.end(), position,
                               [](int64_t p, const auto& e) { return p < e.position; });
    if (it == all.begin()) return {base_offset(), 0};
    return entry(static_cast<size_t>(it - all.begin()) - 1);
}

std::error_code offset_index::append(int64_t offset, int64_t position) {
    int64_t rel = offset - base_offset();
    offset_index_entry e{};
    bool fits = rel >= 0 && rel <= std::numeric_limits<int32_t>::max() && position >= 0 &&
                position <= std::numeric_limits<int32_t>::max();
    if (fits) e = {static_cast<int32_t>(rel), static_cast<int32_t>(position)};
    if (full() || !fits || (entries() > 0 && !e.follows(raw_entries().back()))) {
        storage_log().error("{}: refusing index entry {} -> {} (entries {}, last {})",
                            path().string(), offset, position, entries(), last_entry().offset);
        return errc::invalid_index_entry;
    }
    push(e);
    return {};
}

}  // namespace runnel::storage
