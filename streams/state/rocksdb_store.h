// A task's state on disk in RocksDB: the local store a restart finds again, so that only the
// changelog's tail since the last clean close is replayed. Memory is bounded by a budget shared
// by every store of the broker (state_memory): one block cache, with the memtables charged to it
// (RocksDB's WriteBufferManager), and the record caches in front of the stores, so state larger
// than the budget lives on disk.
//
// The changelog topic is the truth; the store is a cache of it. open() tells the changelog
// offset the store reflects: the one written by the last close() after a clean commit, or none
// (the store was not closed cleanly, so it may hold changes of a transaction that was never
// committed: it is emptied, to be rebuilt from the whole changelog).
#pragma once

#include "streams/state/caching_store.h"
#include "streams/state/state_store.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace rocksdb {
class DB;
class Cache;
class WriteBufferManager;
}  // namespace rocksdb

namespace runnel::streams {

// The memory every store of a process shares: half for RocksDB (block cache, with the
// memtables charged to it), half for the tasks' record caches (caching_store).
class state_memory {
  public:
    explicit state_memory(size_t bytes);
    ~state_memory();
    size_t bytes() const { return bytes_; }
    cache_budget& record_caches() { return record_caches_; }

  private:
    friend class rocksdb_store;
    size_t bytes_;
    cache_budget record_caches_;
    std::shared_ptr<rocksdb::Cache> cache_;
    std::shared_ptr<rocksdb::WriteBufferManager> write_buffers_;
};

class rocksdb_store final : public state_store {
  public:
    // Opens (creating) the store in `dir`. `checkpoint` receives the changelog offset replay
    // starts from, or nullopt when the store was emptied (replay from the start).
    static std::unique_ptr<rocksdb_store> open(const std::filesystem::path& dir,
                                               state_memory& memory,
                                               std::optional<int64_t>& checkpoint,
                                               std::string& error);
    ~rocksdb_store() override;

    std::optional<std::string> get(std::string_view key) const override;
    void put(std::string_view key, std::string_view value) override;
    void erase(std::string_view key) override;
    void scan(std::string_view from, std::string_view to,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override;
    size_t approximate_entries() const override;
    // Live data in the files plus the memtables (RocksDB's own estimates).
    size_t approximate_bytes() const override;

    // A changelog record replayed into the store; no value: the key was deleted.
    struct replayed {
        std::string_view key;
        std::optional<std::string_view> value;
    };
    // Replays changelog records, in their order, in one write.
    void replay(const std::vector<replayed>& records);
    // Ends the replay that follows open(). A store opened empty is filled in bulk mode (an
    // append-only memtable, no compaction: a rebuild of 10^7 keys is bound by the copying, not
    // by sorting and merging); this reopens it for lookups, and compaction catches up in the
    // background. On failure the store is unusable: the task starts over.
    bool finish_replay(std::string& error);

    // After a commit that left the changelog at `changelog_end`: flushes the store and records
    // that it reflects the changelog up to there, for the next open().
    bool close(int64_t changelog_end, std::string& error);

  private:
    static bool open_db(const std::filesystem::path& data, state_memory& memory, bool bulk,
                        rocksdb::DB*& db, std::string& error);
    rocksdb_store(std::filesystem::path dir, state_memory& memory, rocksdb::DB* db, bool bulk)
        : dir_(std::move(dir)), memory_(memory), db_(db), bulk_(bulk) {}

    std::filesystem::path dir_;
    state_memory& memory_;
    rocksdb::DB* db_;
    bool bulk_;  // opened for a rebuild: finish_replay() reopens it
};

}  // namespace runnel::streams
