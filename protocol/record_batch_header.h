// Byte layout of a record batch (magic v2), the unit Runnel stores and serves unchanged.
//
//   0 base_offset int64          | not covered by the CRC
//   8 batch_length int32         | (bytes after this field)
//  12 partition_leader_epoch int32
//  16 magic int8 (= 2)
//  17 crc uint32                 CRC-32C of bytes 21 .. end
//  21 attributes int16           bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
//  23 last_offset_delta int32
//  27 base_timestamp int64
//  35 max_timestamp int64
//  43 producer_id int64
//  51 producer_epoch int16
//  53 base_sequence int32
//  57 records_count int32
//  61 records...
#pragma once

#include <cstdint>
#include <cstring>

namespace runnel::protocol::batch_layout {

inline constexpr size_t base_offset = 0;
inline constexpr size_t batch_length = 8;
inline constexpr size_t partition_leader_epoch = 12;
inline constexpr size_t magic = 16;
inline constexpr size_t crc = 17;
inline constexpr size_t attributes = 21;
inline constexpr size_t last_offset_delta = 23;
inline constexpr size_t base_timestamp = 27;
inline constexpr size_t max_timestamp = 35;
inline constexpr size_t producer_id = 43;
inline constexpr size_t producer_epoch = 51;
inline constexpr size_t base_sequence = 53;
inline constexpr size_t records_count = 57;
inline constexpr size_t header_size = 61;
// Bytes before batch_length's payload starts: base_offset + batch_length.
inline constexpr size_t log_overhead = 12;

inline constexpr int16_t compression_mask = 0x07;
inline constexpr int16_t timestamp_type_bit = 0x08;  // 1 = LogAppendTime
inline constexpr int16_t transactional_bit = 0x10;
inline constexpr int16_t control_bit = 0x20;

inline int64_t load_i64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return static_cast<int64_t>(__builtin_bswap64(v));
}
inline int32_t load_i32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return static_cast<int32_t>(__builtin_bswap32(v));
}
inline int16_t load_i16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return static_cast<int16_t>(__builtin_bswap16(v));
}
inline void store_i64(uint8_t* p, int64_t v) {
    uint64_t b = __builtin_bswap64(static_cast<uint64_t>(v));
    std::memcpy(p, &b, 8);
}
inline void store_i32(uint8_t* p, int32_t v) {
    uint32_t b = __builtin_bswap32(static_cast<uint32_t>(v));
    std::memcpy(p, &b, 4);
}
inline void store_i16(uint8_t* p, int16_t v) {
    uint16_t b = __builtin_bswap16(static_cast<uint16_t>(v));
    std::memcpy(p, &b, 2);
}

}  // namespace runnel::protocol::batch_layout
