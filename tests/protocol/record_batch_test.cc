#include "protocol/record_batch.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/crc32c.h"

namespace runnel::protocol {
namespace {

namespace L = batch_layout;

constexpr compression_codec all_codecs[] = {compression_codec::none, compression_codec::gzip,
                                            compression_codec::snappy, compression_codec::lz4,
                                            compression_codec::zstd};
constexpr int32_t no_limit = 1 << 30;

std::string as_string(std::span<const uint8_t> s) {
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

std::optional<std::string> as_opt(const std::optional<std::span<const uint8_t>>& s) {
    if (!s) return std::nullopt;
    return as_string(*s);
}

bool crc_valid(std::span<const uint8_t> batch) {
    auto h = parse_batch_header(batch);
    size_t total = static_cast<size_t>(h->total_size());
    return crc32c(batch.data() + L::attributes, total - L::attributes) == h->crc;
}

void fix_crc(std::vector<uint8_t>& batch) {
    L::store_i32(batch.data() + L::crc, static_cast<int32_t>(crc32c(batch.data() + L::attributes,
                                                                    batch.size() - L::attributes)));
}

std::vector<record_input> sample_records() {
    std::vector<record_input> r(4);
    r[0].key = "k1";
    r[0].value = "v1";
    r[0].headers = {{"h1", "x"}, {"h2", std::nullopt}};
    r[0].timestamp = 1000;
    r[1].value = "v2";  // null key
    r[1].timestamp = 1005;
    r[2].key = "k3";  // null value
    r[2].timestamp = 999;
    r[3].key = "";
    r[3].value = "";
    r[3].headers = {{"", ""}};
    r[3].timestamp = 1003;
    for (int i = 0; i < 200; ++i) {
        record_input x;
        x.key = "key-" + std::to_string(i);
        x.value = std::string(100 + i, static_cast<char>('a' + i % 26));
        x.timestamp = 1001;
        r.push_back(x);
    }
    return r;
}

// Hand-encoded record, to produce shapes build_batch never would.
struct raw_record {
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    int32_t key_length = -1;  // written as given; key bytes are 'k' x max(0, length)
    int32_t value_length = -1;
    std::vector<std::pair<int32_t, int32_t>> headers;  // (key length, value length)
    int32_t header_count = -1;                         // -1: headers.size()
    int32_t length_adjust = 0;                         // added to the declared record length
    std::vector<uint8_t> trailing;                     // bytes inside the record after the headers
};

std::vector<uint8_t> encode_record(const raw_record& r) {
    writer body;
    body.write_int8(0);
    body.write_varlong(r.timestamp_delta);
    body.write_varint(r.offset_delta);
    auto field = [&](int32_t n, char fill) {
        body.write_varint(n);
        for (int32_t i = 0; i < n; ++i) body.write_int8(fill);
    };
    field(r.key_length, 'k');
    field(r.value_length, 'v');
    body.write_varint(r.header_count >= 0 ? r.header_count
                                          : static_cast<int32_t>(r.headers.size()));
    for (auto [k, v] : r.headers) {
        field(k, 'h');
        field(v, 'w');
    }
    body.write_raw(r.trailing.data(), r.trailing.size());
    writer out;
    out.write_varint(static_cast<int32_t>(body.buffer().size()) + r.length_adjust);
    out.write_raw(body.buffer().data(), body.buffer().size());
    return out.buffer();
}

std::vector<uint8_t> records_section(int n) {
    std::vector<uint8_t> s;
    for (int i = 0; i < n; ++i) {
        raw_record r;
        r.offset_delta = i;
        r.key_length = 2;
        r.value_length = 3;
        auto e = encode_record(r);
        s.insert(s.end(), e.begin(), e.end());
    }
    return s;
}

// A batch around an arbitrary records section, with a correct CRC.
std::vector<uint8_t> make_batch(std::vector<uint8_t> section, int32_t count, int32_t last_delta,
                                compression_codec codec = compression_codec::none,
                                int16_t extra_attributes = 0) {
    if (codec != compression_codec::none) section = compress(codec, section);
    std::vector<uint8_t> b(L::header_size);
    b.insert(b.end(), section.begin(), section.end());
    uint8_t* p = b.data();
    L::store_i64(p + L::base_offset, 0);
    L::store_i32(p + L::batch_length, static_cast<int32_t>(b.size() - L::log_overhead));
    L::store_i32(p + L::partition_leader_epoch, -1);
    p[L::magic] = 2;
    L::store_i16(p + L::attributes,
                 static_cast<int16_t>(static_cast<int16_t>(codec) | extra_attributes));
    L::store_i32(p + L::last_offset_delta, last_delta);
    L::store_i64(p + L::base_timestamp, 5000);
    L::store_i64(p + L::max_timestamp, 5000);
    L::store_i64(p + L::producer_id, -1);
    L::store_i16(p + L::producer_epoch, -1);
    L::store_i32(p + L::base_sequence, -1);
    L::store_i32(p + L::records_count, count);
    fix_crc(b);
    return b;
}

std::vector<uint8_t> make_batch_of(const raw_record& r,
                                   compression_codec codec = compression_codec::none) {
    return make_batch(encode_record(r), 1, 0, codec);
}

error_code validate(const std::vector<uint8_t>& b, int32_t limit = no_limit) {
    return validate_batches(b, limit).error;
}

TEST(RecordBatch, ParsesHeaderFields) {
    batch_options o;
    o.codec = compression_codec::lz4;
    o.base_offset = 0;
    o.producer_id = 42;
    o.producer_epoch = 3;
    o.base_sequence = 7;
    o.transactional = true;
    o.partition_leader_epoch = 5;
    auto records = sample_records();
    auto b = build_batch(o, records);
    auto h = parse_batch_header(b);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, 0);
    EXPECT_EQ(h->total_size(), static_cast<int64_t>(b.size()));
    EXPECT_EQ(h->partition_leader_epoch, 5);
    EXPECT_EQ(h->magic, 2);
    EXPECT_TRUE(crc_valid(b));
    EXPECT_EQ(h->codec(), compression_codec::lz4);
    EXPECT_TRUE(h->is_transactional());
    EXPECT_FALSE(h->is_control());
    EXPECT_FALSE(h->log_append_time());
    EXPECT_EQ(h->last_offset_delta, static_cast<int32_t>(records.size() - 1));
    EXPECT_EQ(h->last_offset(), static_cast<int64_t>(records.size() - 1));
    EXPECT_EQ(h->base_timestamp, 1000);
    EXPECT_EQ(h->max_timestamp, 1005);
    EXPECT_EQ(h->producer_id, 42);
    EXPECT_EQ(h->producer_epoch, 3);
    EXPECT_EQ(h->base_sequence, 7);
    EXPECT_EQ(h->records_count, static_cast<int32_t>(records.size()));

    EXPECT_FALSE(parse_batch_header(std::span(b.data(), 60)));
    EXPECT_TRUE(parse_batch_header(std::span(b.data(), 61)));
}

TEST(RecordBatch, RoundTripsEveryCodec) {
    auto records = sample_records();
    for (auto codec : all_codecs) {
        SCOPED_TRACE(static_cast<int>(codec));
        batch_options o;
        o.codec = codec;
        o.producer_id = 9;
        o.producer_epoch = 0;
        o.base_sequence = 0;
        auto b = build_batch(o, records);
        if (codec != compression_codec::none) {
            EXPECT_LT(b.size(), 10000u);  // the sample compresses well
        }

        auto v = validate_batches(b, no_limit);
        ASSERT_EQ(v.error, error_code::none) << v.message;
        EXPECT_TRUE(v.message.empty());
        EXPECT_EQ(v.batch_count, 1);
        EXPECT_EQ(v.record_count, static_cast<int64_t>(records.size()));
        EXPECT_EQ(v.min_timestamp, 999);
        EXPECT_EQ(v.max_timestamp, 1005);
        EXPECT_TRUE(v.has_null_key);

        stamp_base_offset(b, 1000);
        std::vector<uint8_t> scratch;
        size_t i = 0;
        bool ok = for_each_record(
            b,
            [&](const record& r) {
                const record_input& in = records[i];
                EXPECT_EQ(r.offset, 1000 + static_cast<int64_t>(i));
                EXPECT_EQ(r.timestamp, in.timestamp);
                EXPECT_EQ(as_opt(r.key), in.key);
                EXPECT_EQ(as_opt(r.value), in.value);
                EXPECT_EQ(r.headers.size(), in.headers.size());
                for (size_t j = 0; j < r.headers.size() && j < in.headers.size(); ++j) {
                    EXPECT_EQ(std::string(r.headers[j].key), in.headers[j].first);
                    EXPECT_EQ(as_opt(r.headers[j].value), in.headers[j].second);
                }
                ++i;
                return true;
            },
            &scratch);
        EXPECT_TRUE(ok);
        EXPECT_EQ(i, records.size());
        // Also without a caller-provided scratch buffer.
        i = 0;
        EXPECT_TRUE(for_each_record(
            b, [&](const record&) { return ++i, true; }, nullptr));
        EXPECT_EQ(i, records.size());
    }
}

TEST(RecordBatch, IterationStopsEarly) {
    auto b = build_batch({}, sample_records());
    int seen = 0;
    EXPECT_TRUE(for_each_record(
        b, [&](const record&) { return ++seen < 3; }, nullptr));
    EXPECT_EQ(seen, 3);
}

TEST(RecordBatch, BuildsEmptyAndTimestamplessBatches) {
    auto empty = build_batch({}, {});
    auto h = parse_batch_header(empty);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->records_count, 0);
    EXPECT_EQ(h->total_size(), 61);
    EXPECT_TRUE(crc_valid(empty));
    EXPECT_TRUE(for_each_record(
        empty, [](const record&) { return true; }, nullptr));
    // Kafka refuses batches without records from producers.
    EXPECT_EQ(validate(empty), error_code::invalid_record);

    std::vector<record_input> r(2);
    r[0].value = "a";
    r[1].value = "b";
    auto b = build_batch({}, r);
    auto v = validate_batches(b, no_limit);
    ASSERT_EQ(v.error, error_code::none) << v.message;
    EXPECT_EQ(v.min_timestamp, -1);
    EXPECT_EQ(v.max_timestamp, -1);
    EXPECT_EQ(parse_batch_header(b)->max_timestamp, -1);
}

TEST(RecordBatch, ValidatesSeveralBatchesBackToBack) {
    std::vector<uint8_t> payload;
    int64_t expected = 0;
    for (auto codec : all_codecs) {
        batch_options o;
        o.codec = codec;
        auto b = build_batch(o, sample_records());
        expected += static_cast<int64_t>(sample_records().size());
        payload.insert(payload.end(), b.begin(), b.end());
    }
    auto v = validate_batches(payload, no_limit);
    ASSERT_EQ(v.error, error_code::none) << v.message;
    EXPECT_EQ(v.batch_count, 5);
    EXPECT_EQ(v.record_count, expected);
}

TEST(RecordBatch, RejectsEmptyAndPartialPayloads) {
    EXPECT_EQ(validate({}), error_code::corrupt_message);
    auto b = build_batch({}, sample_records());
    for (size_t extra : {1u, 5u, 16u, 17u, 30u, 61u, 100u}) {
        auto two = b;
        two.insert(two.end(), b.begin(), b.begin() + extra);
        auto v = validate_batches(two, no_limit);
        EXPECT_EQ(v.error, error_code::corrupt_message) << extra;
        EXPECT_FALSE(v.message.empty());
    }
}

TEST(RecordBatch, RejectsShortBatchLength) {
    auto b = build_batch({}, sample_records());
    for (int32_t len : {48, 20, 13, 0, -1, INT32_MIN}) {
        auto bad = b;
        L::store_i32(bad.data() + L::batch_length, len);
        EXPECT_EQ(validate(bad), error_code::corrupt_message) << len;
        EXPECT_FALSE(for_each_record(
            bad, [](const record&) { return true; }, nullptr));
    }
}

TEST(RecordBatch, RejectsOtherMagics) {
    auto b = build_batch({}, sample_records());
    for (int magic : {0, 1}) {
        auto bad = b;
        bad[L::magic] = static_cast<uint8_t>(magic);
        EXPECT_EQ(validate(bad), error_code::invalid_record) << magic;
    }
    for (int magic : {3, 127, -1}) {
        auto bad = b;
        bad[L::magic] = static_cast<uint8_t>(magic);
        EXPECT_EQ(validate(bad), error_code::corrupt_message) << magic;
        EXPECT_FALSE(for_each_record(
            bad, [](const record&) { return true; }, nullptr));
    }
}

TEST(RecordBatch, RejectsOversizedBatches) {
    auto b = build_batch({}, sample_records());
    int32_t size = static_cast<int32_t>(b.size());
    EXPECT_EQ(validate(b, size), error_code::none);
    auto v = validate_batches(b, size - 1);
    EXPECT_EQ(v.error, error_code::message_too_large);
    EXPECT_NE(v.message.find(std::to_string(size)), std::string::npos) << v.message;
    // Negative disables the check.
    EXPECT_EQ(validate(b, -1), error_code::none);
}

TEST(RecordBatch, RejectsCrcMismatchAtAnyCoveredByte) {
    for (auto codec : all_codecs) {
        batch_options o;
        o.codec = codec;
        auto b = build_batch(o, sample_records());
        for (size_t pos :
             {L::crc, L::crc + 3, L::attributes, L::attributes + 1, L::last_offset_delta,
              L::base_timestamp + 7, L::max_timestamp, L::producer_id, L::producer_epoch,
              L::base_sequence + 2, L::records_count, L::header_size, L::header_size + 10,
              b.size() / 2, b.size() - 1}) {
            auto bad = b;
            bad[pos] ^= 0x01;
            auto v = validate_batches(bad, no_limit);
            EXPECT_EQ(v.error, error_code::corrupt_message)
                << "codec " << static_cast<int>(codec) << " pos " << pos;
            EXPECT_NE(v.message.find("CRC"), std::string::npos) << v.message;
        }
        // Bytes outside the CRC: the leader epoch is free, the base offset must be 0.
        auto epoch = b;
        epoch[L::partition_leader_epoch] ^= 0x40;
        EXPECT_EQ(validate(epoch), error_code::none);
        auto offset = b;
        offset[L::base_offset + 7] ^= 0x01;
        EXPECT_EQ(validate(offset), error_code::invalid_record);
    }
}

TEST(RecordBatch, RejectsUnknownCodecs) {
    for (int16_t codec_bits : {5, 6, 7}) {
        auto b = make_batch(records_section(3), 3, 2);
        L::store_i16(b.data() + L::attributes, codec_bits);
        fix_crc(b);
        auto v = validate_batches(b, no_limit);
        EXPECT_EQ(v.error, error_code::corrupt_message) << codec_bits;
        EXPECT_NE(v.message.find("compression"), std::string::npos) << v.message;
        EXPECT_FALSE(for_each_record(
            b, [](const record&) { return true; }, nullptr));
    }
}

TEST(RecordBatch, RejectsBadCountsAndOffsetRanges) {
    // records_count negative, zero, or not last_offset_delta + 1.
    EXPECT_EQ(validate(make_batch(records_section(3), -1, 2)), error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), -1, -2)), error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), 0, -1)), error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), 3, 1)), error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), 3, 3)), error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), 3, INT32_MAX)), error_code::invalid_record);
    // Consistent header, but fewer or more records than declared.
    EXPECT_EQ(validate(make_batch(records_section(3), 4, 3)), error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), 2, 1)), error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), INT32_MAX, INT32_MAX - 1)),
              error_code::invalid_record);
    EXPECT_EQ(validate(make_batch(records_section(3), 3, 2)), error_code::none);
    for (auto codec : all_codecs) {
        EXPECT_EQ(validate(make_batch(records_section(3), 4, 3, codec)),
                  error_code::invalid_record);
        EXPECT_EQ(validate(make_batch(records_section(3), 3, 2, codec)), error_code::none);
    }
    // Iteration only needs the records to match the count.
    EXPECT_FALSE(for_each_record(
        make_batch(records_section(3), 4, 3), [](const record&) { return true; }, nullptr));
    EXPECT_FALSE(for_each_record(
        make_batch(records_section(3), 2, 1), [](const record&) { return true; }, nullptr));
    EXPECT_FALSE(for_each_record(
        make_batch(records_section(3), -1, 2), [](const record&) { return true; }, nullptr));
}

TEST(RecordBatch, RejectsOffsetDeltasOtherThanSequential) {
    auto section_with = [](std::vector<int32_t> deltas) {
        std::vector<uint8_t> s;
        for (int32_t d : deltas) {
            raw_record r;
            r.offset_delta = d;
            auto e = encode_record(r);
            s.insert(s.end(), e.begin(), e.end());
        }
        return s;
    };
    EXPECT_EQ(validate(make_batch(section_with({0, 1, 2}), 3, 2)), error_code::none);
    for (auto deltas : std::vector<std::vector<int32_t>>{
             {1, 2, 3}, {0, 2, 3}, {0, 1, 1}, {0, 0, 2}, {2, 1, 0}, {0, 1, -1}, {-1, 0, 1}}) {
        for (auto codec : {compression_codec::none, compression_codec::zstd}) {
            auto v = validate_batches(make_batch(section_with(deltas), 3, 2, codec), no_limit);
            EXPECT_EQ(v.error, error_code::invalid_record) << deltas[0] << deltas[1] << deltas[2];
            EXPECT_NE(v.message.find("offset delta"), std::string::npos) << v.message;
        }
    }
    // Compacted batches have gaps; iteration reports the real offsets.
    auto gaps = make_batch(section_with({0, 3, 7}), 3, 7);
    std::vector<int64_t> offsets;
    EXPECT_TRUE(for_each_record(
        gaps, [&](const record& r) { return offsets.push_back(r.offset), true; }, nullptr));
    EXPECT_EQ(offsets, (std::vector<int64_t>{0, 3, 7}));
}

TEST(RecordBatch, RejectsControlBatchesFromClients) {
    batch_options o;
    o.control = true;
    std::vector<record_input> marker(1);
    marker[0].key = std::string("\0\0\0\0", 4);  // version 0, type 0 (abort)
    marker[0].value = std::string("\0\0\0\0\0\0", 6);
    auto b = build_batch(o, marker);
    EXPECT_TRUE(parse_batch_header(b)->is_control());
    auto v = validate_batches(b, no_limit);
    EXPECT_EQ(v.error, error_code::invalid_record);
    EXPECT_NE(v.message.find("control"), std::string::npos) << v.message;
    // The broker's own control batches iterate fine.
    EXPECT_TRUE(for_each_record(
        b, [](const record&) { return true; }, nullptr));
}

TEST(RecordBatch, RejectsProducerIdWithoutSequence) {
    batch_options o;
    o.producer_id = 5;
    o.producer_epoch = 0;
    o.base_sequence = -1;
    EXPECT_EQ(validate(build_batch(o, sample_records())), error_code::invalid_record);
    o.base_sequence = 0;
    EXPECT_EQ(validate(build_batch(o, sample_records())), error_code::none);
}

TEST(RecordBatch, RejectsMalformedRecords) {
    auto expect_bad = [](const raw_record& r, const char* what) {
        for (auto codec : {compression_codec::none, compression_codec::gzip}) {
            auto b = make_batch_of(r, codec);
            auto v = validate_batches(b, no_limit);
            EXPECT_EQ(v.error, error_code::invalid_record) << what;
            EXPECT_FALSE(v.message.empty());
            EXPECT_FALSE(for_each_record(
                b, [](const record&) { return true; }, nullptr))
                << what;
        }
    };
    raw_record ok;
    EXPECT_EQ(validate(make_batch_of(ok)), error_code::none);

    raw_record r;
    r.key_length = -2;
    expect_bad(r, "key length -2");
    r = {};
    r.value_length = -7;
    expect_bad(r, "value length -7");
    r = {};
    r.headers = {{-1, 1}};
    expect_bad(r, "null header key");
    r = {};
    r.headers = {{1, -2}};
    expect_bad(r, "header value length -2");
    {
        // A negative header count (zig-zag -1 in the record's last byte).
        raw_record h;
        h.header_count = 0;
        auto e = encode_record(h);
        e[e.size() - 1] = 0x01;
        EXPECT_EQ(validate(make_batch(e, 1, 0)), error_code::invalid_record);
    }
    r = {};
    r.header_count = 3;
    r.headers = {{1, 1}};
    expect_bad(r, "fewer headers than counted");
    r = {};
    r.length_adjust = 1;
    expect_bad(r, "declared length longer than the record");
    r = {};
    r.length_adjust = -1;
    expect_bad(r, "declared length shorter than the record");
    r = {};
    r.trailing = {0x00, 0x00};
    expect_bad(r, "bytes after the headers");

    // A record whose declared length runs past the batch.
    auto e = encode_record(ok);
    e.pop_back();
    auto cut = make_batch(e, 1, 0);
    EXPECT_EQ(validate(cut), error_code::invalid_record);
    // Bytes after the last record.
    auto extra = encode_record(ok);
    extra.push_back(0x00);
    EXPECT_EQ(validate(make_batch(extra, 1, 0)), error_code::invalid_record);
    // Over-long varint (6 bytes).
    std::vector<uint8_t> longvar = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    EXPECT_EQ(validate(make_batch(longvar, 1, 0)), error_code::invalid_record);
}

TEST(RecordBatch, HugeLengthsAndCountsDoNotAllocate) {
    // Each of these claims far more than the batch holds; a reader that trusted the number
    // would reserve gigabytes (which AddressSanitizer reports as an error).
    // Build the records by hand: encode_record would write INT32_MAX key bytes.
    auto claim = [](std::vector<int32_t> varints) {
        writer body;
        body.write_int8(0);
        body.write_varlong(0);
        body.write_varint(0);
        for (int32_t v : varints) body.write_varint(v);
        writer out;
        out.write_varint(static_cast<int32_t>(body.buffer().size()));
        out.write_raw(body.buffer().data(), body.buffer().size());
        return out.buffer();
    };
    std::vector<std::vector<uint8_t>> sections = {
        claim({INT32_MAX}),                // key length
        claim({-1, INT32_MAX}),            // value length
        claim({-1, -1, INT32_MAX}),        // header count
        claim({-1, -1, 1 << 30}),          // header count
        claim({-1, -1, 1, INT32_MAX}),     // header key length
        claim({-1, -1, 1, 0, INT32_MAX}),  // header value length
    };
    writer huge_record;
    huge_record.write_varint(INT32_MAX);  // record length
    sections.push_back(huge_record.buffer());
    for (const auto& s : sections) {
        for (auto codec : all_codecs) {
            auto batch = make_batch(s, 1, 0, codec);
            EXPECT_EQ(validate(batch), error_code::invalid_record);
            EXPECT_FALSE(for_each_record(
                batch, [](const record&) { return true; }, nullptr));
        }
    }
    // A record count of INT32_MAX over three records.
    auto many = make_batch(records_section(3), INT32_MAX, INT32_MAX - 1);
    EXPECT_EQ(validate(many), error_code::invalid_record);
    EXPECT_FALSE(for_each_record(
        many, [](const record&) { return true; }, nullptr));
}

TEST(RecordBatch, RejectsUndecompressablePayloads) {
    for (auto codec : {compression_codec::gzip, compression_codec::snappy, compression_codec::lz4,
                       compression_codec::zstd}) {
        auto section = records_section(50);
        // Garbage where the compressed records should be.
        auto garbage = make_batch({}, 50, 49);
        garbage.insert(garbage.end(), {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03});
        L::store_i16(garbage.data() + L::attributes, static_cast<int16_t>(codec));
        L::store_i32(garbage.data() + L::batch_length,
                     static_cast<int32_t>(garbage.size() - L::log_overhead));
        fix_crc(garbage);
        auto v = validate_batches(garbage, no_limit);
        EXPECT_EQ(v.error, error_code::corrupt_message) << static_cast<int>(codec);
        EXPECT_NE(v.message.find("decompress"), std::string::npos) << v.message;
        EXPECT_FALSE(for_each_record(
            garbage, [](const record&) { return true; }, nullptr));

        // A valid stream cut short (CRC recomputed, so only decompression can notice).
        auto b = make_batch(section, 50, 49, codec);
        b.erase(b.end() - 3, b.end());
        L::store_i32(b.data() + L::batch_length, static_cast<int32_t>(b.size() - L::log_overhead));
        fix_crc(b);
        EXPECT_NE(validate(b), error_code::none) << static_cast<int>(codec);
    }
}

TEST(RecordBatch, DecompressionBound) {
    EXPECT_EQ(max_decompressed_records_size(0), size_t{64} << 20);
    EXPECT_EQ(max_decompressed_records_size(1000), size_t{64} << 20);
    EXPECT_EQ(max_decompressed_records_size(size_t{8} << 20), size_t{128} << 20);
    // A bomb past the bound: one 70 MiB record in a zstd batch of a few KiB.
    size_t value_size = size_t{70} << 20;
    writer body;
    body.write_int8(0);
    body.write_varlong(0);
    body.write_varint(0);
    body.write_varint(-1);
    body.write_varint(static_cast<int32_t>(value_size));
    std::vector<uint8_t> section;
    {
        writer prefix;
        int32_t body_size = static_cast<int32_t>(body.buffer().size() + value_size + 1);
        prefix.write_varint(body_size);
        section = prefix.buffer();
        section.insert(section.end(), body.buffer().begin(), body.buffer().end());
        section.resize(section.size() + value_size, 'v');
        section.push_back(0);  // header count
    }
    auto bomb = make_batch(section, 1, 0, compression_codec::zstd);
    EXPECT_LT(bomb.size(), 100000u);
    EXPECT_EQ(validate(bomb), error_code::corrupt_message);
}

TEST(RecordBatch, TruncationAtEveryLengthIsRejected) {
    for (auto codec : all_codecs) {
        batch_options o;
        o.codec = codec;
        std::vector<record_input> small(3);
        small[0].key = "a";
        small[0].value = "hello";
        small[0].headers = {{"h", "v"}};
        small[1].value = "world";
        small[2].key = "c";
        auto b = build_batch(o, small);
        ASSERT_EQ(validate(b), error_code::none);
        for (size_t n = 0; n < b.size(); ++n) {
            std::vector<uint8_t> prefix(b.begin(), b.begin() + n);
            EXPECT_NE(validate(prefix), error_code::none) << n;
            EXPECT_FALSE(for_each_record(
                prefix, [](const record&) { return true; }, nullptr))
                << n;
        }
    }
}

TEST(RecordBatch, SurvivesRandomMutations) {
    std::mt19937 rng(77);
    for (auto codec : all_codecs) {
        batch_options o;
        o.codec = codec;
        auto b = build_batch(o, sample_records());
        for (int trial = 0; trial < 400; ++trial) {
            auto bad = b;
            int flips = 1 + static_cast<int>(rng() % 3);
            for (int f = 0; f < flips; ++f) {
                size_t pos = L::header_size + rng() % (bad.size() - L::header_size);
                if (rng() % 8 == 0) pos = rng() % bad.size();
                bad[pos] ^= static_cast<uint8_t>(1 + rng() % 255);
            }
            fix_crc(bad);  // get past the CRC so the record parser sees the damage
            auto v = validate_batches(bad, no_limit);
            (void)v;
            std::vector<uint8_t> scratch;
            for_each_record(
                bad, [](const record&) { return true; }, &scratch);
        }
    }
}

TEST(RecordBatch, StampBaseOffsetKeepsCrc) {
    auto b = build_batch({}, sample_records());
    stamp_base_offset(b, 123456789012345);
    EXPECT_TRUE(crc_valid(b));
    auto h = parse_batch_header(b);
    EXPECT_EQ(h->base_offset, 123456789012345);
    EXPECT_EQ(h->last_offset(), 123456789012345 + h->last_offset_delta);
    int64_t expected = 123456789012345;
    EXPECT_TRUE(for_each_record(
        b, [&](const record& r) { return r.offset == expected++; }, nullptr));
    EXPECT_EQ(expected, 123456789012345 + h->records_count);

    stamp_partition_leader_epoch(b, 77);
    EXPECT_TRUE(crc_valid(b));
    EXPECT_EQ(parse_batch_header(b)->partition_leader_epoch, 77);

    std::vector<uint8_t> tiny(5, 0);
    stamp_base_offset(tiny, 1);  // too short: untouched
    EXPECT_EQ(tiny, std::vector<uint8_t>(5, 0));
}

TEST(RecordBatch, StampLogAppendTimeKeepsCrcAndSetsTimestamps) {
    for (auto codec : all_codecs) {
        batch_options o;
        o.codec = codec;
        o.transactional = true;
        o.producer_id = 1;
        o.producer_epoch = 0;
        o.base_sequence = 0;
        auto b = build_batch(o, sample_records());
        auto before = *parse_batch_header(b);
        stamp_log_append_time(b, 1'700'000'000'000);
        auto h = *parse_batch_header(b);
        EXPECT_TRUE(crc_valid(b));
        EXPECT_TRUE(h.log_append_time());
        EXPECT_TRUE(h.is_transactional());
        EXPECT_EQ(h.codec(), codec);
        EXPECT_EQ(h.max_timestamp, 1'700'000'000'000);
        EXPECT_EQ(h.base_timestamp, before.base_timestamp);
        EXPECT_NE(h.crc, before.crc);
        int n = 0;
        EXPECT_TRUE(for_each_record(
            b,
            [&](const record& r) {
                ++n;
                return r.timestamp == 1'700'000'000'000;
            },
            nullptr));
        EXPECT_EQ(n, h.records_count);
        auto v = validate_batches(b, no_limit);
        EXPECT_EQ(v.error, error_code::none) << v.message;
        EXPECT_EQ(v.min_timestamp, 1'700'000'000'000);

        // Stamping again with the same time changes nothing.
        auto again = b;
        stamp_log_append_time(again, 1'700'000'000'000);
        EXPECT_EQ(again, b);
        // A partial batch is left alone.
        std::vector<uint8_t> part(b.begin(), b.end() - 1);
        auto copy = part;
        stamp_log_append_time(part, 5);
        EXPECT_EQ(part, copy);
    }
}

TEST(Errors, KafkaNames) {
    EXPECT_EQ(error_name(error_code::none), "NONE");
    EXPECT_EQ(error_name(error_code::unknown_server_error), "UNKNOWN_SERVER_ERROR");
    EXPECT_EQ(error_name(error_code::corrupt_message), "CORRUPT_MESSAGE");
    EXPECT_EQ(error_name(error_code::invalid_record), "INVALID_RECORD");
    EXPECT_EQ(error_name(error_code::message_too_large), "MESSAGE_TOO_LARGE");
    EXPECT_EQ(error_name(error_code::unknown_topic_or_partition), "UNKNOWN_TOPIC_OR_PARTITION");
    EXPECT_EQ(error_name(error_code::voter_not_found), "VOTER_NOT_FOUND");
    EXPECT_EQ(error_name(static_cast<error_code>(30000)), "UNKNOWN");
}

}  // namespace
}  // namespace runnel::protocol
