#include "streams/state/caching_store.h"

#include <gtest/gtest.h>

#include <map>

namespace runnel::streams {
namespace {

std::vector<std::string> keys_in(const state_store& s, std::string_view from, std::string_view to) {
    std::vector<std::string> out;
    s.scan(from, to, [&](std::string_view k, std::string_view v) {
        out.push_back(std::string(k) + "=" + std::string(v));
        return true;
    });
    return out;
}

TEST(CachingStoreTest, WritesReachTheStoreOnlyWhenFlushed) {
    memory_store under;
    cache_budget budget(1 << 20);
    caching_store cache(under, budget);
    cache.put("a", "1");
    cache.put("a", "2");
    EXPECT_EQ(cache.get("a"), "2");
    EXPECT_EQ(under.get("a"), std::nullopt);
    EXPECT_EQ(cache.flush().size(), 1u);
    EXPECT_EQ(under.get("a"), "2");
    cache.erase("a");
    EXPECT_EQ(cache.get("a"), std::nullopt);
    EXPECT_EQ(under.get("a"), "2");
    cache.flush();
    EXPECT_EQ(under.get("a"), std::nullopt);
}

TEST(CachingStoreTest, ScansSeeTheCachesChangesInOrder) {
    memory_store under;
    for (auto k : {"a", "b", "c", "d"}) under.put(k, "old");
    cache_budget budget(1 << 20);
    caching_store cache(under, budget);
    cache.put("b", "new");
    cache.erase("c");
    cache.put("bb", "added");
    EXPECT_EQ(cache.get("zz"), std::nullopt);  // remembered as absent, not listed
    EXPECT_EQ(keys_in(cache, "a", "d"), (std::vector<std::string>{"a=old", "b=new", "bb=added"}));
    EXPECT_EQ(keys_in(cache, "", ""),
              (std::vector<std::string>{"a=old", "b=new", "bb=added", "d=old"}));
}

TEST(CachingStoreTest, AFlushHandsBackEveryChangeOnceForTheChangelog) {
    memory_store under;
    cache_budget budget(400);  // small: the loop below spills to the store on the way
    caching_store cache(under, budget);
    for (int i = 0; i < 10; ++i) cache.put("k" + std::to_string(i), "v" + std::to_string(i));
    cache.erase("k3");
    auto changes = cache.flush();
    std::map<std::string, std::optional<std::string>> by_key(changes.begin(), changes.end());
    EXPECT_EQ(by_key.size(), changes.size());
    EXPECT_EQ(by_key.size(), 10u);
    EXPECT_EQ(by_key["k3"], std::nullopt);
    EXPECT_EQ(by_key["k9"], "v9");
    EXPECT_TRUE(cache.flush().empty());
}

TEST(CachingStoreTest, PastTheBudgetItFlushesAndForgets) {
    memory_store under;
    cache_budget budget(1000);
    {
        caching_store cache(under, budget);
        for (int i = 0; i < 50; ++i) cache.put("key" + std::to_string(i), std::string(20, 'x'));
        EXPECT_LE(budget.used, budget.limit);
        EXPECT_GT(under.approximate_entries(), 0u);  // some went down on the way
        cache.flush();
        EXPECT_EQ(under.approximate_entries(), 50u);
    }
    EXPECT_EQ(budget.used, 0);  // a closed cache gives its bytes back
}

}  // namespace
}  // namespace runnel::streams
