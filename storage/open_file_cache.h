// Segment .log files opened on demand and closed again when their thread holds more open ones than
// its budget, least recently used first. Without it every segment of every partition held a
// descriptor for the broker's lifetime, so the partition count a broker could host was capped by
// its descriptor limit (and running out of descriptors stopped accepts and checkpoints too).
//
// A cached_file belongs to the thread that opened it (a shard: segments are only touched by their
// owner shard); its thread's open_file_cache keeps the open ones in LRU order. get() hands out a
// shared_ptr: a holder (a Fetch response sending with sendfile(2), a flush) keeps the descriptor
// open even if the cache closes the file meanwhile, so eviction never pulls a file out from under
// anyone.
//
// Reopening is by path, so a file must not be renamed while its cached_file lives (segments are
// removed before the cleaner renames a replacement into place). Writes made through a descriptor
// that was closed since are still synced by an fdatasync on a new one (it syncs the inode); a
// write-back error that nobody saw yet is reported to the next fsync on any descriptor (Linux
// 4.16+, errseq_t).
#pragma once

#include "storage/errors.h"
#include "storage/file.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace runnel::storage {

class open_file_cache;

class cached_file {
  public:
    cached_file();
    cached_file(cached_file&&) noexcept;
    cached_file& operator=(cached_file&& o) noexcept;
    ~cached_file();

    // Opens `path` now with `flags` (O_CREAT | O_EXCL, say); the cache reopens it with
    // `reopen_flags` after closing it.
    static result<cached_file> open(const std::filesystem::path& path, int flags, int reopen_flags);

    const std::filesystem::path& path() const;
    // Opened and not closed for good (the cache may have closed its descriptor meanwhile).
    bool is_open() const;
    // The open file, reopened if the cache had closed it; it becomes the most recently used.
    result<std::shared_ptr<file>> get() const;
    // Closes it for good (get() fails afterwards); a holder of a pointer from get() keeps its
    // descriptor until it lets go. Returns close(2)'s error when this was the last holder.
    std::error_code close();

    struct node;

  private:
    explicit cached_file(std::unique_ptr<node> n);
    std::unique_ptr<node> node_;
};

class open_file_cache {
  public:
    // The calling thread's cache.
    static open_file_cache& local();
    // Budget of open files of each thread's cache created from now on (the broker sets it
    // before its shards start); unlimited until set.
    static void set_default_capacity(size_t files_per_thread);

    ~open_file_cache();
    size_t capacity() const { return capacity_; }
    // Changes this thread's budget, closing files now if it holds more.
    void set_capacity(size_t files);
    size_t open_count() const { return open_; }
    uint64_t reopens() const { return reopens_; }
    uint64_t evictions() const { return evictions_; }

  private:
    friend class cached_file;
    open_file_cache();
    void link_front(cached_file::node* n);
    void unlink(cached_file::node* n);
    void touch(cached_file::node* n);
    void evict_over_capacity(const cached_file::node* keep);

    cached_file::node* head_ = nullptr;  // most recently used
    cached_file::node* tail_ = nullptr;  // least recently used
    size_t capacity_;
    size_t open_ = 0;
    uint64_t reopens_ = 0;
    uint64_t evictions_ = 0;
};

}  // namespace runnel::storage
