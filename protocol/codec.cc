#include "protocol/codec.h"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <limits>
#include <stdexcept>

namespace runnel::protocol {

record_set record_set::copy_of(std::span<const uint8_t> bytes) {
    auto owned = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
    record_set r;
    r.append({owned, std::span<const uint8_t>(owned->data(), owned->size())});
    return r;
}

void shared_bytes::copy_to(std::vector<uint8_t>& out) const {
    if (!is_file()) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        return;
    }
    size_t old = out.size();
    out.resize(old + file_length);
    size_t done = 0;
    while (done < file_length) {
        ssize_t n = ::pread(fd, out.data() + old + done, file_length - done,
                            static_cast<off_t>(file_position + static_cast<int64_t>(done)));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("cannot read back a record set from its file");
        done += static_cast<size_t>(n);
    }
}

std::vector<uint8_t> record_set::flatten() const {
    std::vector<uint8_t> out;
    out.reserve(size_);
    for (const auto& c : chunks_) c.copy_to(out);
    return out;
}

bool record_set::operator==(const record_set& o) const {
    return null_ == o.null_ && flatten() == o.flatten();
}

double reader::read_float64() {
    uint64_t bits = read_be<uint64_t>();
    return std::bit_cast<double>(bits);
}

uuid reader::read_uuid() {
    uuid u{};
    auto s = read_span(16);
    if (ok_) std::memcpy(u.data(), s.data(), 16);
    return u;
}

uint32_t reader::read_uvarint() {
    uint32_t value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (p_ >= end_) {
            fail();
            return 0;
        }
        uint8_t b = *p_++;
        if (shift == 28 && (b & 0xf0) != 0) {  // more than 32 bits
            fail();
            return 0;
        }
        value |= static_cast<uint32_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) return value;
    }
    fail();
    return 0;
}

int32_t reader::read_varint() {
    uint32_t v = read_uvarint();
    return static_cast<int32_t>((v >> 1) ^ -(v & 1));
}

uint64_t reader::read_uvarlong() {
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p_ >= end_) {
            fail();
            return 0;
        }
        uint8_t b = *p_++;
        if (shift == 63 && (b & 0xfe) != 0) {
            fail();
            return 0;
        }
        value |= static_cast<uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) return value;
    }
    fail();
    return 0;
}

int64_t reader::read_varlong() {
    uint64_t v = read_uvarlong();
    return static_cast<int64_t>((v >> 1) ^ -(v & 1));
}

std::span<const uint8_t> reader::read_span(size_t n) {
    if (!ok_ || remaining() < n) {
        fail();
        return {};
    }
    std::span<const uint8_t> s(p_, n);
    p_ += n;
    return s;
}

int64_t reader::read_length(bool compact, bool int16_length) {
    int64_t n;
    if (compact) {
        n = static_cast<int64_t>(read_uvarint()) - 1;
    } else {
        n = int16_length ? read_int16() : read_int32();
    }
    if (!ok_) return -1;
    if (n < -1 || (n > 0 && static_cast<size_t>(n) > remaining())) {
        fail();
        return -1;
    }
    return n;
}

std::string reader::read_string(bool compact) {
    int64_t n = read_length(compact, true);
    if (n < 0) {
        // A null where a non-null string is required is malformed.
        fail();
        return {};
    }
    auto s = read_span(static_cast<size_t>(n));
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

std::optional<std::string> reader::read_nullable_string(bool compact) {
    int64_t n = read_length(compact, true);
    if (!ok_ || n < 0) return std::nullopt;
    auto s = read_span(static_cast<size_t>(n));
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

std::vector<uint8_t> reader::read_bytes(bool compact) {
    int64_t n = read_length(compact, false);
    if (n < 0) {
        fail();
        return {};
    }
    auto s = read_span(static_cast<size_t>(n));
    return std::vector<uint8_t>(s.begin(), s.end());
}

std::optional<std::vector<uint8_t>> reader::read_nullable_bytes(bool compact) {
    int64_t n = read_length(compact, false);
    if (!ok_ || n < 0) return std::nullopt;
    auto s = read_span(static_cast<size_t>(n));
    return std::vector<uint8_t>(s.begin(), s.end());
}

record_set reader::read_records(bool compact) {
    int64_t n = read_length(compact, false);
    if (!ok_) return {};
    if (n < 0) return record_set::null();
    auto s = read_span(static_cast<size_t>(n));
    record_set r;
    if (!owner_) return record_set::copy_of(s);
    r.append({owner_, s});
    return r;
}

int32_t reader::read_array_length(bool compact) {
    int64_t n = compact ? static_cast<int64_t>(read_uvarint()) - 1 : read_int32();
    if (!ok_) return -1;
    if (n < -1 || (n > 0 && static_cast<size_t>(n) > remaining())) {
        fail();
        return -1;
    }
    return static_cast<int32_t>(n);
}

void writer::write_float64(double v) { write_be<uint64_t>(std::bit_cast<uint64_t>(v)); }

void writer::write_uvarint(uint32_t v) {
    while (v >= 0x80) {
        buf_.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
}

void writer::write_varint(int32_t v) {
    write_uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

void writer::write_uvarlong(uint64_t v) {
    while (v >= 0x80) {
        buf_.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
}

void writer::write_varlong(int64_t v) {
    write_uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void writer::write_string(std::string_view s, bool compact) {
    if (compact) {
        write_uvarint(static_cast<uint32_t>(s.size() + 1));
    } else {
        write_int16(static_cast<int16_t>(s.size()));
    }
    write_raw(s.data(), s.size());
}

void writer::write_nullable_string(const std::optional<std::string>& s, bool compact) {
    if (!s) {
        if (compact) {
            write_uvarint(0);
        } else {
            write_int16(-1);
        }
        return;
    }
    write_string(*s, compact);
}

void writer::write_bytes(std::span<const uint8_t> b, bool compact) {
    if (compact) {
        write_uvarint(static_cast<uint32_t>(b.size() + 1));
    } else {
        write_int32(static_cast<int32_t>(b.size()));
    }
    write_raw(b.data(), b.size());
}

void writer::write_nullable_bytes(const std::optional<std::vector<uint8_t>>& b, bool compact) {
    if (!b) {
        if (compact) {
            write_uvarint(0);
        } else {
            write_int32(-1);
        }
        return;
    }
    write_bytes(*b, compact);
}

void writer::write_records(const record_set& r, bool compact) {
    if (r.is_null()) {
        if (compact) {
            write_uvarint(0);
        } else {
            write_int32(-1);
        }
        return;
    }
    if (compact) {
        write_uvarint(static_cast<uint32_t>(r.size() + 1));
    } else {
        write_int32(static_cast<int32_t>(r.size()));
    }
    for (const auto& c : r.chunks()) {
        if (c.size() == 0) continue;
        // Small chunks in memory are cheaper to copy than to send as a separate iovec.
        if (!c.is_file() && c.bytes.size() < 256) {
            write_raw(c.bytes.data(), c.bytes.size());
        } else {
            splices_.push_back({buf_.size(), c});
            spliced_bytes_ += c.size();
        }
    }
}

void writer::write_array_length(int32_t n, bool compact) {
    if (compact) {
        write_uvarint(static_cast<uint32_t>(n + 1));
    } else {
        write_int32(n);
    }
}

void writer::write_tagged_fields(const std::vector<tagged_field>& fields) {
    write_uvarint(static_cast<uint32_t>(fields.size()));
    for (const auto& f : fields) {
        write_uvarint(f.tag);
        write_uvarint(static_cast<uint32_t>(f.data.size()));
        write_raw(f.data.data(), f.data.size());
    }
}

void writer::patch_int32(size_t pos, int32_t v) {
    uint32_t be = __builtin_bswap32(static_cast<uint32_t>(v));
    std::memcpy(buf_.data() + pos, &be, 4);
}

std::vector<uint8_t> writer::flatten() const {
    std::vector<uint8_t> out;
    out.reserve(size());
    size_t from = 0;
    for (const auto& s : splices_) {
        out.insert(out.end(), buf_.begin() + from, buf_.begin() + s.at);
        s.chunk.copy_to(out);
        from = s.at;
    }
    out.insert(out.end(), buf_.begin() + from, buf_.end());
    return out;
}

size_t uvarint_size(uint32_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

}  // namespace runnel::protocol
