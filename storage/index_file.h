// What the two sparse segment indexes (<base>.index and <base>.timeindex) have in common: a file of
// fixed-size big-endian entries, each holding an offset relative to the segment base, kept in
// memory and written through to the file. offset_index and time_index add their entry layout and
// lookups on top.
//
// Like Kafka, the index of the active segment is preallocated: the file is extended (sparse, zero
// filled) to segment.index.bytes rounded down to whole entries, and trimmed back to the real
// entries when the segment rolls or closes. Loading keeps the longest prefix of valid, correctly
// ordered entries, so a zero tail (preallocation, or a crash before trimming) or a torn entry is
// dropped.
//
// `Entry` provides:
//   static constexpr size_t size;                 bytes per entry on disk
//   int32_t relative_offset;                      offsets never decrease from one entry to the next
//   static Entry decode(const uint8_t*);  void encode(uint8_t*) const;
//   bool valid() const;                           could be a real first entry
//   bool follows(const Entry& prev) const;        could be a real entry right after `prev`
#pragma once

#include "storage/errors.h"
#include "storage/file.h"
#include "storage/log.h"

#include <fcntl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <vector>

namespace runnel::storage {

template <class Entry>
class index_file {
  public:
    static constexpr size_t entry_size = Entry::size;

    index_file() = default;
    index_file(index_file&&) noexcept = default;
    index_file& operator=(index_file&&) noexcept = default;

    const std::filesystem::path& path() const { return file_.path(); }
    int64_t base_offset() const { return base_offset_; }
    size_t entries() const { return entries_.size(); }
    size_t max_entries() const { return max_entries_; }
    // True while the file is extended to max_entries() slots.
    bool preallocated() const { return preallocated_; }
    // Bytes the file should have now.
    int64_t file_size() const {
        size_t slots = preallocated_ ? std::max(max_entries_, entries_.size()) : entries_.size();
        return static_cast<int64_t>(slots * entry_size);
    }

    // Removes every entry whose offset is >= offset.
    std::error_code truncate_to(int64_t offset) {
        int64_t rel = offset - base_offset_;
        // Offsets never decrease, so the entries to drop form a suffix.
        auto it = std::lower_bound(entries_.begin(), entries_.end(), rel,
                                   [](const Entry& e, int64_t r) { return e.relative_offset < r; });
        return truncate_to_entries(static_cast<size_t>(it - entries_.begin()));
    }
    // Keeps the first n entries; the dropped slots read as zeros afterwards.
    std::error_code truncate_to_entries(size_t n) {
        if (n >= entries_.size()) return {};
        if (auto ec = file_.truncate(static_cast<int64_t>(n * entry_size))) return ec;
        entries_.resize(n);
        if (preallocated_) return file_.truncate(file_size());
        return {};
    }
    std::error_code reset() { return truncate_to_entries(0); }

    // Extends the file to max_entries() zero-filled slots (for the active segment).
    std::error_code preallocate() {
        preallocated_ = true;
        return file_.truncate(file_size());
    }
    // Cuts the file to the real entries (when the segment stops being the active one).
    std::error_code trim() {
        preallocated_ = false;
        return file_.truncate(file_size());
    }

    std::error_code flush() { return file_.datasync(); }
    result<file> duplicate() const { return file_.duplicate(); }
    std::error_code close() { return file_.close(); }

  protected:
    // Opens or creates the file and loads its valid prefix; the file is trimmed to it.
    std::error_code load(const std::filesystem::path& path, int64_t base_offset,
                         int32_t max_index_bytes) {
        auto f = file::open(path, O_RDWR | O_CREAT);
        if (!f) return f.error();
        auto size = f->size();
        if (!size) return size.error();
        base_offset_ = base_offset;
        max_entries_ = static_cast<size_t>(std::max(max_index_bytes, 0)) / entry_size;
        entries_.clear();

        // Read in chunks: a preallocated file is mostly zeros and loading stops at the first.
        constexpr size_t chunk_entries = 8192;
        std::vector<uint8_t> chunk(chunk_entries * entry_size);
        bool done = false;
        for (int64_t pos = 0; !done && pos < *size;) {
            auto got = f->read_at(chunk.data(), chunk.size(), pos);
            if (!got) return got.error();
            size_t n = *got / entry_size;
            if (n == 0) break;
            for (size_t i = 0; i < n; ++i) {
                Entry e = Entry::decode(chunk.data() + i * entry_size);
                if (entries_.empty() ? !e.valid() : !e.follows(entries_.back())) {
                    done = true;  // zero fill or garbage after the last real entry
                    break;
                }
                entries_.push_back(e);
            }
            pos += static_cast<int64_t>(n * entry_size);
        }
        auto valid_bytes = static_cast<int64_t>(entries_.size() * entry_size);
        if (valid_bytes != *size) {
            storage_log().debug("{}: trimming {} bytes after {} valid index entries", path.string(),
                                *size - valid_bytes, entries_.size());
            if (auto ec = f->truncate(valid_bytes)) return ec;
        }
        file_ = std::move(*f);
        preallocated_ = false;
        return {};
    }

    // Writes e into the next slot and keeps it.
    std::error_code push(const Entry& e) {
        uint8_t buf[entry_size];
        e.encode(buf);
        auto pos = static_cast<int64_t>(entries_.size() * entry_size);
        if (auto ec = file_.write_at(buf, entry_size, pos)) {
            // write_at cut the file back to pos; restore the preallocated length.
            if (preallocated_) (void)file_.truncate(file_size());
            return ec;
        }
        entries_.push_back(e);
        return {};
    }

    const std::vector<Entry>& raw_entries() const { return entries_; }

  private:
    file file_;
    int64_t base_offset_ = 0;
    size_t max_entries_ = 0;
    bool preallocated_ = false;
    std::vector<Entry> entries_;
};

}  // namespace runnel::storage
