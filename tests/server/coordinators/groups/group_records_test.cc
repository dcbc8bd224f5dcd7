// __consumer_offsets records: Kafka's byte layout, every key/value version round-trips through
// encode_record / decode_record, tombstones, and records of other types.
#define RUNNEL_PROTOCOL_SAMPLES
#include "server/coordinators/groups/group_records.h"

#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "server/coordinators/groups/classic_group.h"

namespace runnel::server::groups {
namespace {

namespace msg = protocol::msg;

std::span<const uint8_t> bytes_of(const std::optional<std::string>& s) {
    return {reinterpret_cast<const uint8_t*>(s->data()), s->size()};
}

group_record round_trip(const group_record& r) {
    auto in = encode_record(r, 123);
    std::optional<std::span<const uint8_t>> value;
    if (in.value) value = bytes_of(in.value);
    auto d = decode_record(bytes_of(in.key), value);
    EXPECT_TRUE(d.problem.empty()) << d.problem;
    EXPECT_TRUE(d.record.has_value());
    return d.record ? *d.record : r;
}

TEST(group_records, offset_commit_bytes_are_kafkas) {
    offset_entry e;
    e.offset = 42;
    e.leader_epoch = 7;
    e.metadata = "m";
    e.commit_timestamp = 1000;
    auto in = encode_record(offset_commit("g", "t", 3, e), 5);
    // Key: version 1, group "g", topic "t", partition 3.
    const std::string key("\x00\x01\x00\x01g\x00\x01t\x00\x00\x00\x03", 12);
    EXPECT_EQ(*in.key, key);
    // Value v3: offset, leader epoch, metadata, commit timestamp.
    protocol::writer w;
    w.write_int16(3);
    w.write_int64(42);
    w.write_int32(7);
    w.write_string("m", false);
    w.write_int64(1000);
    auto expected = w.flatten();
    EXPECT_EQ(*in.value, std::string(expected.begin(), expected.end()));
    EXPECT_EQ(in.timestamp, 5);
}

TEST(group_records, offset_commit_with_expire_timestamp_is_value_v1) {
    offset_entry e;
    e.offset = 1;
    e.commit_timestamp = 10;
    e.expire_timestamp = 20;
    auto r = offset_commit("g", "t", 0, e);
    EXPECT_EQ(std::get<offset_commit_record>(r).value_version, 1);
    auto back = std::get<offset_commit_record>(round_trip(r));
    EXPECT_EQ(to_offset_entry(*back.value), e);
}

TEST(group_records, group_metadata_key_is_version_2) {
    auto in = encode_record(group_tombstone("grp"), 0);
    EXPECT_EQ(*in.key, std::string("\x00\x02\x00\x03grp", 7));
    EXPECT_FALSE(in.value.has_value());
    auto d = decode_record(bytes_of(in.key), std::nullopt);
    ASSERT_TRUE(d.record);
    const auto& gm = std::get<group_metadata_record>(*d.record);
    EXPECT_EQ(gm.key.group, "grp");
    EXPECT_FALSE(gm.value);
}

TEST(group_records, offset_tombstone_round_trips) {
    auto back = std::get<offset_commit_record>(round_trip(offset_tombstone("g", "t", 9)));
    EXPECT_EQ(back.key.group, "g");
    EXPECT_EQ(back.key.topic, "t");
    EXPECT_EQ(back.key.partition, 9);
    EXPECT_FALSE(back.value);
}

TEST(group_records, every_offset_commit_version_round_trips) {
    for (int16_t kv = 0; kv <= 1; ++kv) {
        for (int16_t vv = 0; vv <= 4; ++vv) {
            offset_commit_record r;
            int seed = 1 + vv;
            msg::samples::fill_sample(r.key, kv, seed);
            msg::offset_commit_value v;
            msg::samples::fill_sample(v, vv, seed);
            r.value = v;
            r.key_version = kv;
            r.value_version = vv;
            auto back = std::get<offset_commit_record>(round_trip(r));
            EXPECT_EQ(back.key_version, kv);
            EXPECT_EQ(back.value_version, vv);
            EXPECT_TRUE(back.key == r.key) << "key v" << kv;
            EXPECT_TRUE(*back.value == *r.value) << "value v" << vv;
        }
    }
}

TEST(group_records, every_group_metadata_version_round_trips) {
    for (int16_t vv = 0; vv <= 4; ++vv) {
        group_metadata_record r;
        r.key.group = "group-" + std::to_string(vv);
        int seed = 3 + vv;
        msg::group_metadata_value v;
        msg::samples::fill_sample(v, vv, seed);
        r.value = v;
        r.value_version = vv;
        auto back = std::get<group_metadata_record>(round_trip(r));
        EXPECT_EQ(back.value_version, vv);
        EXPECT_EQ(back.key.group, r.key.group);
        EXPECT_TRUE(*back.value == *r.value) << "value v" << vv;
    }
}

TEST(group_records, group_metadata_written_as_v3_from_a_group) {
    classic_group g("grp", group_state::empty, 100);
    group_member m;
    m.id = "m1";
    m.instance_id = "i1";
    m.client_id = "c";
    m.client_host = "/h";
    m.rebalance_timeout_ms = 300;
    m.session_timeout_ms = 200;
    m.protocol_type = "consumer";
    m.protocols = {{"range", {1, 2}}, {"roundrobin", {3}}};
    g.add(std::move(m));
    g.transition_to(group_state::preparing_rebalance, 150);
    g.init_next_generation(160);
    auto r = std::get<group_metadata_record>(group_metadata(g, {{"m1", {9}}}));
    EXPECT_EQ(r.value_version, 3);
    const auto& v = *r.value;
    EXPECT_EQ(v.protocol_type, "consumer");
    EXPECT_EQ(v.generation, 1);
    EXPECT_EQ(v.protocol, "range");
    EXPECT_EQ(v.leader, "m1");
    EXPECT_EQ(v.current_state_timestamp, 160);
    ASSERT_EQ(v.members.size(), 1u);
    EXPECT_EQ(v.members[0].group_instance_id, "i1");
    EXPECT_EQ(v.members[0].subscription, (std::vector<uint8_t>{1, 2}));
    EXPECT_EQ(v.members[0].assignment, (std::vector<uint8_t>{9}));
    EXPECT_EQ(v.members[0].rebalance_timeout, 300);
    auto back = std::get<group_metadata_record>(round_trip(r));
    EXPECT_TRUE(*back.value == v);
}

// KIP-848 records (types 3-8 and 16) round-trip through their Kafka bytes; share and streams
// group records (other types) are skipped without a problem.
TEST(group_records, consumer_group_records_round_trip) {
    cgmsg::assignment a;
    a.member_epoch = 7;
    a.previous_member_epoch = 6;
    a.state = 1;
    auto& tp = a.assigned_partitions.emplace_back();
    tp.topic_id[15] = 9;
    tp.partitions = {0, 2};
    tp.assignment_epochs = std::vector<int32_t>{5, 7};
    std::vector<consumer_group_record> records = {
        {consumer_record_type::member_assignment, "g", "m1", a},
        {consumer_record_type::group_epoch, "g", "", cgmsg::epoch{}},
        {consumer_record_type::regex, "g", "orders-.*", std::nullopt},
    };
    for (const auto& r : records) {
        auto in = encode_record(r, 0);
        auto d = decode_record(bytes_of(in.key),
                               in.value ? std::optional(bytes_of(in.value)) : std::nullopt);
        ASSERT_TRUE(d.problem.empty()) << d.problem;
        ASSERT_TRUE(d.record);
        const auto& back = std::get<consumer_group_record>(*d.record);
        EXPECT_EQ(back.type, r.type);
        EXPECT_EQ(back.group_id, r.group_id);
        EXPECT_EQ(back.member_id, r.member_id);
        EXPECT_EQ(back.value, r.value);
    }
    // Kafka's key layout: [int16 type][string group][string member].
    auto in = encode_record(records[0], 0);
    EXPECT_EQ(*in.key, std::string("\x00\x08\x00\x01g\x00\x02m1", 9));

    const std::string share_key("\x00\x0b\x00\x01g", 5);  // type 11: a share group's
    auto d =
        decode_record(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(share_key.data()),
                                               share_key.size()),
                      std::nullopt);
    EXPECT_FALSE(d.record);
    EXPECT_TRUE(d.problem.empty());
}

TEST(group_records, malformed_records_are_reported) {
    const std::string truncated("\x00\x01\x00\x05gr", 6);
    auto d =
        decode_record(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(truncated.data()),
                                               truncated.size()),
                      std::nullopt);
    EXPECT_FALSE(d.record);
    EXPECT_FALSE(d.problem.empty());
    EXPECT_FALSE(decode_record(std::nullopt, std::nullopt).problem.empty());
    // An offset commit value of a version no Kafka writes.
    auto in = encode_record(offset_tombstone("g", "t", 0), 0);
    const std::string value("\x00\x09", 2);
    auto bad = decode_record(
        bytes_of(in.key),
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
    EXPECT_FALSE(bad.record);
    EXPECT_NE(bad.problem.find("version 9"), std::string::npos);
}

}  // namespace
}  // namespace runnel::server::groups
