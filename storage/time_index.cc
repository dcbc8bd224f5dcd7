#include "storage/time_index.h"

#include "protocol/record_batch_header.h"
#include "storage/log.h"

#include <algorithm>
#include <limits>

namespace runnel::storage {

namespace bl = protocol::batch_layout;

time_index_entry time_index_entry::decode(const uint8_t* p) {
    return {bl::load_i64(p), bl::load_i32(p + 8)};
}

void time_index_entry::encode(uint8_t* p) const {
    bl::store_i64(p, timestamp);
    bl::store_i32(p + 8, relative_offset);
}

result<time_index> time_index::open(const std::filesystem::path& path, int64_t base_offset,
                                    int32_t max_index_bytes) {
    time_index idx;
    if (auto ec = idx.load(path, base_offset, max_index_bytes)) return ec;
    return idx;
}

timestamp_offset time_index::entry(size_t n) const {
    const auto& e = raw_entries()[n];
    return {e.timestamp, base_offset() + e.relative_offset};
}

timestamp_offset time_index::last_entry() const {
    if (entries() == 0) return {no_timestamp, base_offset()};
    return entry(entries() - 1);
}

timestamp_offset time_index::lookup(int64_t target_timestamp) const {
    const auto& all = raw_entries();
    auto it = std::upper_bound(all.begin(), all.end(), target_timestamp,
                               [](int64_t t, const auto& e) { return t < e.timestamp; });
    if (it == all.begin()) return {no_timestamp, base_offset()};
    return entry(static_cast<size_t>(it - all.begin()) - 1);
}

std::error_code time_index::maybe_append(int64_t timestamp, int64_t offset, bool skip_full_check) {
    int64_t rel = offset - base_offset();
    auto last = last_entry();
    if (rel < 0 || rel > std::numeric_limits<int32_t>::max() ||
        (entries() > 0 && offset < last.offset)) {
        storage_log().error("{}: refusing time index entry {} -> {} (last {} -> {})",
                            path().string(), timestamp, offset, last.timestamp, last.offset);
        return errc::invalid_index_entry;
    }
    if (timestamp <= last.timestamp) return {};
    if (!skip_full_check && full()) {
        storage_log().error("{}: time index full ({} entries)", path().string(), entries());
        return errc::invalid_index_entry;
    }
    push({timestamp, static_cast<int32_t>(rel)});
    return {};
}

}  // namespace runnel::storage
