// Test helpers for the storage tests: valid v2 record batches (uncompressed, correct CRC-32C) and a
// temporary directory that removes itself.
#pragma once

#include "protocol/crc32c.h"
#include "protocol/record_batch_header.h"
#include "storage/producer_state.h"
#include "storage/segment.h"
#include "storage/transaction_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace runnel::storage {

// Readable .txnindex entries in assertion messages.
inline void PrintTo(const aborted_txn& e, std::ostream* os) {
    *os << "{pid " << e.producer_id << ", first " << e.first_offset << ", last " << e.last_offset
        << ", lso " << e.last_stable_offset << "}";
}

}  // namespace runnel::storage

namespace runnel::storage::test {

namespace bl = protocol::batch_layout;

inline void put_uvarint(std::vector<uint8_t>& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<uint8_t>(v));
}
inline void put_varint(std::vector<uint8_t>& out, int64_t v) {
    put_uvarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// One record: attributes 0, the given timestamp delta and offset delta, null key, `value_size`
// bytes of value, no headers.
inline void put_record(std::vector<uint8_t>& out, int64_t ts_delta, int32_t offset_delta,
                       size_t value_size, uint8_t fill) {
    std::vector<uint8_t> body;
    body.push_back(0);  // attributes
    put_varint(body, ts_delta);
    put_varint(body, offset_delta);
    put_varint(body, -1);  // key: null
    put_varint(body, static_cast<int64_t>(value_size));
    body.insert(body.end(), value_size, fill);
    put_varint(body, 0);  // headers
    put_varint(out, static_cast<int64_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
}

// A batch of `records` records with timestamps base_ts + i*ts_step (the max is stored in the
// header), base offset 0 (the log stamps it).
inline std::vector<uint8_t> make_batch(int32_t records, int64_t base_ts, size_t value_size = 10,
                                       int64_t ts_step = 1, uint8_t fill = 'v') {
    std::vector<uint8_t> b(bl::header_size, 0);
    int64_t max_ts = base_ts;
    for (int32_t i = 0; i < records; ++i) {
        put_record(b, i * ts_step, i, value_size, fill);
        max_ts = std::max(max_ts, base_ts + i * ts_step);
    }
    uint8_t* p = b.data();
    bl::store_i64(p + bl::base_offset, 0);
    bl::store_i32(p + bl::batch_length, static_cast<int32_t>(b.size() - bl::log_overhead));
    bl::store_i32(p + bl::partition_leader_epoch, 0);
    p[bl::magic] = 2;
    bl::store_i16(p + bl::attributes, 0);
    bl::store_i32(p + bl::last_offset_delta, records - 1);
    bl::store_i64(p + bl::base_timestamp, base_ts);
    bl::store_i64(p + bl::max_timestamp, max_ts);
    bl::store_i64(p + bl::producer_id, -1);
    bl::store_i16(p + bl::producer_epoch, -1);
    bl::store_i32(p + bl::base_sequence, -1);
    bl::store_i32(p + bl::records_count, records);
    uint32_t crc = protocol::crc32c(p + bl::attributes, b.size() - bl::attributes);
    bl::store_i32(p + bl::crc, static_cast<int32_t>(crc));
    return b;
}

inline bool crc_ok(const uint8_t* batch) {
    size_t size = bl::log_overhead + static_cast<size_t>(bl::load_i32(batch + bl::batch_length));
    return protocol::crc32c(batch + bl::attributes, size - bl::attributes) ==
           static_cast<uint32_t>(bl::load_i32(batch + bl::crc));
}

struct parsed_batch {
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp;
    size_t size;
    int32_t partition_leader_epoch;
};

// Splits a buffer of whole batches; fails the test on a partial batch.
inline std::vector<parsed_batch> split_batches(const std::vector<uint8_t>& bytes) {
    std::vector<parsed_batch> out;
    size_t pos = 0;
    while (pos < bytes.size()) {
        EXPECT_GE(bytes.size() - pos, bl::header_size);
        if (bytes.size() - pos < bl::header_size) break;
        const uint8_t* p = bytes.data() + pos;
        size_t size = bl::log_overhead + static_cast<size_t>(bl::load_i32(p + bl::batch_length));
        EXPECT_LE(pos + size, bytes.size());
        if (pos + size > bytes.size()) break;
        EXPECT_TRUE(crc_ok(p));
        int64_t base = bl::load_i64(p);
        out.push_back({base, base + bl::load_i32(p + bl::last_offset_delta),
                       bl::load_i64(p + bl::max_timestamp), size,
                       bl::load_i32(p + bl::partition_leader_epoch)});
        pos += size;
    }
    return out;
}

// A whole file's bytes.
inline std::vector<uint8_t> file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Appends bytes to a file (a torn or garbage tail, say).
inline void append_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

// Overwrites the newest producer snapshot in a partition directory with garbage, as a crash may
// leave it (snapshots are written without a sync); open must then fall back to an older one.
inline void tear_newest_snapshot(const std::filesystem::path& dir) {
    auto snaps = list_producer_snapshots(dir);
    ASSERT_FALSE(snaps.empty());
    std::ofstream(dir / segment_file_name(snaps.back(), snapshot_suffix), std::ios::trunc)
        << "torn";
}

class temp_dir {
  public:
    temp_dir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/runnel-storage-XXXXXX";
        if (!mkdtemp(tmpl.data())) std::abort();
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

}  // namespace runnel::storage::test
