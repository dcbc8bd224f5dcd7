// Primitive Kafka wire codec: big-endian integers, (unsigned) varints, classic and compact
// strings/bytes/arrays, UUIDs and tagged fields.
//
// The reader never throws and never allocates more than the input could describe: every length and
// count is checked against the bytes that remain before it is used. On the first bad read a sticky
// error flag is set and every later read returns a zero value, so callers check ok() once.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::protocol {

using uuid = std::array<uint8_t, 16>;
inline constexpr uuid zero_uuid{};

// A tagged field this broker does not interpret, kept so it survives decode → encode.
struct tagged_field {
    uint32_t tag = 0;
    std::vector<uint8_t> data;
    bool operator==(const tagged_field&) const = default;
};

// A piece of a record set. Usually memory kept alive by `owner` (a request frame, a segment read
// buffer, ...). When `fd` >= 0 the bytes are instead `file_length` bytes of that open file at
// `file_position`, sent with sendfile(2) without passing through memory; `owner` then keeps the
// descriptor open.
struct shared_bytes {
    std::shared_ptr<const void> owner;
    std::span<const uint8_t> bytes;
    int fd = -1;
    int64_t file_position = 0;
    size_t file_length = 0;

    static shared_bytes in_file(std::shared_ptr<const void> owner, int fd, int64_t position,
                                size_t length) {
        return {std::move(owner), {}, fd, position, length};
    }
    bool is_file() const { return fd >= 0; }
    size_t size() const { return is_file() ? file_length : bytes.size(); }
    // Appends the bytes to `out` (for file chunks: pread; a short read throws, as the range was
    // valid when it was taken).
    void copy_to(std::vector<uint8_t>& out) const;
};

// The value of a `records` field: possibly null, otherwise a list of byte ranges sent back to back.
// Decoding points into the request frame (no copy); a Fetch response concatenates ranges read from
// segments.
class record_set {
  public:
    record_set() = default;
    static record_set null() {
        record_set r;
        r.null_ = true;
        return r;
    }
    static record_set copy_of(std::span<const uint8_t> bytes);

    bool is_null() const { return null_; }
    size_t size() const { return size_; }
    const std::vector<shared_bytes>& chunks() const { return chunks_; }
    void append(shared_bytes chunk) {
        null_ = false;
        size_ += chunk.size();
        chunks_.push_back(std::move(chunk));
    }
    // Copies all chunks into one contiguous vector (tests and small paths only).
    std::vector<uint8_t> flatten() const;
    bool operator==(const record_set& o) const;

  private:
    bool null_ = false;
    size_t size_ = 0;
    std::vector<shared_bytes> chunks_;
};

class reader {
  public:
    reader(const uint8_t* data, size_t size, std::shared_ptr<const void> owner = nullptr)
        : begin_(data), p_(data), end_(data + size), owner_(std::move(owner)) {}
    explicit reader(std::span<const uint8_t> s, std::shared_ptr<const void> owner = nullptr)
        : reader(s.data(), s.size(), std::move(owner)) {}

    bool ok() const { return ok_; }
    void fail() {
        ok_ = false;
        p_ = end_;
    }
    size_t remaining() const { return static_cast<size_t>(end_ - p_); }
    size_t position() const { return static_cast<size_t>(p_ - begin_); }
    const uint8_t* cursor() const { return p_; }

    bool read_bool() { return read_int8() != 0; }
    int8_t read_int8() { return static_cast<int8_t>(read_be<uint8_t>()); }
    int16_t read_int16() { return static_cast<int16_t>(read_be<uint16_t>()); }
    int32_t read_int32() { return static_cast<int32_t>(read_be<uint32_t>()); }
    int64_t read_int64() { return static_cast<int64_t>(read_be<uint64_t>()); }
    uint16_t read_uint16() { return read_be<uint16_t>(); }
    uint32_t read_uint32() { return read_be<uint32_t>(); }
    double read_float64();
    uuid read_uuid();

    uint32_t read_uvarint();   // at most 5 bytes
    int32_t read_varint();     // zig-zag
    uint64_t read_uvarlong();  // at most 10 bytes
    int64_t read_varlong();

    std::string read_string(bool compact);
    std::optional<std::string> read_nullable_string(bool compact);
    std::vector<uint8_t> read_bytes(bool compact);
    std::optional<std::vector<uint8_t>> read_nullable_bytes(bool compact);
    record_set read_records(bool compact);

    // Array element count; -1 for a null array. A count larger than the bytes left (each element
    // takes at least one byte) fails the reader, so callers may reserve() the result safely.
    int32_t read_array_length(bool compact);

    std::span<const uint8_t> read_span(size_t n);
    void skip(size_t n) { read_span(n); }

    // Reads a tagged-field section. `on_tag(tag, sub_reader)` returns false for tags it does not
    // know; those are appended to `unknown`.
    template <class F>
    void read_tagged_fields(std::vector<tagged_field>& unknown, F&& on_tag) {
        uint32_t n = read_uvarint();
        for (uint32_t i = 0; i < n && ok_; ++i) {
            uint32_t tag = read_uvarint();
            uint32_t size = read_uvarint();
            auto body = read_span(size);
            if (!ok_) return;
            reader sub(body.data(), body.size(), owner_);
            if (!on_tag(tag, sub)) {
                unknown.push_back({tag, std::vector<uint8_t>(body.begin(), body.end())});
            } else if (!sub.ok()) {
                fail();
            }
        }
    }

  private:
    template <class T>
    T read_be() {
        if (remaining() < sizeof(T)) {
            fail();
            return 0;
        }
        T v;
        std::memcpy(&v, p_, sizeof(T));
        p_ += sizeof(T);
        if constexpr (sizeof(T) == 2) v = __builtin_bswap16(v);
        if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
        if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
        return v;
    }
    // Length prefix of a string/bytes/records value: -1 for null.
    int64_t read_length(bool compact, bool int16_length);

    const uint8_t* begin_;
    const uint8_t* p_;
    const uint8_t* end_;
    std::shared_ptr<const void> owner_;
    bool ok_ = true;
};

// Builds an encoded message. Bytes go into one growing buffer; the chunks of a record_set are not
// copied but recorded as splices, so a response can be sent with scatter/gather I/O.
class writer {
  public:
    struct splice {
        size_t at;  // position in buffer() before which the chunk goes
        shared_bytes chunk;
    };

    void write_bool(bool v) { write_int8(v ? 1 : 0); }
    void write_int8(int8_t v) { write_be<uint8_t>(static_cast<uint8_t>(v)); }
    void write_int16(int16_t v) { write_be<uint16_t>(static_cast<uint16_t>(v)); }
    void write_int32(int32_t v) { write_be<uint32_t>(static_cast<uint32_t>(v)); }
    void write_int64(int64_t v) { write_be<uint64_t>(static_cast<uint64_t>(v)); }
    void write_uint16(uint16_t v) { write_be<uint16_t>(v); }
    void write_uint32(uint32_t v) { write_be<uint32_t>(v); }
    void write_float64(double v);
    void write_uuid(const uuid& v) { write_raw(v.data(), v.size()); }

    void write_uvarint(uint32_t v);
    void write_varint(int32_t v);
    void write_uvarlong(uint64_t v);
    void write_varlong(int64_t v);

    void write_string(std::string_view s, bool compact);
    void write_nullable_string(const std::optional<std::string>& s, bool compact);
    void write_bytes(std::span<const uint8_t> b, bool compact);
    void write_nullable_bytes(const std::optional<std::vector<uint8_t>>& b, bool compact);
    void write_records(const record_set& r, bool compact);
    void write_array_length(int32_t n, bool compact);  // n = -1 writes a null array

    void write_tagged_fields(const std::vector<tagged_field>& fields);
    void write_raw(const void* data, size_t n) {
        auto* b = static_cast<const uint8_t*>(data);
        buf_.insert(buf_.end(), b, b + n);
    }

    // Overwrites 4 bytes at `pos` (for length prefixes filled in afterwards).
    void patch_int32(size_t pos, int32_t v);

    size_t buffered_size() const { return buf_.size(); }
    // Total encoded size including spliced chunks.
    size_t size() const { return buf_.size() + spliced_bytes_; }
    const std::vector<uint8_t>& buffer() const { return buf_; }
    std::vector<uint8_t>& buffer() { return buf_; }
    const std::vector<splice>& splices() const { return splices_; }
    // Everything as one contiguous vector (tests, small responses).
    std::vector<uint8_t> flatten() const;
    void clear() {
        buf_.clear();
        splices_.clear();
        spliced_bytes_ = 0;
    }

  private:
    template <class T>
    void write_be(T v) {
        if constexpr (sizeof(T) == 2) v = __builtin_bswap16(v);
        if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
        if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
        write_raw(&v, sizeof(T));
    }

    std::vector<uint8_t> buf_;
    std::vector<splice> splices_;
    size_t spliced_bytes_ = 0;
};

// Number of bytes write_uvarint would produce.
size_t uvarint_size(uint32_t v);

}  // namespace runnel::protocol
