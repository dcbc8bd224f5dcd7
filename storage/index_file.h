// What the two sparse segment indexes (<base>.index and <base>.timeindex) have in common: a file of
// fixed-size big-endian entries, each holding an offset relative to the segment base. Lookups only
// ever use the entries kept in memory, so no descriptor stays open (10,000 partitions would
// otherwise hold 30,000): the file is opened briefly when entries are written out, which happens
// in flush jobs for new entries (index_write, run on the I/O threads), and in full when the
// segment is sealed (roll, close) or flushed on its own shard. A crash can leave the file behind
// the log; recovery rebuilds the indexes of every segment after the recovery point, and a flush
// job's entries are on disk before the recovery point passes them.
//
// Kafka preallocates the active segment's index files (it maps them into memory); nothing here
// needs that, so files hold exactly their entries. Loading keeps the longest prefix of valid,
// correctly ordered entries, so a zero tail (a Kafka-written preallocated file, or a crash before
// Kafka trimmed it) or a torn entry is dropped.
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
#include <optional>
#include <system_error>
#include <vector>

namespace runnel::storage {

// Entries to write at `position` of an index file, then sync it; with no bytes only the sync.
// Made on the owning shard, run on an I/O thread. A file deleted meanwhile (retention) is fine.
struct index_write {
    std::filesystem::path path;
    int64_t position = 0;
    std::vector<uint8_t> bytes;

    std::error_code run() const;
};

template <class Entry>
class index_file {
  public:
    static constexpr size_t entry_size = Entry::size;

    index_file() = default;
    index_file(index_file&&) noexcept = default;
    index_file& operator=(index_file&&) noexcept = default;

    const std::filesystem::path& path() const { return path_; }
    int64_t base_offset() const { return base_offset_; }
    size_t entries() const { return entries_.size(); }
    size_t max_entries() const { return max_entries_; }

    // Removes every entry whose offset is >= offset.
    std::error_code truncate_to(int64_t offset) {
        int64_t rel = offset - base_offset_;
        // Offsets never decrease, so the entries to drop form a suffix.
        auto it = std::lower_bound(entries_.begin(), entries_.end(), rel,
                                   [](const Entry& e, int64_t r) { return e.relative_offset < r; });
        return truncate_to_entries(static_cast<size_t>(it - entries_.begin()));
    }
    // Keeps the first n entries (in memory and in the file).
    std::error_code truncate_to_entries(size_t n) {
        if (n >= entries_.size()) return {};
        if (n < queued_) {
            auto f = file::open(path_, O_RDWR | O_CREAT);
            if (!f) return f.error();
            if (auto ec = f->truncate(static_cast<int64_t>(n * entry_size))) return ec;
            queued_ = n;
        }
        entries_.resize(n);
        return {};
    }
    std::error_code reset() { return truncate_to_entries(0); }

    // Writes every entry and cuts the file to them (seal, close: the file is then complete).
    std::error_code write_all() {
        auto f = file::open(path_, O_RDWR | O_CREAT);
        if (!f) return f.error();
        auto bytes = encode(0);
        if (!bytes.empty()) {
            if (auto ec = f->write_at(bytes.data(), bytes.size(), 0)) return ec;
        }
        if (auto ec = f->truncate(static_cast<int64_t>(bytes.size()))) return ec;
        queued_ = entries_.size();
        unsynced_ = true;
        return {};
    }
    // write_all() and a sync (a flush on the owning shard).
    std::error_code flush() {
        if (auto ec = write_all()) return ec;
        if (auto ec = index_write{path_, 0, {}}.run()) return ec;
        unsynced_ = false;
        return {};
    }
    // For a flush job: the entries not yet handed out, to be written and synced elsewhere;
    // nullopt when the file has nothing new since the last one.
    std::optional<index_write> take_pending() {
        if (queued_ == entries_.size() && !unsynced_) return std::nullopt;
        index_write w{path_, static_cast<int64_t>(queued_ * entry_size), encode(queued_)};
        queued_ = entries_.size();
        unsynced_ = false;
        return w;
    }

    // Every entry is in the file or in a flush job's write, and so is the last sync: nothing for
    // a close to write.
    bool nothing_pending() const { return queued_ == entries_.size() && !unsynced_; }

    // A flush job that took entries failed: the next one writes the whole file again (a later
    // job writing only its own entries would leave a hole of zeros where the lost ones belong).
    void requeue() {
        queued_ = 0;
        unsynced_ = true;
    }

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
        path_ = path;
        queued_ = entries_.size();
        return {};
    }

    // Keeps e; it reaches the file with the next flush job or seal.
    void push(const Entry& e) { entries_.push_back(e); }

    const std::vector<Entry>& raw_entries() const { return entries_; }

  private:
    std::vector<uint8_t> encode(size_t from) const {
        std::vector<uint8_t> out((entries_.size() - std::min(from, entries_.size())) * entry_size);
        for (size_t i = from; i < entries_.size(); ++i)
            entries_[i].encode(out.data() + (i - from) * entry_size);
        return out;
    }

    std::filesystem::path path_;
    int64_t base_offset_ = 0;
    size_t max_entries_ = 0;
    std::vector<Entry> entries_;
    size_t queued_ = 0;      // entries before this are in the file or in a flush job's index_write
    bool unsynced_ = false;  // written here since the last sync was handed out
};

}  // namespace runnel::storage
