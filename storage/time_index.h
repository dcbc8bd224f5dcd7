// Sparse time index of one segment (<base>.timeindex), Kafka's format: entries of an 8-byte
// timestamp and a 4-byte offset relative to the segment base, big-endian. An entry (t, o) says
// "the largest timestamp up to offset o is t, first reached by the batch ending at o"; timestamps
// strictly increase, offsets never decrease. Entries are kept in memory and appended to the file.
#pragma once

#include "storage/errors.h"
#include "storage/file.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <vector>

namespace runnel::storage {

inline constexpr int64_t no_timestamp = -1;

struct timestamp_offset {
    int64_t timestamp = no_timestamp;
    int64_t offset = 0;  // absolute offset
    bool operator==(const timestamp_offset&) const = default;
};

class time_index {
  public:
    static constexpr size_t entry_size = 12;

    time_index() = default;
    time_index(time_index&&) noexcept = default;
    time_index& operator=(time_index&&) noexcept = default;

    // Opens or creates the file and loads it, dropping a trailing partial entry and everything
    // from the first out-of-order entry on (zero-filled preallocation); the file is trimmed.
    static result<time_index> open(const std::filesystem::path& path, int64_t base_offset,
                                   int32_t max_index_bytes);

    const std::filesystem::path& path() const { return file_.path(); }
    int64_t base_offset() const { return base_offset_; }
    size_t entries() const { return entries_.size(); }
    size_t max_entries() const { return max_entries_; }
    // Full one entry early: the last slot is kept for the entry written when the segment rolls.
    bool full() const { return entries_.size() + 1 >= max_entries_; }

    timestamp_offset entry(size_t n) const;
    // The last entry, or (no_timestamp, base_offset) when empty.
    timestamp_offset last_entry() const;
    // The entry with the largest timestamp <= target, or (no_timestamp, base_offset) if none.
    timestamp_offset lookup(int64_t target_timestamp) const;

    // Appends (timestamp, offset) when timestamp is larger than the last entry's; otherwise does
    // nothing. An offset below the last entry's, or a full index without skip_full_check, is an
    // error.
    std::error_code maybe_append(int64_t timestamp, int64_t offset, bool skip_full_check = false);
    // Removes every entry whose offset is >= offset.
    std::error_code truncate_to(int64_t offset);
    std::error_code truncate_to_entries(size_t n);
    std::error_code reset() { return truncate_to_entries(0); }

    std::error_code flush() { return file_.datasync(); }
    std::error_code close() { return file_.close(); }

  private:
    struct entry_t {
        int64_t timestamp;
        int32_t relative_offset;
    };

    file file_;
    int64_t base_offset_ = 0;
    size_t max_entries_ = 0;
    std::vector<entry_t> entries_;
};

}  // namespace runnel::storage
