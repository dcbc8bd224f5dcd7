// Sparse offset index of one segment (<base>.index), Kafka's format: entries of a 4-byte offset
// relative to the segment base and a 4-byte position in the .log file, both big-endian, strictly
// increasing. Loading, truncation and writing out are index_file's; lookups never touch the disk.
#pragma once

#include "storage/errors.h"
#include "storage/index_file.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>

namespace runnel::storage {

struct offset_position {
    int64_t offset = 0;    // absolute offset
    int64_t position = 0;  // byte position in the .log file
    bool operator==(const offset_position&) const = default;
};

struct offset_index_entry {
    static constexpr size_t size = 8;
    int32_t relative_offset = 0;
    int32_t position = 0;

    static offset_index_entry decode(const uint8_t* p);
    void encode(uint8_t* p) const;
    bool valid() const { return relative_offset >= 0 && position >= 0; }
    bool follows(const offset_index_entry& prev) const {
        return valid() && relative_offset > prev.relative_offset && position > prev.position;
    }
};

class offset_index : public index_file<offset_index_entry> {
  public:
    // Opens or creates the file and loads it. A trailing partial entry and anything from the first
    // entry that breaks the ordering on (such as Kafka's zero-filled preallocated tail) are dropped
    // and the file is trimmed to the valid entries. `max_index_bytes` is segment.index.bytes.
    static result<offset_index> open(const std::filesystem::path& path, int64_t base_offset,
                                     int32_t max_index_bytes);

    bool full() const { return entries() >= max_entries(); }

    offset_position entry(size_t n) const;
    // The last entry, or (base_offset, 0) when empty.
    offset_position last_entry() const;
    // The entry with the largest offset <= target, or (base_offset, 0) when there is none: reading
    // forward from its position finds the batch holding `target`.
    offset_position lookup(int64_t target) const;
    // The entry with the largest position <= position (a batch start), or (base_offset, 0).
    offset_position floor_by_position(int64_t position) const;

    // Adds an entry; the offset must be larger than the last one and fit the relative form.
    std::error_code append(int64_t offset, int64_t position);
};

}  // namespace runnel::storage
