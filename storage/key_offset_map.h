// The log cleaner's map from record key to the last offset holding it, kept as Kafka's
// SkimpyOffsetMap keeps it: every key as a 16-byte hash plus an 8-byte offset, 24 bytes an entry,
// in an open-addressing table of at most memory_bytes / 24 slots, of which at most load_factor
// may be used. So log.cleaner.dedupe.buffer.size really bounds the memory of a pass; a dirty part
// with more keys is cleaned in several passes. (Kafka hashes with MD5; MurmurHash3 x64-128 here.
// Two keys with the same 128-bit hash count as one, as in Kafka.)
//
// The table starts small and doubles up to its cap, so a pass over few keys allocates little;
// while it doubles, the old and the new table exist together for a moment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace runnel::storage {

// MurmurHash3 x64-128 of the key, seed 0: (h1, h2) as the reference implementation returns them.
struct key_hash {
    uint64_t h1 = 0, h2 = 0;
};
key_hash hash_key(std::span<const uint8_t> key);

class key_offset_map {
  public:
    static constexpr size_t entry_bytes = 24;  // 16-byte hash + 8-byte offset, as in Kafka

    // At least one key always fits, whatever the budget, so every pass makes progress.
    key_offset_map(int64_t memory_bytes, double load_factor);

    // Slots the budget pays for, and how many keys may be stored in them.
    size_t max_slots() const { return max_slots_; }
    size_t capacity() const { return capacity_; }
    size_t size() const { return size_; }
    bool full() const { return size_ >= capacity_; }

    // Stores `offset` as the key's last offset. Returns false, changing nothing, when the key is
    // not in the map yet and the map is full.
    bool put(std::span<const uint8_t> key, int64_t offset);
    // The offset stored for the key, or -1.
    int64_t get(std::span<const uint8_t> key) const;

  private:
    struct entry {
        uint64_t h1 = 0, h2 = 0;
        int64_t offset = -1;  // -1: empty slot (offsets are never negative)
    };
    static_assert(sizeof(entry) == entry_bytes);

    // The slot holding the hash, or the empty slot where it would go.
    size_t find(uint64_t h1, uint64_t h2) const;
    void grow();

    size_t max_slots_;
    size_t capacity_;
    size_t size_ = 0;
    std::vector<entry> table_;
};

}  // namespace runnel::storage
