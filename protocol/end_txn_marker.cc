#include "protocol/end_txn_marker.h"

#include "protocol/record_batch.h"
#include "protocol/record_batch_header.h"

#include <string>

namespace runnel::protocol {

namespace {

namespace bl = batch_layout;

constexpr int16_t key_version = 0;
constexpr int16_t value_version = 0;
constexpr size_t key_size = 4;
constexpr size_t value_size = 6;

std::string big_endian(std::initializer_list<std::pair<int64_t, int>> fields) {
    std::string out;
    for (auto [v, bytes] : fields) {
        for (int i = bytes - 1; i >= 0; --i)
            out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    }
    return out;
}

}  // namespace

std::vector<uint8_t> build_end_txn_marker_batch(const marker_batch_options& options,
                                                const end_txn_marker& marker) {
    batch_options o;
    o.producer_id = options.producer_id;
    o.producer_epoch = options.producer_epoch;
    o.base_sequence = -1;
    o.transactional = true;
    o.control = true;
    o.partition_leader_epoch = options.partition_leader_epoch;
    record_input r;
    r.timestamp = options.timestamp;
    r.key = big_endian({{key_version, 2}, {static_cast<int16_t>(marker.result), 2}});
    r.value = big_endian({{value_version, 2}, {marker.coordinator_epoch, 4}});
    return build_batch(o, {r});
}

std::optional<end_txn_marker> parse_end_txn_marker(std::span<const uint8_t> batch) {
    auto h = parse_batch_header(batch);
    if (!h || !h->is_control() || h->records_count < 1) return std::nullopt;
    std::optional<end_txn_marker> out;
    bool ok = for_each_record(
        batch,
        [&](const record& r) {
            if (!r.key || r.key->size() < key_size || !r.value || r.value->size() < value_size)
                return false;
            const uint8_t* k = r.key->data();
            const uint8_t* v = r.value->data();
            int16_t type = bl::load_i16(k + 2);
            if (bl::load_i16(k) < 0 || bl::load_i16(v) < 0) return false;
            if (type != static_cast<int16_t>(txn_result::abort) &&
                type != static_cast<int16_t>(txn_result::commit))
                return false;
            out = end_txn_marker{static_cast<txn_result>(type), bl::load_i32(v + 2)};
            return false;  // only the first record counts
        },
        nullptr);
    if (!ok) return std::nullopt;
    return out;
}

}  // namespace runnel::protocol
