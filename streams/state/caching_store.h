// A write-back cache in front of a task's durable store, as Kafka Streams' record cache sits in
// front of RocksDB: reads and writes of the working set stay in memory (a hash map), and the
// store and the changelog see each changed key once per flush instead of once per update.
// Entries read from the store are kept too (including "not there"), so a key is looked up in
// RocksDB once. A scan first writes the changes not yet in the store down to it, then scans the
// store, which keeps the order. The caches of every task together stay within the memory
// budget's share for them: a task whose insert takes the total past it writes its changes down
// and drops its entries.
#pragma once

#include "streams/state/state_store.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
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
    void scan(std::string_view from, std::string_view to,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override;
    size_t approximate_entries() const override { return under_.approximate_entries(); }
    size_t approximate_bytes() const override { return under_.approximate_bytes(); }

    // Writes every change down to the store under it and returns the changes since the last
    // flush: the records of the task's changelog (nullopt: a tombstone), in key order.
    std::vector<std::pair<std::string, std::optional<std::string>>> flush();

  private:
    struct entry {
        std::optional<std::string> value;  // nullopt: not in the store (or erased)
        bool unflushed = false;            // not written to the store yet
        bool unlogged = false;             // not handed out for the changelog yet
    };
    using entry_map = std::unordered_map<std::string, entry>;
    using node = entry_map::value_type;

    void set(std::string_view key, std::optional<std::string> value, bool changed) const;
    void write_down() const;
    void charge(int64_t bytes) const;
    void shrink() const;

    state_store& under_;
    cache_budget& budget_;
    mutable entry_map entries_;
    // Entries changed since the last write-down / the last flush (element addresses of an
    // unordered_map stay valid as it grows).
    mutable std::vector<node*> unflushed_;
    mutable std::vector<node*> unlogged_;
    // Changes dropped from the cache (past the budget) before the changelog took them.
    mutable std::map<std::string, std::optional<std::string>, std::less<>> spilled_;
    mutable int64_t bytes_ = 0;
};

}  // namespace runnel::streams
