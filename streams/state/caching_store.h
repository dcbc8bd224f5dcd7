// A write-back cache in front of a task's durable store, as Kafka Streams' record cache sits in
// front of RocksDB: reads and writes of the working set stay in memory, and the store (and the
// changelog) see each changed key once per flush (every commit) instead of once per update. Entries
// read from the store are kept too (including "not there"), so a key is looked up in RocksDB once.
// The cache of every task together stays within the memory budget's share for it: a task whose
// insert takes the total past it flushes and drops its clean entries.
#pragma once

#include "streams/state/state_store.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace runnel::streams {

// The bytes all caches may hold together, and what they hold now.
struct cache_budget {
    explicit cache_budget(int64_t limit) : limit(limit) {}
    const int64_t limit;
    std::atomic<int64_t> used{0};
};

class caching_store final : public state_store {
  public:
    caching_store(state_store& under, cache_budget& budget) : under_(under), budget_(budget) {}
    ~caching_store() override;

    std::optional<std::string> get(std::string_view key) const override;
    void put(std::string_view key, std::string_view value) override;
    void erase(std::string_view key) override;
    // The store's entries in range merged with the cache's (the cache's win).
    void scan(std::string_view from, std::string_view to,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override;
    size_t approximate_entries() const override { return under_.approximate_entries(); }

    // Writes every changed entry to the store under it and returns them: the records of the
    // task's changelog (nullopt: a tombstone).
    std::vector<std::pair<std::string, std::optional<std::string>>> flush();

  private:
    struct entry {
        std::optional<std::string> value;  // nullopt: not in the store (or erased)
        bool dirty = false;
    };
    void set(std::string_view key, std::optional<std::string> value, bool dirty) const;
    void charge(int64_t bytes) const;
    void shrink() const;

    state_store& under_;
    cache_budget& budget_;
    using entry_map = std::map<std::string, entry, std::less<>>;
    mutable entry_map entries_;
    // The dirty entries (map iterators stay valid until the map is cleared), so a flush visits
    // only what changed.
    mutable std::vector<entry_map::iterator> dirty_;
    // Changes written down early (past the budget), for the next flush's changelog records.
    mutable std::map<std::string, std::optional<std::string>, std::less<>> spilled_;
    mutable int64_t bytes_ = 0;
};

}  // namespace runnel::streams
