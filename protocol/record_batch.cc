#include "protocol/record_batch.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "protocol/codec.h"
#include "protocol/crc32c.h"

namespace runnel::protocol {
namespace {

namespace L = batch_layout;

// Kafka's legacy (v0) message overhead: anything shorter is not a message of any version.
constexpr int32_t min_legacy_length = 14;
// Bytes needed to read a batch's magic byte.
constexpr size_t header_up_to_magic = L::magic + 1;
// Validation keeps its decompression buffer between calls unless it grew past this.
constexpr size_t scratch_keep_limit = size_t{8} << 20;

int64_t wrapping_add(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// Bounds-checked reader for the record section. Header-less, inline and allocation-free, unlike
// protocol::reader, because it runs once per record on the produce path.
struct cursor {
    const uint8_t* p;
    const uint8_t* end;

    size_t remaining() const { return static_cast<size_t>(end - p); }

    // At most 5 bytes, no bits beyond 32 (as protocol::reader).
    bool uvarint(uint32_t& out) {
        // Lengths, deltas and counts of small records mostly fit one byte.
        if (p != end && *p < 0x80) [[likely]] {
            out = *p++;
            return true;
        }
        uint32_t v = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            if (p == end) return false;
            uint8_t b = *p++;
            if (shift == 28 && (b & 0xf0) != 0) return false;
            v |= static_cast<uint32_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                out = v;
                return true;
            }
        }
        return false;
    }

    bool varint(int32_t& out) {
        uint32_t v;
        if (!uvarint(v)) return false;
        out = static_cast<int32_t>((v >> 1) ^ (0u - (v & 1)));
        return true;
    }

    bool varlong(int64_t& out) {
        if (p != end && *p < 0x80) [[likely]] {
            uint64_t v = *p++;
            out = static_cast<int64_t>((v >> 1) ^ (0ull - (v & 1)));
            return true;
        }
        uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (p == end) return false;
            uint8_t b = *p++;
            if (shift == 63 && (b & 0xfe) != 0) return false;
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                out = static_cast<int64_t>((v >> 1) ^ (0ull - (v & 1)));
                return true;
            }
        }
        return false;
    }

    // Skips a varint length (-1 = null when allowed) and that many bytes; `null` says which.
    bool skip_bytes(bool nullable, bool& null) {
        int32_t n;
        if (!varint(n)) return false;
        null = n < 0;
        if (null) return n == -1 && nullable;
        if (static_cast<size_t>(n) > remaining()) return false;
        p += n;
        return true;
    }

    // A varint length (-1 = null when allowed) followed by that many bytes.
    bool bytes(std::optional<std::span<const uint8_t>>& out, bool nullable) {
        int32_t n;
        if (!varint(n)) return false;
        if (n < 0) {
            if (n != -1 || !nullable) return false;
            out.reset();
            return true;
        }
        if (static_cast<size_t>(n) > remaining()) return false;
        out.emplace(p, static_cast<size_t>(n));
        p += n;
        return true;
    }
};

struct parsed_record {
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    std::optional<std::span<const uint8_t>> key, value;
};

// Parses one record; it must fill its declared length exactly. Headers are appended to `headers`
// when given, otherwise only checked.
bool parse_record(cursor& c, parsed_record& r, std::vector<record_header>* headers) {
    int32_t length;
    if (!c.varint(length) || length < 0 || static_cast<size_t>(length) > c.remaining()) {
        return false;
    }
    cursor body{c.p, c.p + length};
    c.p += length;
    if (body.remaining() < 1) return false;
    ++body.p;  // record attributes: unused by every version so far
    if (!body.varlong(r.timestamp_delta) || !body.varint(r.offset_delta)) return false;
    if (!body.bytes(r.key, true) || !body.bytes(r.value, true)) return false;
    int32_t header_count;
    if (!body.varint(header_count) || header_count < 0) return false;
    // Each header takes at least two bytes; rejecting a larger count up front keeps a forged
    // count from driving a long loop or a large reserve().
    if (static_cast<size_t>(header_count) > body.remaining() / 2) return false;
    if (headers != nullptr) headers->reserve(static_cast<size_t>(header_count));
    for (int32_t i = 0; i < header_count; ++i) {
        std::optional<std::span<const uint8_t>> key, value;
        if (!body.bytes(key, false) || !body.bytes(value, true)) return false;
        if (headers != nullptr) {
            headers->push_back(
                {std::string_view(reinterpret_cast<const char*>(key->data()), key->size()), value});
        }
    }
    return body.p == body.end;
}

// parse_record for validation only: checks the same structure, keeps only what the produce checks
// need, and is inlined into the per-record loop (with 100-byte records the general parse_record
// cost about as much as the batch's CRC).
inline bool check_record(cursor& c, int64_t& timestamp_delta, int32_t& offset_delta,
                         bool& null_key) {
    int32_t length;
    if (!c.varint(length) || length < 0 || static_cast<size_t>(length) > c.remaining()) {
        return false;
    }
    cursor body{c.p, c.p + length};
    c.p += length;
    if (body.p == body.end) return false;
    ++body.p;  // record attributes
    bool null_value;
    if (!body.varlong(timestamp_delta) || !body.varint(offset_delta) ||
        !body.skip_bytes(true, null_key) || !body.skip_bytes(true, null_value)) {
        return false;
    }
    int32_t header_count;
    if (!body.varint(header_count) || header_count < 0 ||
        static_cast<size_t>(header_count) > body.remaining() / 2) {
        return false;
    }
    for (int32_t i = 0; i < header_count; ++i) {
        bool null;
        if (!body.skip_bytes(false, null) || !body.skip_bytes(true, null)) return false;
    }
    return body.p == body.end;
}

batch_header decode_header(const uint8_t* p) {
    batch_header h;
    h.base_offset = L::load_i64(p + L::base_offset);
    h.batch_length = L::load_i32(p + L::batch_length);
    h.partition_leader_epoch = L::load_i32(p + L::partition_leader_epoch);
    h.magic = static_cast<int8_t>(p[L::magic]);
    h.crc = static_cast<uint32_t>(L::load_i32(p + L::crc));
    h.attributes = L::load_i16(p + L::attributes);
    h.last_offset_delta = L::load_i32(p + L::last_offset_delta);
    h.base_timestamp = L::load_i64(p + L::base_timestamp);
    h.max_timestamp = L::load_i64(p + L::max_timestamp);
    h.producer_id = L::load_i64(p + L::producer_id);
    h.producer_epoch = L::load_i16(p + L::producer_epoch);
    h.base_sequence = L::load_i32(p + L::base_sequence);
    h.records_count = L::load_i32(p + L::records_count);
    return h;
}

uint32_t batch_crc(const uint8_t* batch, size_t total) {
    return crc32c(batch + L::attributes, total - L::attributes);
}

template <class... Args>
std::string format(const char* fmt, Args... args) {
    char buf[256];
    int n = std::snprintf(buf, sizeof(buf), fmt, args...);
    return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

batch_validation fail(batch_validation& v, error_code e, std::string message) {
    v.error = e;
    v.message = std::move(message);
    return v;
}

// Decompression buffer reused across validations on a thread.
std::vector<uint8_t>& validation_scratch() {
    thread_local std::vector<uint8_t> scratch;
    return scratch;
}

void release_large_scratch(std::vector<uint8_t>& scratch) {
    if (scratch.capacity() > scratch_keep_limit) std::vector<uint8_t>().swap(scratch);
}

// Checks the records of one batch whose header already passed; updates the aggregates.
batch_validation& check_records(batch_validation& v, const batch_header& h,
                                std::span<const uint8_t> payload, int32_t index) {
    cursor c{payload.data(), payload.data() + payload.size()};
    const bool log_append_time = h.log_append_time();
    for (int32_t i = 0; i < h.records_count; ++i) {
        int64_t timestamp_delta;
        int32_t offset_delta;
        bool null_key;
        if (!check_record(c, timestamp_delta, offset_delta, null_key)) {
            fail(v, error_code::invalid_record,
                 format("Batch %d: record %d is malformed or runs past the end of the batch", index,
                        i));
            return v;
        }
        if (offset_delta != i) {
            fail(v, error_code::invalid_record,
                 format("Batch %d: record %d has offset delta %d (expected %d)", index, i,
                        offset_delta, i));
            return v;
        }
        int64_t ts =
            log_append_time ? h.max_timestamp : wrapping_add(h.base_timestamp, timestamp_delta);
        if (ts != -1) {
            if (v.min_timestamp == -1 || ts < v.min_timestamp) v.min_timestamp = ts;
            if (v.max_timestamp == -1 || ts > v.max_timestamp) v.max_timestamp = ts;
        }
        v.has_null_key = v.has_null_key || null_key;
    }
    if (c.p != c.end) {
        fail(v, error_code::invalid_record,
             format("Batch %d: %zu bytes follow its %d declared records", index, c.remaining(),
                    h.records_count));
    }
    return v;
}

}  // namespace

std::optional<batch_header> parse_batch_header(std::span<const uint8_t> bytes) {
    if (bytes.size() < L::header_size) return std::nullopt;
    return decode_header(bytes.data());
}

batch_validation validate_batches(std::span<const uint8_t> records, int32_t max_batch_bytes) {
    batch_validation v;
    if (records.empty()) {
        return fail(v, error_code::corrupt_message, "The records payload is empty");
    }
    size_t pos = 0;
    for (int32_t index = 0; pos < records.size(); ++index) {
        const uint8_t* p = records.data() + pos;
        size_t left = records.size() - pos;
        // Kafka's checks, in Kafka's order where it matters: batch reader (length, magic), then
        // the log append (base offset, size, CRC), then the validator (offsets, count, control,
        // sequence), then the records.
        if (left < header_up_to_magic) {
            return fail(v, error_code::corrupt_message,
                        format("Batch %d: only %zu bytes left, a partial batch", index, left));
        }
        int32_t length = L::load_i32(p + L::batch_length);
        if (length < min_legacy_length) {
            return fail(v, error_code::corrupt_message,
                        format("Batch %d: batch length %d is below the minimum", index, length));
        }
        int8_t magic = static_cast<int8_t>(p[L::magic]);
        if (magic != current_magic) {
            // Kafka's batch reader calls a magic outside 0..2 corruption; Produce v3+ rejects
            // the legacy formats 0 and 1 as invalid records.
            bool legacy = magic == 0 || magic == 1;
            return fail(
                v, legacy ? error_code::invalid_record : error_code::corrupt_message,
                format("Batch %d: magic %d is not supported (only v2 batches are)", index, magic));
        }
        if (length < min_batch_length) {
            return fail(v, error_code::corrupt_message,
                        format("Batch %d: batch length %d is below the v2 minimum %d", index,
                               length, min_batch_length));
        }
        size_t total = static_cast<size_t>(length) + L::log_overhead;
        if (total > left) {
            // Kafka's batch iterator stops at a batch running past the end: for the first one
            // that leaves no batch at all, which Produce v3+ refuses as INVALID_RECORD ("exactly
            // one record batch"); seen in test_versus_kafka.py's run of test_bad_input.py.
            return fail(
                v, index == 0 ? error_code::invalid_record : error_code::corrupt_message,
                format("Batch %d: declares %zu bytes but only %zu remain", index, total, left));
        }
        batch_header h = decode_header(p);
        if (h.base_offset != 0) {
            return fail(v, error_code::invalid_record,
                        format("Batch %d: base offset is %lld, producers must send 0", index,
                               static_cast<long long>(h.base_offset)));
        }
        if (max_batch_bytes >= 0 && total > static_cast<size_t>(max_batch_bytes)) {
            return fail(v, error_code::message_too_large,
                        format("Batch %d: %zu bytes exceeds the maximum of %d", index, total,
                               max_batch_bytes));
        }
        uint32_t computed = batch_crc(p, total);
        if (computed != h.crc) {
            return fail(v, error_code::corrupt_message,
                        format("Batch %d: stored CRC %08x does not match computed CRC %08x", index,
                               h.crc, computed));
        }
        if (h.codec_id() > static_cast<int>(compression_codec::zstd)) {
            return fail(v, error_code::corrupt_message,
                        format("Batch %d: unknown compression type %d", index, h.codec_id()));
        }
        if (int64_t{h.last_offset_delta} + 1 <= 0) {
            return fail(
                v, error_code::invalid_record,
                format("Batch %d: invalid last offset delta %d", index, h.last_offset_delta));
        }
        if (h.records_count <= 0) {
            return fail(v, error_code::invalid_record,
                        format("Batch %d: invalid record count %d", index, h.records_count));
        }
        if (int64_t{h.last_offset_delta} + 1 != h.records_count) {
            return fail(v, error_code::invalid_record,
                        format("Batch %d: last offset delta %d does not match record count %d",
                               index, h.last_offset_delta, h.records_count));
        }
        if (h.is_control()) {
            return fail(v, error_code::invalid_record,
                        format("Batch %d: clients may not write control batches", index));
        }
        if (h.producer_id >= 0 && h.base_sequence < 0) {
            return fail(v, error_code::invalid_record,
                        format("Batch %d: producer id %lld with invalid base sequence %d", index,
                               static_cast<long long>(h.producer_id), h.base_sequence));
        }

        std::span<const uint8_t> payload(p + L::header_size, total - L::header_size);
        if (h.codec() == compression_codec::none) {
            check_records(v, h, payload, index);
        } else {
            auto& scratch = validation_scratch();
            bool ok = decompress(h.codec(), payload, scratch,
                                 max_decompressed_records_size(payload.size()));
            if (ok) check_records(v, h, scratch, index);
            release_large_scratch(scratch);
            if (!ok) {
                return fail(v, error_code::corrupt_message,
                            format("Batch %d: records cannot be decompressed (corrupt, or "
                                   "larger than %zu bytes)",
                                   index, max_decompressed_records_size(payload.size())));
            }
        }
        if (v.error != error_code::none) return v;
        ++v.batch_count;
        v.record_count += h.records_count;
        pos += total;
    }
    return v;
}

void stamp_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
    if (batch.size() < L::base_offset + 8) return;
    L::store_i64(batch.data() + L::base_offset, base_offset);
}

void stamp_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
    if (batch.size() < L::partition_leader_epoch + 4) return;
    L::store_i32(batch.data() + L::partition_leader_epoch, epoch);
}

void stamp_log_append_time(std::span<uint8_t> batch, int64_t now_ms) {
    if (batch.size() < L::header_size) return;
    uint8_t* p = batch.data();
    int32_t length = L::load_i32(p + L::batch_length);
    if (length < min_batch_length) return;
    size_t total = static_cast<size_t>(length) + L::log_overhead;
    if (total > batch.size()) return;
    int16_t attributes = L::load_i16(p + L::attributes);
    int16_t stamped = static_cast<int16_t>(attributes | L::timestamp_type_bit);
    // As Kafka: nothing to rewrite (and no CRC to recompute) when already stamped with now_ms.
    if (stamped == attributes && L::load_i64(p + L::max_timestamp) == now_ms) return;
    L::store_i16(p + L::attributes, stamped);
    L::store_i64(p + L::max_timestamp, now_ms);
    L::store_i32(p + L::crc, static_cast<int32_t>(batch_crc(p, total)));
}

bool for_each_record(std::span<const uint8_t> batch, const std::function<bool(const record&)>& fn,
                     std::vector<uint8_t>* scratch_for_decompression) {
    auto header = parse_batch_header(batch);
    if (!header) return false;
    const batch_header& h = *header;
    if (h.magic != current_magic || h.batch_length < min_batch_length) return false;
    size_t total = static_cast<size_t>(h.batch_length) + L::log_overhead;
    if (total > batch.size()) return false;
    if (h.codec_id() > static_cast<int>(compression_codec::zstd) || h.records_count < 0) {
        return false;
    }

    std::span<const uint8_t> payload = batch.subspan(L::header_size, total - L::header_size);
    std::vector<uint8_t> local_scratch;
    if (h.codec() != compression_codec::none) {
        std::vector<uint8_t>& scratch =
            scratch_for_decompression != nullptr ? *scratch_for_decompression : local_scratch;
        if (!decompress(h.codec(), payload, scratch,
                        max_decompressed_records_size(payload.size()))) {
            return false;
        }
        payload = scratch;
    }

    cursor c{payload.data(), payload.data() + payload.size()};
    parsed_record r;
    record out;
    for (int32_t i = 0; i < h.records_count; ++i) {
        out.headers.clear();
        if (!parse_record(c, r, &out.headers)) return false;
        out.offset = wrapping_add(h.base_offset, r.offset_delta);
        out.timestamp = h.log_append_time() ? h.max_timestamp
                                            : wrapping_add(h.base_timestamp, r.timestamp_delta);
        out.key = r.key;
        out.value = r.value;
        if (!fn(out)) return true;
    }
    return c.p == c.end;
}

std::vector<uint8_t> build_batch(const batch_options& options,
                                 const std::vector<record_input>& records) {
    int64_t base_timestamp = records.empty() ? -1 : records.front().timestamp;
    int64_t max_timestamp = -1;
    for (const auto& r : records) max_timestamp = std::max(max_timestamp, r.timestamp);

    writer body;
    writer section;
    for (size_t i = 0; i < records.size(); ++i) {
        const record_input& r = records[i];
        body.clear();
        body.write_int8(0);
        body.write_varlong(static_cast<int64_t>(static_cast<uint64_t>(r.timestamp) -
                                                static_cast<uint64_t>(base_timestamp)));
        body.write_varint(static_cast<int32_t>(i));
        for (const auto* field : {&r.key, &r.value}) {
            if (!*field) {
                body.write_varint(-1);
            } else {
                body.write_varint(static_cast<int32_t>((*field)->size()));
                body.write_raw((*field)->data(), (*field)->size());
            }
        }
        body.write_varint(static_cast<int32_t>(r.headers.size()));
        for (const auto& [key, value] : r.headers) {
            body.write_varint(static_cast<int32_t>(key.size()));
            body.write_raw(key.data(), key.size());
            if (!value) {
                body.write_varint(-1);
            } else {
                body.write_varint(static_cast<int32_t>(value->size()));
                body.write_raw(value->data(), value->size());
            }
        }
        section.write_varint(static_cast<int32_t>(body.buffer().size()));
        section.write_raw(body.buffer().data(), body.buffer().size());
    }

    std::vector<uint8_t> payload =
        options.codec == compression_codec::none
            ? std::move(section.buffer())
            : compress(options.codec, section.buffer(), options.compression_level);

    std::vector<uint8_t> out(L::header_size + payload.size());
    if (!payload.empty()) std::memcpy(out.data() + L::header_size, payload.data(), payload.size());
    uint8_t* p = out.data();
    int16_t attributes = static_cast<int16_t>(options.codec);
    if (options.transactional) attributes |= L::transactional_bit;
    if (options.control) attributes |= L::control_bit;
    L::store_i64(p + L::base_offset, options.base_offset);
    L::store_i32(p + L::batch_length, static_cast<int32_t>(out.size() - L::log_overhead));
    L::store_i32(p + L::partition_leader_epoch, options.partition_leader_epoch);
    p[L::magic] = static_cast<uint8_t>(current_magic);
    L::store_i16(p + L::attributes, attributes);
    L::store_i32(p + L::last_offset_delta,
                 records.empty() ? 0 : static_cast<int32_t>(records.size() - 1));
    L::store_i64(p + L::base_timestamp, base_timestamp);
    L::store_i64(p + L::max_timestamp, max_timestamp);
    L::store_i64(p + L::producer_id, options.producer_id);
    L::store_i16(p + L::producer_epoch, options.producer_epoch);
    L::store_i32(p + L::base_sequence, options.base_sequence);
    L::store_i32(p + L::records_count, static_cast<int32_t>(records.size()));
    L::store_i32(p + L::crc, static_cast<int32_t>(batch_crc(p, out.size())));
    return out;
}

std::optional<std::vector<uint8_t>> recompress_batch(std::span<const uint8_t> batch,
                                                     compression_codec codec,
                                                     std::optional<int32_t> level) {
    auto h = parse_batch_header(batch);
    if (!h) return std::nullopt;
    std::vector<record_input> records;
    std::vector<uint8_t> scratch;
    bool ok = for_each_record(
        batch,
        [&records](const record& r) {
            auto& in = records.emplace_back();
            auto text = [](std::span<const uint8_t> s) {
                return std::string(reinterpret_cast<const char*>(s.data()), s.size());
            };
            if (r.key) in.key = text(*r.key);
            if (r.value) in.value = text(*r.value);
            for (const auto& hd : r.headers) {
                in.headers.emplace_back(std::string(hd.key),
                                        hd.value ? std::optional(text(*hd.value)) : std::nullopt);
            }
            in.timestamp = r.timestamp;
            return true;
        },
        &scratch);
    if (!ok) return std::nullopt;
    batch_options o;
    o.codec = codec;
    o.compression_level = level;
    o.producer_id = h->producer_id;
    o.producer_epoch = h->producer_epoch;
    o.base_sequence = h->base_sequence;
    o.transactional = h->is_transactional();
    o.control = h->is_control();
    o.partition_leader_epoch = h->partition_leader_epoch;
    return build_batch(o, records);
}

}  // namespace runnel::protocol
