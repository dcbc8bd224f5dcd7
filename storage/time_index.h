// Sparse time index of one segment (<base>.timeindex), Kafka's format: entries of an 8-byte
// timestamp and a 4-byte offset relative to the segment base, big-endian. An entry (t, o) says
// "the largest timestamp up to offset o is t, first reached by the batch ending at o"; timestamps
// strictly increase, offsets never decrease. Loading, truncation and writing out are
// index_file's.
#pragma once

#include "storage/errors.h"
#include "storage/index_file.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>

namespace runnel::storage {

inline constexpr int64_t no_timestamp = -1;

struct timestamp_offset {
    int64_t timestamp = no_timestamp;
    int64_t offset = 0;  // absolute offset
    bool operator==(const timestamp_offset&) const = default;
};

struct time_index_entry {
    static constexpr size_t size = 12;
    int64_t timestamp = no_timestamp;
    int32_t relative_offset = 0;

    static time_index_entry decode(const uint8_t* p);
    void encode(uint8_t* p) const;
    // Kafka only writes an entry whose timestamp beats the previous one (the first must beat
    // no_timestamp), so anything else marks the end of the real entries.
    bool valid() const { return relative_offset >= 0 && timestamp > no_timestamp; }
    bool follows(const time_index_entry& prev) const {
        return valid() && timestamp > prev.timestamp && relative_offset >= prev.relative_offset;
    }
};

class time_index : public index_file<time_index_entry> {
  public:
    // Opens or creates the file and loads it, dropping a trailing partial entry and everything
    // from the first out-of-order entry on (Kafka's zero-filled preallocation); the file is
    // trimmed.
    static result<time_index> open(const std::filesystem::path& path, int64_t base_offset,
                                   int32_t max_index_bytes);

    // Full one entry early: the last slot is kept for the entry written when the segment rolls.
    bool full() const { return entries() + 1 >= max_entries(); }

    timestamp_offset entry(size_t n) const;
    // The last entry, or (no_timestamp, base_offset) when empty.
    timestamp_offset last_entry() const;
    // The entry with the largest timestamp <= target, or (no_timestamp, base_offset) if none.
    timestamp_offset lookup(int64_t target_timestamp) const;

    // Appends (timestamp, offset) when timestamp is larger than the last entry's; otherwise does
    // nothing. An offset below the last entry's, or a full index without skip_full_check, is an
    // error.
    std::error_code maybe_append(int64_t timestamp, int64_t offset, bool skip_full_check = false);
};

}  // namespace runnel::storage
