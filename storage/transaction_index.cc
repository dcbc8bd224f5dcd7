#include "storage/transaction_index.h"

#include "protocol/record_batch_header.h"
#include "storage/log.h"

#include <fcntl.h>

#include <algorithm>

namespace runnel::storage {

namespace bl = protocol::batch_layout;
namespace fs = std::filesystem;

namespace {

// Entries read per pread while searching.
constexpr size_t read_chunk = 128;

}  // namespace

void aborted_txn::encode(uint8_t* out) const {
    bl::store_i16(out, version);
    bl::store_i64(out + 2, producer_id);
    bl::store_i64(out + 10, first_offset);
    bl::store_i64(out + 18, last_offset);
    bl::store_i64(out + 26, last_stable_offset);
}

std::optional<aborted_txn> aborted_txn::decode(const uint8_t* p) {
    if (bl::load_i16(p) != version) return std::nullopt;
    aborted_txn e;
    e.producer_id = bl::load_i64(p + 2);
    e.first_offset = bl::load_i64(p + 10);
    e.last_offset = bl::load_i64(p + 18);
    e.last_stable_offset = bl::load_i64(p + 26);
    return e;
}

result<transaction_index> transaction_index::open(const fs::path& path, int64_t base_offset) {
    transaction_index t;
    t.path_ = path;
    t.base_offset_ = base_offset;
    std::error_code ec;
    if (!fs::exists(path, ec)) return t;
    auto f = file::open(path, O_RDWR);
    if (!f) return f.error();
    t.file_ = std::move(*f);
    auto size = t.file_.size();
    if (!size) return size.error();
    size_t n = static_cast<size_t>(*size) / aborted_txn::size;
    std::vector<uint8_t> buf;
    size_t valid = 0;
    int64_t last = -1;
    for (size_t at = 0; at < n && valid == at; at += read_chunk) {
        size_t count = std::min(read_chunk, n - at);
        if (auto read_ec = t.read_entries(at, count, buf)) return read_ec;
        for (size_t i = 0; i < count; ++i) {
            auto e = aborted_txn::decode(buf.data() + i * aborted_txn::size);
            if (!e || e->last_offset < base_offset || e->first_offset > e->last_offset ||
                e->last_offset <= last)
                break;
            last = e->last_offset;
            ++valid;
        }
    }
    const auto keep = static_cast<int64_t>(valid * aborted_txn::size);
    if (keep != *size) {
        storage_log().warn("{}: keeping the first {} of {} bytes (a torn or invalid entry follows)",
                           path.string(), keep, *size);
        if (auto trunc_ec = t.file_.truncate(keep)) return trunc_ec;
    }
    t.entries_ = valid;
    t.last_offset_ = last;
    return t;
}

std::optional<int64_t> transaction_index::last_offset() const {
    if (entries_ == 0) return std::nullopt;
    return last_offset_;
}

std::error_code transaction_index::append(const aborted_txn& entry, bool* created) {
    if (entries_ > 0 && entry.last_offset <= last_offset_) {
        storage_log().error(
            "{}: aborted transaction ending at {} does not follow the last one at {}",
            path_.string(), entry.last_offset, last_offset_);
        return errc::invalid_index_entry;
    }
    if (!file_.is_open()) {
        auto f = file::open(path_, O_RDWR | O_CREAT);
        if (!f) return f.error();
        file_ = std::move(*f);
        if (created) *created = true;
    }
    uint8_t buf[aborted_txn::size];
    entry.encode(buf);
    if (auto ec = file_.write_at(buf, sizeof buf, static_cast<int64_t>(entries_ * sizeof buf)))
        return ec;
    ++entries_;
    last_offset_ = entry.last_offset;
    return {};
}

std::error_code transaction_index::merge_from(const transaction_index& other, bool* created) {
    auto entries = other.all();
    if (!entries) return entries.error();
    for (const auto& e : *entries) {
        if (entries_ > 0 && e.last_offset <= last_offset_) continue;
        if (auto ec = append(e, created)) return ec;
    }
    return {};
}

std::error_code transaction_index::truncate_to(int64_t offset) {
    if (entries_ == 0 || last_offset_ < offset) return {};
    // Entries are ordered by last offset: find the first one to drop.
    std::vector<uint8_t> buf;
    size_t keep = entries_;
    int64_t new_last = -1;
    for (size_t at = 0; at < entries_ && keep == entries_; at += read_chunk) {
        size_t count = std::min(read_chunk, entries_ - at);
        if (auto ec = read_entries(at, count, buf)) return ec;
        for (size_t i = 0; i < count; ++i) {
            auto e = aborted_txn::decode(buf.data() + i * aborted_txn::size);
            if (!e || e->last_offset >= offset) {
                keep = at + i;
                break;
            }
            new_last = e->last_offset;
        }
    }
    if (auto ec = file_.truncate(static_cast<int64_t>(keep * aborted_txn::size))) return ec;
    entries_ = keep;
    last_offset_ = new_last;
    return {};
}

std::error_code transaction_index::read_entries(size_t first, size_t n,
                                                std::vector<uint8_t>& buf) const {
    buf.resize(n * aborted_txn::size);
    auto got =
        file_.read_at(buf.data(), buf.size(), static_cast<int64_t>(first * aborted_txn::size));
    if (!got) return got.error();
    if (*got != buf.size()) {
        storage_log().error("{}: short read of {} entries at entry {}", path_.string(), n, first);
        return errc::corrupt_index;
    }
    return {};
}

result<bool> transaction_index::collect(int64_t fetch_offset, int64_t upper_bound,
                                        std::vector<aborted_txn>& out) const {
    auto fail = [](std::error_code ec) { return result<bool>(boost::system::in_place_error, ec); };
    std::vector<uint8_t> buf;
    for (size_t at = 0; at < entries_; at += read_chunk) {
        size_t count = std::min(read_chunk, entries_ - at);
        if (auto ec = read_entries(at, count, buf)) return fail(ec);
        for (size_t i = 0; i < count; ++i) {
            auto e = aborted_txn::decode(buf.data() + i * aborted_txn::size);
            if (!e) return fail(errc::corrupt_index);
            if (e->last_offset >= fetch_offset && e->first_offset < upper_bound) out.push_back(*e);
            if (e->last_stable_offset >= upper_bound) return true;
        }
    }
    return false;
}

result<std::vector<aborted_txn>> transaction_index::all() const {
    std::vector<aborted_txn> out;
    std::vector<uint8_t> buf;
    for (size_t at = 0; at < entries_; at += read_chunk) {
        size_t count = std::min(read_chunk, entries_ - at);
        if (auto ec = read_entries(at, count, buf)) return ec;
        for (size_t i = 0; i < count; ++i) {
            auto e = aborted_txn::decode(buf.data() + i * aborted_txn::size);
            if (!e) return make_error_code(errc::corrupt_index);
            out.push_back(*e);
        }
    }
    return out;
}

std::error_code transaction_index::flush() {
    if (!file_.is_open()) return {};
    return file_.datasync();
}

std::error_code transaction_index::duplicate(std::vector<file>& out) const {
    if (!file_.is_open()) return {};
    auto d = file_.duplicate();
    if (!d) return d.error();
    out.push_back(std::move(*d));
    return {};
}

std::error_code transaction_index::close() {
    if (!file_.is_open()) return {};
    return file_.close();
}

std::error_code transaction_index::remove() {
    auto first = close();
    if (path_.empty()) return first;
    std::error_code ec;
    fs::remove(path_, ec);
    if (ec) {
        storage_log().error("remove {}: {}", path_.string(), ec.message());
        if (!first) first = errc::io_error;
    }
    entries_ = 0;
    last_offset_ = -1;
    return first;
}

}  // namespace runnel::storage
