// A small owning wrapper around a file descriptor with the few system calls storage needs. Every
// failure is logged here (with the path and errno text) and returned as a storage errc, so callers
// only decide what to do about it.
#pragma once

#include "storage/errors.h"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace runnel::storage {

// Maps an errno value to a storage error (no_space for ENOSPC/EDQUOT/EFBIG, io_error otherwise)
// and logs `what` with the path and strerror text (out-of-space errors at most once per 10 s per
// thread at error level, the others at debug).
std::error_code errno_error(int err, std::string_view what, const std::filesystem::path& path);

class file {
  public:
    file() = default;
    ~file() { close(); }
    file(file&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
    file& operator=(file&& o) noexcept;
    file(const file&) = delete;
    file& operator=(const file&) = delete;

    // open(2) with O_CLOEXEC added.
    static result<file> open(const std::filesystem::path& path, int flags, mode_t mode = 0644);

    bool is_open() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }

    result<int64_t> size() const;
    // Last modification time in ms since the epoch (fstat's st_mtim).
    result<int64_t> modified_ms() const;
    // Reads up to n bytes at pos, looping over short reads; returns fewer only at end of file.
    result<size_t> read_at(void* buf, size_t n, int64_t pos) const;
    // Writes all n bytes at pos (looping over partial writes). On failure the file is truncated
    // back to `pos`, so a failed append leaves the file as it was.
    std::error_code write_at(const void* buf, size_t n, int64_t pos);
    std::error_code truncate(int64_t size);
    std::error_code datasync();
    std::error_code close();
    // A second descriptor for the same open file (fcntl F_DUPFD_CLOEXEC), e.g. for an fdatasync on
    // another thread that must not race with this one being closed.
    result<file> duplicate() const;

  private:
    int fd_ = -1;
    std::filesystem::path path_;
};

// fsync of a directory, so that created, renamed or removed entries survive a crash.
std::error_code sync_directory(const std::filesystem::path& dir);
// syncfs(2) of the file system holding `f`: everything written to it reaches the disk, and a
// write-back error since `f` was opened (Linux 5.8+) fails it. One call instead of an fsync per
// file when thousands of files were written.
std::error_code sync_file_system(const file& f);

// Replaces `path` with `content` atomically: writes <path>.tmp, fdatasyncs it, renames it over
// `path` and fsyncs the directory. After a crash the file is either the old or the new one; when a
// step before the rename fails (e.g. ENOSPC), `path` is unchanged and <path>.tmp is removed.
std::error_code write_file_atomically(const std::filesystem::path& path, std::string_view content);
// The same write-and-rename without any sync, for files whose loss or tearing a reader detects
// (a CRC) and survives: after a crash the file may be missing, old, or torn.
std::error_code write_file_quickly(const std::filesystem::path& path, std::string_view content);

}  // namespace runnel::storage
