#include "server/coordinators/transactions/transaction_log_records.h"

#include <map>

#include "protocol/codec.h"
#include "protocol/messages/transaction_log_key.h"
#include "protocol/messages/transaction_log_value.h"

namespace runnel::server::transactions {

namespace {

constexpr int16_t key_version = 0;
constexpr int16_t value_version = 0;

}  // namespace

std::vector<uint8_t> encode_key(const std::string& transactional_id) {
    protocol::writer w;
    w.write_int16(key_version);
    protocol::msg::transaction_log_key k;
    k.transactional_id = transactional_id;
    k.encode(w, key_version);
    return w.flatten();
}

std::optional<std::vector<uint8_t>> encode_value(const transaction_metadata& m) {
    if (m.status == txn_status::dead) return std::nullopt;
    protocol::msg::transaction_log_value v;
    v.producer_id = m.producer_id;
    v.producer_epoch = m.producer_epoch;
    v.transaction_timeout_ms = m.timeout_ms;
    v.transaction_status = static_cast<int8_t>(m.status);
    // Kafka keeps the partition list only while a transaction is under way.
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& tp : m.partitions) by_topic[tp.topic].push_back(tp.partition);
    v.transaction_partitions.emplace();
    for (auto& [topic, ids] : by_topic) {
        auto& p = v.transaction_partitions->emplace_back();
        p.topic = topic;
        p.partition_ids = std::move(ids);
    }
    v.transaction_last_update_timestamp_ms = m.last_update_ms;
    v.transaction_start_timestamp_ms = m.start_ms;
    protocol::writer w;
    w.write_int16(value_version);
    v.encode(w, value_version);
    return w.flatten();
}

std::optional<decoded_record> decode_record(std::span<const uint8_t> key,
                                            std::optional<std::span<const uint8_t>> value) {
    protocol::reader kr(key.data(), key.size());
    if (kr.read_int16() != key_version) return std::nullopt;
    protocol::msg::transaction_log_key k;
    k.decode(kr, key_version);
    if (!kr.ok() || kr.remaining() != 0) return std::nullopt;
    decoded_record out;
    out.transactional_id = k.transactional_id;
    if (!value) return out;

    protocol::reader vr(value->data(), value->size());
    const int16_t version = vr.read_int16();
    if (!vr.ok() || version < 0 || version > 1) return std::nullopt;
    protocol::msg::transaction_log_value v;
    v.decode(vr, version);
    if (!vr.ok() || vr.remaining() != 0) return std::nullopt;
    if (v.transaction_status < 0 || v.transaction_status > 7) return std::nullopt;
    transaction_metadata m;
    m.transactional_id = k.transactional_id;
    m.producer_id = v.producer_id;
    m.previous_producer_id = v.previous_producer_id;
    m.producer_epoch = v.producer_epoch;
    m.timeout_ms = v.transaction_timeout_ms;
    m.status = static_cast<txn_status>(v.transaction_status);
    if (v.transaction_partitions) {
        for (const auto& p : *v.transaction_partitions) {
            for (int32_t id : p.partition_ids) m.partitions.insert({p.topic, id});
        }
    }
    m.last_update_ms = v.transaction_last_update_timestamp_ms;
    m.start_ms = v.transaction_start_timestamp_ms;
    out.metadata = std::move(m);
    return out;
}

}  // namespace runnel::server::transactions
