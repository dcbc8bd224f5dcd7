#include "storage/file.h"

#include "storage/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace runnel::storage {

namespace {

bool is_no_space(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

// A full disk fails every write until space returns; one line per shard thread every
// no_space_log_interval is enough to say so (the rest go to debug, counted in the next line).
constexpr auto no_space_log_interval = std::chrono::seconds(10);

void log_errno(int err, std::string_view what, const std::filesystem::path& path) {
    if (!is_no_space(err)) {
        storage_log().error("{} {}: {}", what, path.string(), std::strerror(err));
        return;
    }
    thread_local std::chrono::steady_clock::time_point last_logged{};
    thread_local bool logged_once = false;
    thread_local int64_t suppressed = 0;
    auto now = std::chrono::steady_clock::now();
    if (logged_once && now - last_logged < no_space_log_interval) {
        ++suppressed;
        storage_log().debug("{} {}: {}", what, path.string(), std::strerror(err));
        return;
    }
    if (suppressed > 0) {
        storage_log().error("{} {}: {} ({} more out-of-space errors on this thread since)", what,
                            path.string(), std::strerror(err), suppressed);
    } else {
        storage_log().error("{} {}: {}", what, path.string(), std::strerror(err));
    }
    logged_once = true;
    last_logged = now;
    suppressed = 0;
}

}  // namespace

std::error_code errno_error(int err, std::string_view what, const std::filesystem::path& path) {
    log_errno(err, what, path);
    // EFBIG (RLIMIT_FSIZE, or the file system's largest file) is the same condition for a
    // client: no room to write until an operator makes some.
    if (is_no_space(err)) return errc::no_space;
    return errc::io_error;
}

file& file::operator=(file&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = o.fd_;
        path_ = std::move(o.path_);
        o.fd_ = -1;
    }
    return *this;
}

result<file> file::open(const std::filesystem::path& path, int flags, mode_t mode) {
    int fd;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno_error(errno, "open", path);
    file f;
    f.fd_ = fd;
    f.path_ = path;
    return f;
}

result<int64_t> file::size() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return errno_error(errno, "fstat", path_);
    return static_cast<int64_t>(st.st_size);
}

result<int64_t> file::modified_ms() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return errno_error(errno, "fstat", path_);
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

result<size_t> file::read_at(void* buf, size_t n, int64_t pos) const {
    auto* p = static_cast<uint8_t*>(buf);
    size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(fd_, p + done, n - done, static_cast<off_t>(pos + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "pread", path_);
        }
        if (r == 0) break;  // end of file
        done += static_cast<size_t>(r);
    }
    return done;
}

std::error_code file::write_at(const void* buf, size_t n, int64_t pos) {
    auto* p = static_cast<const uint8_t*>(buf);
    size_t done = 0;
    while (done < n) {
        ssize_t r = ::pwrite(fd_, p + done, n - done, static_cast<off_t>(pos + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            // Drop whatever part did land so the file never ends in half a write.
            if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(pos)) != 0) {
                storage_log().error("ftruncate {} back to {} after a failed write: {}",
                                    path_.string(), pos, std::strerror(errno));
            }
            return errno_error(err, "pwrite", path_);
        }
        done += static_cast<size_t>(r);
    }
    return {};
}

std::error_code file::truncate(int64_t size) {
    int r;
    do {
        r = ::ftruncate(fd_, static_cast<off_t>(size));
    } while (r != 0 && errno == EINTR);
    if (r != 0) return errno_error(errno, "ftruncate", path_);
    return {};
}

std::error_code file::datasync() {
    if (::fdatasync(fd_) != 0) return errno_error(errno, "fdatasync", path_);
    return {};
}

result<file> file::duplicate() const {
    int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return errno_error(errno, "dup", path_);
    file f;
    f.fd_ = fd;
    f.path_ = path_;
    return f;
}

std::error_code file::close() {
    if (fd_ < 0) return {};
    int fd = fd_;
    fd_ = -1;
    // Linux releases the descriptor even when close fails, so it must not be retried.
    if (::close(fd) != 0 && errno != EINTR) return errno_error(errno, "close", path_);
    return {};
}

std::error_code sync_directory(const std::filesystem::path& dir) {
    auto f = file::open(dir, O_RDONLY | O_DIRECTORY);
    if (!f) return f.error();
    if (::fsync(f->fd()) != 0) return errno_error(errno, "fsync", dir);
    return f->close();
}

std::error_code sync_file_system(const file& f) {
    if (::syncfs(f.fd()) != 0) return errno_error(errno, "syncfs", f.path());
    return {};
}

namespace {

// Writes <path>.tmp (fdatasync'ed when `sync`) and renames it over `path`. On failure `path` is
// untouched and the half-written temp file goes, so it neither holds space on a full disk nor
// lingers next to the real file.
std::error_code write_and_rename(const std::filesystem::path& path, std::string_view content,
                                 bool sync) {
    auto tmp = path;
    tmp += ".tmp";
    auto attempt = [&]() -> std::error_code {
        auto f = file::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
        if (!f) return f.error();
        if (auto ec = f->write_at(content.data(), content.size(), 0)) return ec;
        if (sync) {
            if (auto ec = f->datasync()) return ec;
        }
        if (auto ec = f->close()) return ec;
        if (std::rename(tmp.c_str(), path.c_str()) != 0) return errno_error(errno, "rename", tmp);
        return {};
    };
    if (auto ec = attempt()) {
        if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
            storage_log().warn("unlink {}: {}", tmp.string(), std::strerror(errno));
        }
        return ec;
    }
    return {};
}

}  // namespace

std::error_code write_file_quickly(const std::filesystem::path& path, std::string_view content) {
    return write_and_rename(path, content, false);
}

std::error_code write_file_atomically(const std::filesystem::path& path, std::string_view content) {
    if (auto ec = write_and_rename(path, content, true)) return ec;
    return sync_directory(path.has_parent_path() ? path.parent_path() : ".");
}

}  // namespace runnel::storage
