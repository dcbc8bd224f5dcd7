// key_offset_map: the cleaner's capped key -> offset map.
#include "storage/key_offset_map.h"

#include <gtest/gtest.h>

#include <string>

namespace runnel::storage {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// prefix + i, built by appending (g++ 12 warns falsely about "literal" + std::string).
std::string key(std::string prefix, int i) {
    prefix += std::to_string(i);
    return prefix;
}

TEST(KeyOffsetMap, HashIsMurmur3X64_128) {
    // Reference values (seed 0) of the published implementation.
    auto h = hash_key(bytes("hello"));
    EXPECT_EQ(h.h1, 0xcbd8a7b341bd9b02ULL);
    EXPECT_EQ(h.h2, 0x5b1e906a48ae1d19ULL);
    auto empty = hash_key({});
    EXPECT_EQ(empty.h1, 0u);
    EXPECT_EQ(empty.h2, 0u);
    // Keys longer than one 16-byte block differ in their hash when one byte differs.
    auto a = hash_key(bytes(std::string(40, 'x')));
    auto b = hash_key(bytes(std::string(39, 'x') + "y"));
    EXPECT_TRUE(a.h1 != b.h1 || a.h2 != b.h2);
}

TEST(KeyOffsetMap, CapacityIsTheBudgetIn24ByteEntriesTimesTheLoadFactor) {
    key_offset_map m(240, 0.9);  // 10 slots, 9 keys
    EXPECT_EQ(m.max_slots(), 10u);
    EXPECT_EQ(m.capacity(), 9u);
    for (int i = 0; i < 9; ++i) EXPECT_TRUE(m.put(bytes(key("k", i)), i));
    EXPECT_TRUE(m.full());
    EXPECT_FALSE(m.put(bytes("new"), 100));  // a new key does not fit
    EXPECT_EQ(m.get(bytes("new")), -1);
    EXPECT_TRUE(m.put(bytes("k3"), 50));  // a known key still moves on
    EXPECT_EQ(m.size(), 9u);
    for (int i = 0; i < 9; ++i) EXPECT_EQ(m.get(bytes(key("k", i))), i == 3 ? 50 : i);
}

TEST(KeyOffsetMap, AtLeastOneKeyFits) {
    key_offset_map m(0, 0.9);
    EXPECT_EQ(m.capacity(), 1u);
    EXPECT_TRUE(m.put(bytes("a"), 7));
    EXPECT_FALSE(m.put(bytes("b"), 8));
    EXPECT_EQ(m.get(bytes("a")), 7);
    EXPECT_EQ(m.get(bytes("b")), -1);
}

TEST(KeyOffsetMap, AFullTableAtLoadFactorOneStillAnswers) {
    key_offset_map m(24 * 7, 1.0);
    for (int i = 0; i < 7; ++i) EXPECT_TRUE(m.put(bytes(std::to_string(i)), i));
    EXPECT_FALSE(m.put(bytes("x"), 9));
    EXPECT_EQ(m.get(bytes("absent")), -1);  // probing ends on a table with no empty slot
    for (int i = 0; i < 7; ++i) EXPECT_EQ(m.get(bytes(std::to_string(i))), i);
}

TEST(KeyOffsetMap, GrowsUpToItsCapAndKeepsEveryKey) {
    key_offset_map m(int64_t{24} * 100'000, 0.9);
    EXPECT_EQ(m.capacity(), 90'000u);
    for (int i = 0; i < 90'000; ++i) ASSERT_TRUE(m.put(bytes(key("key-", i)), i));
    EXPECT_FALSE(m.put(bytes("one-more"), 1));
    for (int i = 0; i < 90'000; i += 7) ASSERT_EQ(m.get(bytes(key("key-", i))), i);
}

}  // namespace
}  // namespace runnel::storage
