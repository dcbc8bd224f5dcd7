#include "streams/state/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <fstream>
#include <stdexcept>

namespace runnel::streams {

namespace fs = std::filesystem;

namespace {

// Written by close(), removed by open(): its presence means the store matches the changelog up
// to the offset it holds.
constexpr const char* checkpoint_name = "changelog.checkpoint";

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// A failed write to the store cannot be answered (the task's state would be wrong): the task
// fails and restarts from the changelog.
void check(const rocksdb::Status& s, const char* what) {
    if (!s.ok()) throw std::runtime_error(std::string("state store ") + what + ": " + s.ToString());
}

}  // namespace

// `bulk`: for a rebuild from the changelog, writes only until finish_replay().
bool rocksdb_store::open_db(const fs::path& data, state_memory& memory, bool bulk, rocksdb::DB*& db,
                            std::string& error) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.write_buffer_manager = memory.write_buffers_;
    options.write_buffer_size = std::max<size_t>(memory.bytes() / 16, 1 << 20);
    options.max_open_files = 64;
    options.compression = rocksdb::kLZ4Compression;
    // Two flushes at once: the tasks' stores rebuild side by side, and a flush is what a bulk
    // replay waits for.
    options.max_background_flushes = 2;
    if (bulk) {
        // Appends, sorted once when flushed (a skip list sorts on every insert), and no
        // compaction until the store is reopened for lookups: L0 files may pile up meanwhile,
        // uncompressed (compaction compresses them).
        options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
        options.compression = rocksdb::kNoCompression;
        options.allow_concurrent_memtable_write = false;
        options.disable_auto_compactions = true;
        options.level0_file_num_compaction_trigger = 1 << 30;
        options.level0_slowdown_writes_trigger = 1 << 30;
        options.level0_stop_writes_trigger = 1 << 30;
        options.soft_pending_compaction_bytes_limit = 0;
        options.hard_pending_compaction_bytes_limit = 0;
    } else {
        // A bulk rebuild leaves its L0 files for compaction to merge after the reopen: about
        // 40 per store at 10^7 keys, past RocksDB's default limits (slowdown at 20, stop at
        // 36), which would stall the shard's writes until compaction caught up.
        options.level0_slowdown_writes_trigger = 64;
        options.level0_stop_writes_trigger = 128;
        // Most lookups are of keys not there yet (a group's first record in a window): bloom
        // filters answer those without walking the memtable or reading a block.
        options.memtable_whole_key_filtering = true;
        options.memtable_prefix_bloom_size_ratio = 0.1;
    }
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = memory.cache_;
    table.cache_index_and_filter_blocks = true;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = true;
    // Index and filter in 4 KiB partitions under a small pinned top level: a lookup loads the
    // partitions it needs, where a whole-file filter (megabytes at 10^7 keys) would be read
    // again on each lookup once it no longer fits the cache.
    table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
    table.partition_filters = true;
    table.metadata_block_size = 4096;
    table.pin_top_level_index_and_filter = true;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    auto status = rocksdb::DB::Open(options, data.string(), &db);
    if (!status.ok()) {
        error = "cannot open the state store " + data.string() + ": " + status.ToString();
        return false;
    }
    return true;
}

state_memory::state_memory(size_t bytes)
    : bytes_(bytes),
      record_caches_(static_cast<int64_t>(bytes / 2)),
      cache_(rocksdb::NewLRUCache(bytes / 2)),
      // Memtables count against the same cache: together they stay within bytes / 2.
      write_buffers_(std::make_shared<rocksdb::WriteBufferManager>(bytes / 4, cache_)) {}

state_memory::~state_memory() = default;

std::unique_ptr<rocksdb_store> rocksdb_store::open(const fs::path& dir, state_memory& memory,
                                                   std::optional<int64_t>& checkpoint_offset,
                                                   std::string& error) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        error = "cannot create " + dir.string() + ": " + ec.message();
        return nullptr;
    }
    checkpoint_offset.reset();
    const fs::path checkpoint = dir / checkpoint_name;
    {
        std::ifstream in(checkpoint);
        int64_t offset = -1;
        if (in >> offset && offset >= 0) checkpoint_offset = offset;
    }
    const bool trusted = checkpoint_offset.has_value();
    fs::remove(checkpoint, ec);
    const fs::path data = dir / "rocksdb";
    if (!trusted) fs::remove_all(data, ec);  // may hold uncommitted changes: rebuilt instead

    const bool bulk = !trusted;
    rocksdb::DB* db = nullptr;
    if (!open_db(data, memory, bulk, db, error)) return nullptr;
    return std::unique_ptr<rocksdb_store>(new rocksdb_store(dir, memory, db, bulk));
}

rocksdb_store::~rocksdb_store() { delete db_; }

std::optional<std::string> rocksdb_store::get(std::string_view key) const {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), slice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    check(s, "read");
    return value;
}

// No write-ahead log: the changelog topic is the durable copy, and a store not closed cleanly is
// rebuilt from it.
void rocksdb_store::put(std::string_view key, std::string_view value) {
    rocksdb::WriteOptions w;
    w.disableWAL = true;
    check(db_->Put(w, slice(key), slice(value)), "write");
}

void rocksdb_store::replay(const std::vector<replayed>& records) {
    rocksdb::WriteBatch batch;
    for (const auto& r : records) {
        if (r.value) {
            batch.Put(slice(r.key), slice(*r.value));
        } else {
            batch.Delete(slice(r.key));
        }
    }
    rocksdb::WriteOptions w;
    w.disableWAL = true;
    check(db_->Write(w, &batch), "write");
}

bool rocksdb_store::finish_replay(std::string& error) {
    if (!bulk_) return true;
    auto s = db_->Flush(rocksdb::FlushOptions());
    if (!s.ok()) {
        error = "state store flush: " + s.ToString();
        return false;
    }
    const fs::path data = dir_ / "rocksdb";
    delete db_;
    db_ = nullptr;
    if (!open_db(data, memory_, false, db_, error)) return false;
    bulk_ = false;
    return true;
}

void rocksdb_store::erase(std::string_view key) {
    rocksdb::WriteOptions w;
    w.disableWAL = true;
    check(db_->Delete(w, slice(key)), "delete");
}

void rocksdb_store::scan(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
    rocksdb::ReadOptions r;
    rocksdb::Slice upper = slice(to);
    if (!to.empty()) r.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(r));
    for (it->Seek(slice(from)); it->Valid(); it->Next()) {
        auto k = it->key();
        auto v = it->value();
        if (!visit(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) {
            break;
        }
    }
    check(it->status(), "scan");
}

size_t rocksdb_store::approximate_entries() const {
    uint64_t n = 0;
    db_->GetIntProperty("rocksdb.estimate-num-keys", &n);
    return n;
}

size_t rocksdb_store::approximate_bytes() const {
    uint64_t live = 0, memtables = 0;
    db_->GetIntProperty("rocksdb.estimate-live-data-size", &live);
    db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &memtables);
    return live + memtables;
}

bool rocksdb_store::close(int64_t changelog_end, std::string& error) {
    auto s = db_->Flush(rocksdb::FlushOptions());
    if (!s.ok()) {
        error = "state store flush: " + s.ToString();
        return false;
    }
    const fs::path checkpoint = dir_ / checkpoint_name;
    const fs::path temp = dir_ / (std::string(checkpoint_name) + ".tmp");
    {
        std::ofstream out(temp, std::ios::trunc);
        out << changelog_end << "\n";
        if (!out.flush()) {
            error = "cannot write " + temp.string();
            return false;
        }
    }
    std::error_code ec;
    fs::rename(temp, checkpoint, ec);
    if (ec) {
        error = "cannot write " + checkpoint.string() + ": " + ec.message();
        return false;
    }
    return true;
}

}  // namespace runnel::streams
