// Committed offsets, DeleteGroups, OffsetDelete, expiry, ListGroups / DescribeGroups, and the
// persistence round trip: what the coordinator writes, a new coordinator replays identically.
#include <gtest/gtest.h>

#include "group_test_util.h"

namespace runnel::server::groups::test {
namespace {

using protocol::to_wire;

int16_t w(error_code e) { return to_wire(e); }

int16_t only_error(const msg::offset_commit_response& r) {
    return r.topics.at(0).partitions.at(0).error_code;
}

TEST(group_offsets, member_commits_and_fetches) {
    harness h;
    auto id = one_member_group(h, "g");
    auto r = h.commit("g", id, 1, {{"t", 0, 10}, {"t", 1, 20}, {"u", 0, 5}});
    for (const auto& t : r.topics) {
        for (const auto& p : t.partitions) EXPECT_EQ(p.error_code, 0);
    }
    fetch_topics ask = std::vector<
        msg::offset_fetch_request::offset_fetch_request_group::offset_fetch_request_topics>{
        {"t", {0, 1, 2}, {}}};
    auto f = h.coordinator->fetch_offsets(partition0, "g", ask);
    ASSERT_EQ(f.topics.size(), 1u);
    ASSERT_EQ(f.topics[0].partitions.size(), 3u);
    EXPECT_EQ(f.topics[0].partitions[0].committed_offset, 10);
    EXPECT_EQ(f.topics[0].partitions[0].metadata, "meta");
    EXPECT_EQ(f.topics[0].partitions[1].committed_offset, 20);
    EXPECT_EQ(f.topics[0].partitions[2].committed_offset, -1);  // never committed
    EXPECT_EQ(f.topics[0].partitions[2].metadata, "");
    auto all = h.coordinator->fetch_offsets(partition0, "g", std::nullopt);
    ASSERT_EQ(all.topics.size(), 2u);
    EXPECT_EQ(all.topics[0].name, "t");
    EXPECT_EQ(all.topics[1].name, "u");
    EXPECT_EQ(all.topics[1].partitions[0].committed_offset, 5);
    auto none = h.coordinator->fetch_offsets(partition0, "unknown", ask);
    EXPECT_EQ(none.error_code, 0);
    EXPECT_EQ(none.topics[0].partitions[0].committed_offset, -1);
    EXPECT_TRUE(h.coordinator->fetch_offsets(partition0, "unknown", std::nullopt).topics.empty());
}

TEST(group_offsets, commit_errors) {
    harness h;
    auto id = one_member_group(h, "g");
    EXPECT_EQ(only_error(h.commit("g", id, 7, {{"t", 0, 1}})), w(error_code::illegal_generation));
    EXPECT_EQ(only_error(h.commit("g", "who", 1, {{"t", 0, 1}})), w(error_code::unknown_member_id));
    // A simple consumer (generation -1, no member id) may not commit while members exist.
    EXPECT_EQ(only_error(h.commit("g", "", -1, {{"t", 0, 1}})), w(error_code::unknown_member_id));
    // Unknown group with a generation: v9 says GROUP_ID_NOT_FOUND, older versions
    // ILLEGAL_GENERATION.
    EXPECT_EQ(only_error(h.commit("nope", "m", 3, {{"t", 0, 1}}, 9)),
              w(error_code::group_id_not_found));
    EXPECT_EQ(only_error(h.commit("nope", "m", 3, {{"t", 0, 1}}, 8)),
              w(error_code::illegal_generation));

    msg::offset_commit_request big;
    big.group_id = "g";
    big.member_id = id;
    big.generation_id_or_member_epoch = 1;
    big.topics.push_back(
        {"t",
         {{0, 1, -1, -1, std::string(4097, 'x'), {}}, {1, 2, -1, -1, std::string(4096, 'x'), {}}},
         {}});
    auto r = h.coordinator->commit_offsets(partition0, big, 9);
    EXPECT_EQ(r.topics[0].partitions[0].error_code, w(error_code::offset_metadata_too_large));
    EXPECT_EQ(r.topics[0].partitions[1].error_code, 0);
    EXPECT_EQ(h.committed("g", "t", 0), -1);
    EXPECT_EQ(h.committed("g", "t", 1), 2);
}

TEST(group_offsets, commit_during_rebalance) {
    harness h;
    auto id = one_member_group(h, "g");
    auto j2 = h.join_new("g", range_protocol());  // PreparingRebalance
    // Kafka accepts commits of the current generation while the group prepares a rebalance...
    EXPECT_EQ(only_error(h.commit("g", id, 1, {{"t", 0, 3}})), 0);
    auto j1 = h.join("g", id, range_protocol());  // ...but not once it awaits SyncGroup.
    ASSERT_TRUE(j1->done());
    EXPECT_EQ(only_error(h.commit("g", id, 2, {{"t", 0, 4}})),
              w(error_code::rebalance_in_progress));
    (void)j2;
}

TEST(group_offsets, simple_consumer_commits_without_membership) {
    harness h;
    EXPECT_EQ(only_error(h.commit("solo", "", -1, {{"t", 0, 42}})), 0);
    EXPECT_EQ(h.committed("solo", "t", 0), 42);
    auto* g = h.group("solo");
    ASSERT_NE(g, nullptr);
    EXPECT_TRUE(g->is_simple());
    EXPECT_EQ(g->state(), group_state::empty);
}

TEST(group_offsets, failed_append_is_reported_and_not_applied) {
    harness h;
    h.fail_appends = true;
    EXPECT_EQ(only_error(h.commit("solo", "", -1, {{"t", 0, 42}})), w(error_code::not_coordinator));
    EXPECT_EQ(h.committed("solo", "t", 0), -1);
}

TEST(group_offsets, delete_groups) {
    harness h;
    auto id = one_member_group(h, "busy");
    EXPECT_EQ(h.coordinator->delete_group(partition0, "busy"), error_code::non_empty_group);
    EXPECT_EQ(h.coordinator->delete_group(partition0, "nope"), error_code::group_id_not_found);
    h.commit("idle", "", -1, {{"t", 0, 1}, {"t", 1, 2}});
    EXPECT_EQ(h.coordinator->delete_group(partition0, "idle"), error_code::none);
    EXPECT_EQ(h.group("idle"), nullptr);
    EXPECT_EQ(h.committed("idle", "t", 0), -1);
    // Two offset tombstones and a group tombstone went to the log.
    auto recs = h.records();
    int tombstones = 0;
    for (const auto& r : recs) {
        if (auto* oc = std::get_if<offset_commit_record>(&r); oc && oc->key.group == "idle") {
            tombstones += oc->value ? 0 : 1;
        }
    }
    EXPECT_EQ(tombstones, 2);
    const auto& last = std::get<group_metadata_record>(recs.back());
    EXPECT_EQ(last.key.group, "idle");
    EXPECT_FALSE(last.value);
    (void)id;
}

TEST(group_offsets, offset_delete) {
    harness h;
    auto id = one_member_group(h, "g", {"t"});
    h.commit("g", id, 1, {{"t", 0, 1}, {"old", 0, 2}});
    msg::offset_delete_request req;
    req.group_id = "g";
    req.topics.push_back({"t", {{0, {}}}, {}});
    req.topics.push_back({"old", {{0, {}}}, {}});
    auto r = h.coordinator->delete_offsets(partition0, req);
    EXPECT_EQ(r.error_code, 0);
    EXPECT_EQ(r.topics[0].partitions[0].error_code, w(error_code::group_subscribed_to_topic));
    EXPECT_EQ(r.topics[1].partitions[0].error_code, 0);
    EXPECT_EQ(h.committed("g", "t", 0), 1);
    EXPECT_EQ(h.committed("g", "old", 0), -1);
    req.group_id = "nope";
    EXPECT_EQ(h.coordinator->delete_offsets(partition0, req).error_code,
              w(error_code::group_id_not_found));

    // A non-consumer group with members: NON_EMPTY_GROUP.
    join_params p;
    p.group_id = "connect-cluster";
    p.member_id = "";
    p.protocol_type = "connect";
    p.protocols = {{"default", {0}}};
    p.session_timeout_ms = 10000;
    p.rebalance_timeout_ms = 10000;
    p.api_version = 3;
    h.coordinator->join(partition0, p, [](join_response) {});
    h.timers.advance(0);
    req.group_id = "connect-cluster";
    EXPECT_EQ(h.coordinator->delete_offsets(partition0, req).error_code,
              w(error_code::non_empty_group));
}

TEST(group_offsets, expiry_of_empty_groups_and_simple_consumers) {
    auto config = harness::defaults();
    config.offsets_retention_ms = 60'000;
    config.retention_check_interval_ms = 10'000;
    harness h(config);
    auto id = one_member_group(h, "g");
    h.commit("g", id, 1, {{"t", 0, 9}});
    h.commit("solo", "", -1, {{"t", 0, 1}});
    // While the member is active the subscribed topic's offset is kept.
    for (int i = 0; i < 10; ++i) {
        h.timers.advance(9000);
        h.heartbeat("g", id, 1);
    }
    EXPECT_EQ(h.committed("g", "t", 0), 9);
    EXPECT_EQ(h.committed("solo", "t", 0), -1);  // 60 s after its commit
    EXPECT_EQ(h.group("solo"), nullptr);         // and the simple group went with it
    // The member leaves: retention counts from when the group became empty.
    msg::leave_group_request leave;
    leave.group_id = "g";
    leave.members.push_back({id, std::nullopt, std::nullopt, {}});
    h.coordinator->leave(partition0, leave);
    ASSERT_EQ(h.group("g")->state(), group_state::empty);
    h.timers.advance(50'000);
    EXPECT_EQ(h.committed("g", "t", 0), 9);
    h.timers.advance(20'000);
    EXPECT_EQ(h.committed("g", "t", 0), -1);
    EXPECT_EQ(h.group("g"), nullptr);
}

TEST(group_offsets, stable_group_expires_offsets_of_topics_it_no_longer_reads) {
    auto config = harness::defaults();
    config.offsets_retention_ms = 60'000;
    config.retention_check_interval_ms = 10'000;
    harness h(config);
    auto id = one_member_group(h, "g", {"t"});
    h.commit("g", id, 1, {{"t", 0, 1}, {"gone", 0, 2}});
    for (int i = 0; i < 8; ++i) {
        h.timers.advance(9000);
        h.heartbeat("g", id, 1);
    }
    EXPECT_EQ(h.committed("g", "t", 0), 1);
    EXPECT_EQ(h.committed("g", "gone", 0), -1);
    EXPECT_NE(h.group("g"), nullptr);
}

TEST(group_offsets, list_and_describe) {
    harness h;
    auto id = one_member_group(h, "g");
    h.commit("solo", "", -1, {{"t", 0, 1}});
    auto all = h.coordinator->list_groups({}, {});
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].group_id, "g");
    EXPECT_EQ(all[0].protocol_type, "consumer");
    EXPECT_EQ(all[0].group_state, "Stable");
    EXPECT_EQ(all[0].group_type, "classic");
    EXPECT_EQ(all[1].protocol_type, "");
    EXPECT_EQ(h.coordinator->list_groups({"stable"}, {}).size(), 1u);
    EXPECT_EQ(h.coordinator->list_groups({"empty"}, {}).at(0).group_id, "solo");
    EXPECT_EQ(h.coordinator->list_groups({}, {"consumer"}).size(), 0u);
    EXPECT_EQ(h.coordinator->list_groups({}, {"classic"}).size(), 2u);

    auto d = h.coordinator->describe_group(partition0, "g");
    EXPECT_EQ(d.error_code, 0);
    EXPECT_EQ(d.group_state, "Stable");
    EXPECT_EQ(d.protocol_type, "consumer");
    EXPECT_EQ(d.protocol_data, "range");
    ASSERT_EQ(d.members.size(), 1u);
    EXPECT_EQ(d.members[0].member_id, id);
    EXPECT_EQ(d.members[0].client_id, "client");
    EXPECT_EQ(d.members[0].client_host, "/127.0.0.1");
    EXPECT_EQ(d.members[0].member_metadata, subscription({"t"}));
    EXPECT_EQ(d.members[0].member_assignment, (std::vector<uint8_t>{1}));
    auto dead = h.coordinator->describe_group(partition0, "nobody");
    EXPECT_EQ(dead.error_code, 0);
    EXPECT_EQ(dead.group_state, "Dead");
    EXPECT_TRUE(dead.members.empty());
}

TEST(group_offsets, persistence_round_trip) {
    harness h;
    // A stable group of two, a static member, offsets, a deleted group and a deleted offset.
    auto j1 = h.join_new("g", range_protocol());
    auto j2 = h.join("g", "", range_protocol(), 5, "static-1");
    h.timers.advance(0);
    const std::string leader = j1->r->leader;
    const std::string m1 = j1->r->member_id, m2 = j2->r->member_id;
    h.sync("g", leader, 1, {{m1, {1, 1}}, {m2, {2, 2}}});
    h.sync("g", m2, 1, {}, "static-1");
    h.commit("g", m1, 1, {{"t", 0, 100}, {"t", 1, 200}});
    h.commit("g", m1, 1, {{"t", 0, 150}});  // the last commit of a key wins
    h.commit("solo", "", -1, {{"t", 3, 7}});
    h.commit("doomed", "", -1, {{"t", 0, 1}});
    ASSERT_EQ(h.coordinator->delete_group(partition0, "doomed"), error_code::none);
    h.commit("g", m1, 1, {{"x", 0, 5}});
    msg::offset_delete_request od;
    od.group_id = "g";
    od.topics.push_back({"x", {{0, {}}}, {}});
    h.coordinator->delete_offsets(partition0, od);

    auto before = h.coordinator->describe_group(partition0, "g");
    auto offsets_before = *h.coordinator->offsets_of(partition0, "g");
    const int32_t generation = h.group("g")->generation();

    h.restart();
    auto* g = h.group("g");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->state(), group_state::stable);
    EXPECT_EQ(g->generation(), generation);
    EXPECT_EQ(g->leader(), leader);
    EXPECT_EQ(g->protocol_name(), "range");
    EXPECT_TRUE(g->has_static_member("static-1"));
    auto after = h.coordinator->describe_group(partition0, "g");
    EXPECT_TRUE(after == before);
    EXPECT_EQ(*h.coordinator->offsets_of(partition0, "g"), offsets_before);
    EXPECT_EQ(h.committed("g", "t", 0), 150);
    EXPECT_EQ(h.committed("g", "x", 0), -1);
    EXPECT_EQ(h.committed("solo", "t", 3), 7);
    EXPECT_EQ(h.group("doomed"), nullptr);
    EXPECT_EQ(h.committed("doomed", "t", 0), -1);
    // The members carry on with their ids, and sessions restart from the load.
    EXPECT_EQ(h.heartbeat("g", m1, generation), error_code::none);
    EXPECT_EQ(h.sync("g", m2, generation, {}, "static-1")->r->assignment,
              (std::vector<uint8_t>{2, 2}));
    h.timers.advance(5000);
    EXPECT_EQ(h.heartbeat("g", m1, generation), error_code::none);
    h.timers.advance(5000);
    EXPECT_FALSE(h.group("g")->has_member(m2));  // m2 stopped heartbeating
    EXPECT_TRUE(h.group("g")->has_member(m1));
}

TEST(group_offsets, empty_group_round_trip) {
    harness h;
    auto id = one_member_group(h, "g");
    h.commit("g", id, 1, {{"t", 0, 5}});
    msg::leave_group_request leave;
    leave.group_id = "g";
    leave.members.push_back({id, std::nullopt, std::nullopt, {}});
    h.coordinator->leave(partition0, leave);
    const auto ts = h.group("g")->state_timestamp();
    h.restart();
    auto* g = h.group("g");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->state(), group_state::empty);
    EXPECT_EQ(g->generation(), 2);
    EXPECT_EQ(g->protocol_type(), "consumer");
    EXPECT_EQ(g->state_timestamp(), ts);
    EXPECT_EQ(h.committed("g", "t", 0), 5);
}

}  // namespace
}  // namespace runnel::server::groups::test
