#include "storage/key_offset_map.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace runnel::storage {

namespace {

// Growing tables double while they are at most half used, which keeps probe runs short; only
// the table at its cap fills up to the load factor.
constexpr size_t initial_slots = 1024;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t fmix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

uint64_t load_le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

}  // namespace

// MurmurHash3_x64_128 (Austin Appleby, public domain), seed 0.
key_hash hash_key(std::span<const uint8_t> key) {
    const uint8_t* data = key.data();
    const size_t len = key.size();
    const size_t blocks = len / 16;
    constexpr uint64_t c1 = 0x87c37b91114253d5ULL;
    constexpr uint64_t c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = 0, h2 = 0;
    for (size_t i = 0; i < blocks; ++i) {
        uint64_t k1 = load_le64(data + i * 16);
        uint64_t k2 = load_le64(data + i * 16 + 8);
        k1 *= c1;
        k1 = rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const uint8_t* tail = data + blocks * 16;
    uint64_t k1 = 0, k2 = 0;
    const size_t rest = len & 15;
    for (size_t i = rest; i > 8; --i) k2 = (k2 << 8) | tail[i - 1];
    for (size_t i = std::min<size_t>(rest, 8); i > 0; --i) k1 = (k1 << 8) | tail[i - 1];
    if (rest > 8) {
        k2 *= c2;
        k2 = rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    if (rest > 0) {
        k1 *= c1;
        k1 = rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= len;
    h2 ^= len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    return {h1, h2};
}

key_offset_map::key_offset_map(int64_t memory_bytes, double load_factor) {
    auto slots = static_cast<size_t>(std::max<int64_t>(memory_bytes, 0)) / entry_bytes;
    max_slots_ = std::max<size_t>(slots, 1);
    double usable = std::floor(static_cast<double>(max_slots_) * std::clamp(load_factor, 0.0, 1.0));
    capacity_ = std::max<size_t>(1, static_cast<size_t>(usable));
    table_.resize(std::min(max_slots_, initial_slots));
}

size_t key_offset_map::find(uint64_t h1, uint64_t h2) const {
    const size_t n = table_.size();
    size_t i = static_cast<size_t>(h1 % n);
    // Linear probing; capacity_ <= slots, and a full table is only probed for keys it holds
    // (put() checks full() before probing for a new key), so the walk ends.
    for (size_t step = 0; step < n; ++step) {
        const entry& e = table_[i];
        if (e.offset < 0 || (e.h1 == h1 && e.h2 == h2)) return i;
        i = i + 1 == n ? 0 : i + 1;
    }
    return n;  // full and absent
}

void key_offset_map::grow() {
    std::vector<entry> old(std::min(max_slots_, table_.size() * 2));
    old.swap(table_);
    for (const entry& e : old) {
        if (e.offset >= 0) table_[find(e.h1, e.h2)] = e;
    }
}

bool key_offset_map::put(std::span<const uint8_t> key, int64_t offset) {
    auto [h1, h2] = hash_key(key);
    size_t i = find(h1, h2);
    if (i < table_.size() && table_[i].offset >= 0) {
        table_[i].offset = offset;
        return true;
    }
    if (full()) return false;
    if (table_.size() < max_slots_ && (size_ + 1) * 2 > table_.size()) {
        grow();
        i = find(h1, h2);
    }
    table_[i] = entry{h1, h2, offset};
    ++size_;
    return true;
}

int64_t key_offset_map::get(std::span<const uint8_t> key) const {
    auto [h1, h2] = hash_key(key);
    size_t i = find(h1, h2);
    return i < table_.size() ? table_[i].offset : -1;
}

}  // namespace runnel::storage
