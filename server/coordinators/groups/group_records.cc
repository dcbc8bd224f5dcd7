#include "server/coordinators/groups/group_records.h"

#include "protocol/codec.h"
#include "protocol/messages/consumer_group_current_member_assignment_key.h"
#include "protocol/messages/consumer_group_member_metadata_key.h"
#include "protocol/messages/consumer_group_metadata_key.h"
#include "protocol/messages/consumer_group_partition_metadata_key.h"
#include "protocol/messages/consumer_group_regular_expression_key.h"
#include "protocol/messages/consumer_group_target_assignment_member_key.h"
#include "protocol/messages/consumer_group_target_assignment_metadata_key.h"
#include "server/coordinators/groups/classic_group.h"

namespace runnel::server::groups {

namespace msg = protocol::msg;

namespace {

template <class T>
std::string versioned_bytes(int16_t version, const T& body) {
    protocol::writer w;
    w.write_int16(version);
    body.encode(w, version);
    auto bytes = w.flatten();
    return std::string(bytes.begin(), bytes.end());
}

// Decodes [int16 version][T] accepting versions [lo, hi]; trailing bytes are ignored, as in Kafka.
template <class T>
std::optional<T> decode_versioned(std::span<const uint8_t> bytes, int16_t lo, int16_t hi,
                                  int16_t& version, std::string& problem, const char* what) {
    protocol::reader r(bytes);
    version = r.read_int16();
    if (!r.ok()) {
        problem = std::string("cannot read the version of a ") + what;
        return std::nullopt;
    }
    if (version < lo || version > hi) {
        problem = std::string("unsupported ") + what + " version " + std::to_string(version);
        return std::nullopt;
    }
    T out;
    out.decode(r, version);
    if (!r.ok()) {
        problem = std::string("truncated ") + what + " at version " + std::to_string(version);
        return std::nullopt;
    }
    return out;
}

bool is_consumer_record_type(int16_t type) { return (type >= 3 && type <= 8) || type == 16; }

// [int16 type][key at version 0]: the group id, and the member id or regex of the keyed types.
template <class Key>
std::string typed_key_bytes(consumer_record_type type, const consumer_group_record& r) {
    Key k;
    k.group_id = r.group_id;
    if constexpr (requires { k.member_id; }) k.member_id = r.member_id;
    if constexpr (requires { k.regular_expression; }) k.regular_expression = r.member_id;
    protocol::writer w;
    w.write_int16(static_cast<int16_t>(type));
    k.encode(w, 0);
    auto bytes = w.flatten();
    return std::string(bytes.begin(), bytes.end());
}

std::string consumer_record_key(const consumer_group_record& r) {
    using t = consumer_record_type;
    switch (r.type) {
        case t::group_epoch:
            return typed_key_bytes<msg::consumer_group_metadata_key>(r.type, r);
        case t::subscribed_topics:
            return typed_key_bytes<msg::consumer_group_partition_metadata_key>(r.type, r);
        case t::target_epoch:
            return typed_key_bytes<msg::consumer_group_target_assignment_metadata_key>(r.type, r);
        case t::member_subscription:
            return typed_key_bytes<msg::consumer_group_member_metadata_key>(r.type, r);
        case t::member_target:
            return typed_key_bytes<msg::consumer_group_target_assignment_member_key>(r.type, r);
        case t::member_assignment:
            return typed_key_bytes<msg::consumer_group_current_member_assignment_key>(r.type, r);
        case t::regex:
            return typed_key_bytes<msg::consumer_group_regular_expression_key>(r.type, r);
    }
    return {};
}

// The key after its int16 record type, at version 0.
template <class Key>
bool decode_key(std::span<const uint8_t> bytes, Key& key, std::string& problem) {
    protocol::reader r(bytes.subspan(2));
    key.decode(r, 0);
    if (!r.ok()) problem = "truncated consumer group key";
    return r.ok();
}

template <class Value>
bool decode_value(std::optional<std::span<const uint8_t>> bytes, consumer_group_record& out,
                  std::string& problem) {
    if (!bytes) return true;  // a tombstone
    int16_t version = 0;
    auto v = decode_versioned<Value>(*bytes, 0, 0, version, problem, "consumer group value");
    if (!v) return false;
    out.value = std::move(*v);
    return true;
}

// The key (group id, and the member id or regex of the keyed types, as typed_key_bytes writes
// them) and the value of one record type.
template <class Key, class Value>
bool decode_typed(std::span<const uint8_t> key, std::optional<std::span<const uint8_t>> value,
                  consumer_group_record& out, std::string& problem) {
    Key k;
    if (!decode_key(key, k, problem)) return false;
    out.group_id = std::move(k.group_id);
    if constexpr (requires { k.member_id; }) out.member_id = std::move(k.member_id);
    if constexpr (requires { k.regular_expression; }) {
        out.member_id = std::move(k.regular_expression);
    }
    return decode_value<Value>(value, out, problem);
}

bool decode_consumer_record(int16_t type, std::span<const uint8_t> key,
                            std::optional<std::span<const uint8_t>> value,
                            consumer_group_record& out, std::string& problem) {
    using t = consumer_record_type;
    out.type = static_cast<t>(type);
    switch (out.type) {
        case t::group_epoch:
            return decode_typed<msg::consumer_group_metadata_key, cgmsg::epoch>(key, value, out,
                                                                                problem);
        case t::subscribed_topics:
            return decode_typed<msg::consumer_group_partition_metadata_key, cgmsg::topics>(
                key, value, out, problem);
        case t::target_epoch:
            return decode_typed<msg::consumer_group_target_assignment_metadata_key,
                                cgmsg::target_epoch>(key, value, out, problem);
        case t::member_subscription:
            return decode_typed<msg::consumer_group_member_metadata_key, cgmsg::subscription>(
                key, value, out, problem);
        case t::member_target:
            return decode_typed<msg::consumer_group_target_assignment_member_key, cgmsg::target>(
                key, value, out, problem);
        case t::member_assignment:
            return decode_typed<msg::consumer_group_current_member_assignment_key,
                                cgmsg::assignment>(key, value, out, problem);
        case t::regex:
            return decode_typed<msg::consumer_group_regular_expression_key, cgmsg::regex>(
                key, value, out, problem);
    }
    return false;
}

}  // namespace

protocol::record_input encode_record(const group_record& r, int64_t timestamp_ms) {
    protocol::record_input in;
    in.timestamp = timestamp_ms;
    if (const auto* oc = std::get_if<offset_commit_record>(&r)) {
        in.key = versioned_bytes(oc->key_version, oc->key);
        if (oc->value) in.value = versioned_bytes(oc->value_version, *oc->value);
    } else if (const auto* gm = std::get_if<group_metadata_record>(&r)) {
        in.key = versioned_bytes(int16_t{2}, gm->key);
        if (gm->value) in.value = versioned_bytes(gm->value_version, *gm->value);
    } else {
        const auto& cg = std::get<consumer_group_record>(r);
        in.key = consumer_record_key(cg);
        if (cg.value) {
            in.value =
                std::visit([](const auto& v) { return versioned_bytes(int16_t{0}, v); }, *cg.value);
        }
    }
    return in;
}

decoded_record decode_record(std::optional<std::span<const uint8_t>> key,
                             std::optional<std::span<const uint8_t>> value) {
    decoded_record out;
    if (!key || key->size() < 2) {
        out.problem = "a record without a versioned key";
        return out;
    }
    const int16_t type = static_cast<int16_t>((key->data()[0] << 8) | key->data()[1]);
    int16_t key_version = 0, value_version = 0;
    if (type == 0 || type == 1) {
        offset_commit_record rec;
        auto k = decode_versioned<msg::offset_commit_key>(*key, 0, 1, key_version, out.problem,
                                                          "offset commit key");
        if (!k) return out;
        rec.key = std::move(*k);
        rec.key_version = key_version;
        if (value) {
            auto v = decode_versioned<msg::offset_commit_value>(*value, 0, 4, value_version,
                                                                out.problem, "offset commit value");
            if (!v) return out;
            rec.value = std::move(*v);
            rec.value_version = value_version;
        }
        out.record = std::move(rec);
    } else if (type == 2) {
        group_metadata_record rec;
        auto k = decode_versioned<msg::group_metadata_key>(*key, 2, 2, key_version, out.problem,
                                                           "group metadata key");
        if (!k) return out;
        rec.key = std::move(*k);
        if (value) {
            auto v = decode_versioned<msg::group_metadata_value>(
                *value, 0, 4, value_version, out.problem, "group metadata value");
            if (!v) return out;
            rec.value = std::move(*v);
            rec.value_version = value_version;
        }
        out.record = std::move(rec);
    } else if (is_consumer_record_type(type)) {
        consumer_group_record rec;
        if (decode_consumer_record(type, *key, value, rec, out.problem))
            out.record = std::move(rec);
    } else if (type < 0) {
        out.problem = "record type " + std::to_string(type);
    }
    // Other types are share and streams groups: not handled here.
    return out;
}

group_record offset_commit(const std::string& group, const std::string& topic, int32_t partition,
                           const offset_entry& e) {
    offset_commit_record r;
    r.key.group = group;
    r.key.topic = topic;
    r.key.partition = partition;
    msg::offset_commit_value v;
    v.offset = e.offset;
    v.leader_epoch = e.leader_epoch;
    v.metadata = e.metadata;
    v.commit_timestamp = e.commit_timestamp;
    v.expire_timestamp = e.expire_timestamp.value_or(-1);
    r.value = std::move(v);
    // Version 1 is the one carrying an expire timestamp.
    r.value_version = e.expire_timestamp ? 1 : 3;
    return r;
}

group_record offset_tombstone(const std::string& group, const std::string& topic,
                              int32_t partition) {
    offset_commit_record r;
    r.key.group = group;
    r.key.topic = topic;
    r.key.partition = partition;
    return r;
}

group_record group_metadata(const classic_group& g,
                            const std::map<std::string, std::vector<uint8_t>>& assignment) {
    group_metadata_record r;
    r.key.group = g.id();
    msg::group_metadata_value v;
    v.protocol_type = g.protocol_type().value_or("");
    v.generation = g.generation();
    v.protocol = g.protocol_name();
    v.leader = g.leader();
    v.current_state_timestamp = g.state_timestamp().value_or(-1);
    for (const auto& [id, m] : g.members()) {
        auto& mm = v.members.emplace_back();
        mm.member_id = id;
        mm.group_instance_id = m.instance_id;
        mm.client_id = m.client_id;
        mm.client_host = m.client_host;
        mm.rebalance_timeout = m.rebalance_timeout_ms;
        mm.session_timeout = m.session_timeout_ms;
        if (g.protocol_name()) {
            if (const auto* md = m.metadata(*g.protocol_name())) mm.subscription = *md;
        }
        if (auto it = assignment.find(id); it != assignment.end()) mm.assignment = it->second;
    }
    r.value = std::move(v);
    return r;
}

group_record empty_group_metadata(const classic_group& g) {
    group_metadata_record r;
    r.key.group = g.id();
    msg::group_metadata_value v;
    v.protocol_type = "";
    v.generation = 0;
    v.protocol = std::nullopt;
    v.leader = std::nullopt;
    v.current_state_timestamp = g.state_timestamp().value_or(-1);
    r.value = std::move(v);
    return r;
}

group_record group_tombstone(const std::string& group) {
    group_metadata_record r;
    r.key.group = group;
    return r;
}

offset_entry to_offset_entry(const msg::offset_commit_value& v) {
    offset_entry e;
    e.offset = v.offset;
    e.leader_epoch = v.leader_epoch;
    e.metadata = v.metadata;
    e.commit_timestamp = v.commit_timestamp;
    if (v.expire_timestamp != -1) e.expire_timestamp = v.expire_timestamp;
    return e;
}

}  // namespace runnel::server::groups
