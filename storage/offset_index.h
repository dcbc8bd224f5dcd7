// Sparse offset index of one segment (<base>.index), Kafka's format: entries of a 4-byte offset
// relative to the segment base and a 4-byte position in the .log file, both big-endian, strictly
// increasing. Entries are kept in memory and appended to the file; lookups never touch the disk.
#pragma once

#include "storage/errors.h"
#include "storage/file.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <vector>

namespace runnel::storage {

struct offset_position {
    int64_t offset = 0;    // absolute offset
    int64_t position = 0;  // byte position in the .log file
    bool operator==(const offset_position&) const = default;
};

class offset_index {
  public:
    static constexpr size_t entry_size = 8;

    offset_index() = default;
    offset_index(offset_index&&) noexcept = default;
    offset_index& operator=(offset_index&&) noexcept = default;

    // Opens or creates the file and loads it. A trailing partial entry and anything from the first
    // entry that breaks the ordering on (such as Kafka's zero-filled preallocation) are dropped and
    // the file is trimmed to the valid entries. `max_index_bytes` is segment.index.bytes.
    static result<offset_index> open(const std::filesystem::path& path, int64_t base_offset,
                                     int32_t max_index_bytes);

    const std::filesystem::path& path() const { return file_.path(); }
    int64_t base_offset() const { return base_offset_; }
    size_t entries() const { return entries_.size(); }
    size_t max_entries() const { return max_entries_; }
    bool full() const { return entries_.size() >= max_entries_; }

    offset_position entry(size_t n) const;
    // The last entry, or (base_offset, 0) when empty.
    offset_position last_entry() const;
    // The entry with the largest offset <= target, or (base_offset, 0) when there is none: reading
    // forward from its position finds the batch holding `target`.
    offset_position lookup(int64_t target) const;

    // Adds an entry; the offset must be larger than the last one and fit the relative form.
    std::error_code append(int64_t offset, int64_t position);
    // Removes every entry whose offset is >= offset.
    std::error_code truncate_to(int64_t offset);
    std::error_code truncate_to_entries(size_t n);
    std::error_code reset() { return truncate_to_entries(0); }

    std::error_code flush() { return file_.datasync(); }
    std::error_code close() { return file_.close(); }

  private:
    struct entry_t {
        int32_t relative_offset;
        int32_t position;
    };

    file file_;
    int64_t base_offset_ = 0;
    size_t max_entries_ = 0;
    std::vector<entry_t> entries_;
};

}  // namespace runnel::storage
