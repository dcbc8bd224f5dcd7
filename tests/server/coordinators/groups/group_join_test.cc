// The classic group state machine through the coordinator: JoinGroup / SyncGroup / Heartbeat /
// LeaveGroup with 1-3 members, KIP-394, protocol vote, expiry and timeouts, error codes.
#include <gtest/gtest.h>

#include "group_test_util.h"

namespace runnel::server::groups::test {
namespace {

using protocol::to_wire;

int16_t w(error_code e) { return to_wire(e); }

// Joins members (KIP-394 style) and completes the rebalance; returns their member ids, leader
// first is not guaranteed.
struct stable_group {
    std::vector<std::string> ids;
    int32_t generation = 0;
    std::string leader;
};

stable_group make_stable(harness& h, const std::string& group, size_t n,
                         std::vector<std::string> topics = {"t"}) {
    std::vector<std::shared_ptr<join_result>> joins;
    for (size_t i = 0; i < n; ++i) joins.push_back(h.join_new(group, range_protocol(topics)));
    h.timers.advance(0);  // the initial rebalance delay (0 here) ends
    stable_group out;
    for (auto& j : joins) {
        EXPECT_TRUE(j->done());
        EXPECT_EQ(j->error(), 0);
        out.ids.push_back(j->r->member_id);
        out.generation = j->r->generation_id;
        out.leader = j->r->leader;
    }
    std::map<std::string, std::vector<uint8_t>> assignment;
    for (size_t i = 0; i < out.ids.size(); ++i) {
        assignment[out.ids[i]] = {static_cast<uint8_t>(i + 1)};
    }
    std::vector<std::shared_ptr<sync_result>> syncs;
    for (auto& id : out.ids) {
        syncs.push_back(h.sync(group, id, out.generation,
                               id == out.leader ? assignment : decltype(assignment){}));
    }
    for (auto& s : syncs) EXPECT_EQ(s->error(), 0);
    EXPECT_EQ(h.group(group)->state(), group_state::stable);
    return out;
}

TEST(group_join, member_id_required_then_join_as_leader) {
    harness h;
    auto first = h.join("g", "", range_protocol());
    ASSERT_TRUE(first->done());
    EXPECT_EQ(first->error(), w(error_code::member_id_required));
    const std::string id = first->r->member_id;
    EXPECT_EQ(id.rfind("client-", 0), 0u) << id;
    EXPECT_EQ(id.size(), std::string("client-").size() + 36);  // client id + "-" + UUID
    EXPECT_TRUE(h.group("g")->is_pending(id));
    // The new group's first record is in the log.
    auto recs = h.records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(std::get<group_metadata_record>(recs[0]).value->generation, 0);

    auto second = h.join("g", id, range_protocol());
    EXPECT_FALSE(second->done());  // parked until the initial delay ends
    EXPECT_EQ(h.group("g")->state(), group_state::preparing_rebalance);
    h.timers.advance(0);
    ASSERT_TRUE(second->done());
    EXPECT_EQ(second->error(), 0);
    EXPECT_EQ(second->r->generation_id, 1);
    EXPECT_EQ(second->r->leader, id);
    EXPECT_EQ(second->r->protocol_name, "range");
    EXPECT_EQ(second->r->protocol_type, "consumer");
    ASSERT_EQ(second->r->members.size(), 1u);
    EXPECT_EQ(second->r->members[0].metadata, subscription({"t"}));
    EXPECT_EQ(h.group("g")->state(), group_state::completing_rebalance);

    auto s = h.sync("g", id, 1, {{id, {7, 7}}});
    ASSERT_TRUE(s->done());
    EXPECT_EQ(s->error(), 0);
    EXPECT_EQ(s->r->assignment, (std::vector<uint8_t>{7, 7}));
    EXPECT_EQ(s->r->protocol_name, "range");
    EXPECT_EQ(h.group("g")->state(), group_state::stable);
    EXPECT_EQ(h.heartbeat("g", id, 1), error_code::none);
    // The completed SyncGroup was persisted with the assignment.
    recs = h.records();
    const auto& gm = std::get<group_metadata_record>(recs.back());
    EXPECT_EQ(gm.value->generation, 1);
    ASSERT_EQ(gm.value->members.size(), 1u);
    EXPECT_EQ(gm.value->members[0].assignment, (std::vector<uint8_t>{7, 7}));
}

TEST(group_join, before_v4_a_member_joins_without_member_id_required) {
    harness h;
    auto j = h.join("g", "", range_protocol(), 3);
    h.timers.advance(0);
    ASSERT_TRUE(j->done());
    EXPECT_EQ(j->error(), 0);
    EXPECT_FALSE(j->r->member_id.empty());
    EXPECT_EQ(j->r->generation_id, 1);
}

TEST(group_join, pending_member_that_never_rejoins_expires) {
    harness h;
    auto first = h.join("g", "", range_protocol(), 9, std::nullopt, 500);
    const std::string id = first->r->member_id;
    EXPECT_TRUE(h.group("g")->is_pending(id));
    h.timers.advance(499);
    EXPECT_TRUE(h.group("g")->is_pending(id));
    h.timers.advance(1);
    EXPECT_FALSE(h.group("g")->is_pending(id));
    auto late = h.join("g", id, range_protocol());
    EXPECT_EQ(late->error(), w(error_code::unknown_member_id));
}

TEST(group_join, second_member_triggers_rebalance_follower_waits_for_leader) {
    harness h;
    auto one = make_stable(h, "g", 1);
    const std::string m1 = one.ids[0];
    auto j2 = h.join_new("g", range_protocol());
    EXPECT_FALSE(j2->done());
    EXPECT_EQ(h.group("g")->state(), group_state::preparing_rebalance);
    EXPECT_EQ(h.heartbeat("g", m1, 1), error_code::rebalance_in_progress);
    auto j1 = h.join("g", m1, range_protocol());
    ASSERT_TRUE(j1->done());
    ASSERT_TRUE(j2->done());
    EXPECT_EQ(j1->r->generation_id, 2);
    EXPECT_EQ(j2->r->generation_id, 2);
    EXPECT_EQ(j1->r->leader, m1);  // the leader stays
    EXPECT_EQ(j1->r->members.size(), 2u);
    EXPECT_TRUE(j2->r->members.empty());  // followers get no member list
    const std::string m2 = j2->r->member_id;

    auto s2 = h.sync("g", m2, 2);
    EXPECT_FALSE(s2->done());  // waits for the leader's assignment
    auto s1 = h.sync("g", m1, 2, {{m1, {1}}, {m2, {2}}});
    ASSERT_TRUE(s1->done());
    ASSERT_TRUE(s2->done());
    EXPECT_EQ(s1->r->assignment, (std::vector<uint8_t>{1}));
    EXPECT_EQ(s2->r->assignment, (std::vector<uint8_t>{2}));
    EXPECT_EQ(h.heartbeat("g", m2, 2), error_code::none);
    EXPECT_EQ(h.heartbeat("g", m2, 1), error_code::illegal_generation);
}

TEST(group_join, three_members_vote_for_a_common_protocol) {
    harness h;
    auto sub = subscription({"t"});
    auto a = h.join_new("g", {{"roundrobin", sub}, {"range", sub}});
    auto b = h.join_new("g", {{"range", sub}, {"roundrobin", sub}});
    auto c = h.join_new("g", {{"range", sub}, {"sticky", sub}});
    h.timers.advance(0);
    // Only range is supported by all three.
    EXPECT_EQ(a->r->protocol_name, "range");
    EXPECT_EQ(c->r->protocol_name, "range");
    EXPECT_EQ(a->r->generation_id, 1);
    EXPECT_EQ(b->r->generation_id, 1);

    harness h2;
    auto x = h2.join_new("g", {{"roundrobin", sub}, {"range", sub}});
    auto y = h2.join_new("g", {{"roundrobin", sub}, {"range", sub}});
    auto z = h2.join_new("g", {{"range", sub}, {"roundrobin", sub}});
    h2.timers.advance(0);
    EXPECT_EQ(x->r->protocol_name, "roundrobin");  // two votes to one
    EXPECT_EQ(z->r->protocol_name, "roundrobin");
    (void)y;
}

TEST(group_join, inconsistent_protocols_are_refused) {
    harness h;
    make_stable(h, "g", 1);
    auto other = h.join("g", "", {{"sticky", subscription({"t"})}});
    EXPECT_EQ(other->error(), w(error_code::inconsistent_group_protocol));
    join_params p;
    p.group_id = "g";
    p.protocol_type = "connect";
    p.protocols = range_protocol();
    p.session_timeout_ms = 10000;
    p.rebalance_timeout_ms = 10000;
    p.api_version = 9;
    std::optional<join_response> r;
    h.coordinator->join(partition0, p, [&](join_response x) { r = x; });
    EXPECT_EQ(r->error_code, w(error_code::inconsistent_group_protocol));
}

TEST(group_join, request_validation_errors) {
    harness h;
    auto empty_id = h.join("", "", range_protocol());
    EXPECT_EQ(empty_id->error(), w(error_code::invalid_group_id));
    auto short_session = h.join("g", "", range_protocol(), 9, std::nullopt, 99);
    EXPECT_EQ(short_session->error(), w(error_code::invalid_session_timeout));
    auto long_session = h.join("g", "", range_protocol(), 9, std::nullopt, 60001);
    EXPECT_EQ(long_session->error(), w(error_code::invalid_session_timeout));
    auto unknown_group = h.join("nope", "someone", range_protocol());
    EXPECT_EQ(unknown_group->error(), w(error_code::unknown_member_id));
    make_stable(h, "g", 1);
    auto unknown_member = h.join("g", "someone", range_protocol());
    EXPECT_EQ(unknown_member->error(), w(error_code::unknown_member_id));
    EXPECT_EQ(h.sync("g", "someone", 1)->error(), w(error_code::unknown_member_id));
    EXPECT_EQ(h.sync("nope", "someone", 1)->error(), w(error_code::unknown_member_id));
    EXPECT_EQ(h.heartbeat("g", "someone", 1), error_code::unknown_member_id);
    EXPECT_EQ(h.heartbeat("", "someone", 1), error_code::invalid_group_id);
}

TEST(group_join, sync_with_wrong_generation_or_during_rebalance) {
    harness h;
    auto g = make_stable(h, "g", 1);
    EXPECT_EQ(h.sync("g", g.ids[0], 5)->error(), w(error_code::illegal_generation));
    auto j2 = h.join_new("g", range_protocol());
    EXPECT_EQ(h.sync("g", g.ids[0], g.generation)->error(), w(error_code::rebalance_in_progress));
    msg::sync_group_request req;
    req.group_id = "g";
    req.member_id = g.ids[0];
    req.generation_id = g.generation;
    req.protocol_name = "roundrobin";
    std::optional<sync_response> r;
    h.coordinator->sync(partition0, req, [&](sync_response x) { r = x; });
    EXPECT_EQ(r->error_code, w(error_code::inconsistent_group_protocol));
    (void)j2;
}

TEST(group_join, session_expiry_removes_member_and_rebalances) {
    harness h;
    auto g = make_stable(h, "g", 2);
    const std::string keeper = g.ids[0], quiet = g.ids[1];
    for (int i = 0; i < 3; ++i) {
        h.timers.advance(3000);
        EXPECT_EQ(h.heartbeat("g", keeper, g.generation), error_code::none);
    }
    EXPECT_TRUE(h.group("g")->has_member(quiet));
    h.timers.advance(1000);
    // `quiet` never heartbeated: gone after its 10 s session.
    EXPECT_FALSE(h.group("g")->has_member(quiet));
    EXPECT_EQ(h.heartbeat("g", quiet, g.generation), error_code::unknown_member_id);
    EXPECT_EQ(h.group("g")->state(), group_state::preparing_rebalance);
    EXPECT_EQ(h.heartbeat("g", keeper, g.generation), error_code::rebalance_in_progress);
    auto j = h.join("g", keeper, range_protocol());
    ASSERT_TRUE(j->done());
    EXPECT_EQ(j->r->generation_id, g.generation + 1);
    EXPECT_EQ(j->r->members.size(), 1u);
    EXPECT_EQ(j->r->leader, keeper);
}

TEST(group_join, last_member_expiring_empties_the_group) {
    harness h;
    auto g = make_stable(h, "g", 1);
    h.timers.advance(10000);
    auto* grp = h.group("g");
    EXPECT_EQ(grp->state(), group_state::empty);
    EXPECT_EQ(grp->generation(), g.generation + 1);
    EXPECT_EQ(grp->size(), 0u);
    auto recs = h.records();
    const auto& last = std::get<group_metadata_record>(recs.back());
    EXPECT_TRUE(last.value->members.empty());
    EXPECT_EQ(last.value->generation, g.generation + 1);
}

TEST(group_join, members_that_do_not_rejoin_within_rebalance_timeout_are_removed) {
    harness h;
    auto g = make_stable(h, "g", 2);
    const std::string stays = g.leader;
    const std::string lazy = g.ids[0] == stays ? g.ids[1] : g.ids[0];
    auto j = h.join("g", stays, range_protocol());  // the leader rejoins: a rebalance starts
    EXPECT_FALSE(j->done());
    // `lazy` keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins.
    for (int i = 0; i < 9; ++i) {
        h.timers.advance(3000);
        h.heartbeat("g", lazy, g.generation);
    }
    EXPECT_FALSE(j->done());
    h.timers.advance(3000);  // 30 s rebalance timeout
    ASSERT_TRUE(j->done());
    EXPECT_EQ(j->r->generation_id, g.generation + 1);
    EXPECT_EQ(j->r->members.size(), 1u);
    EXPECT_FALSE(h.group("g")->has_member(lazy));
}

TEST(group_join, new_member_with_parked_join_expires) {
    auto config = harness::defaults();
    config.new_member_join_timeout_ms = 1000;
    harness h(config);
    auto g = make_stable(h, "g", 1);
    auto j2 = h.join_new("g", range_protocol());  // parked: the old member has not rejoined
    EXPECT_FALSE(j2->done());
    h.timers.advance(500);
    h.heartbeat("g", g.ids[0], g.generation);
    h.timers.advance(500);
    ASSERT_TRUE(j2->done());
    EXPECT_EQ(j2->error(), w(error_code::unknown_member_id));
    EXPECT_EQ(h.group("g")->size(), 1u);
}

TEST(group_join, missing_sync_after_join_removes_members) {
    harness h;
    auto j1 = h.join_new("g", range_protocol(), 60000);
    auto j2 = h.join_new("g", range_protocol(), 60000);
    h.timers.advance(0);
    const std::string leader = j1->r->leader;
    const std::string other = j1->r->member_id == leader ? j2->r->member_id : j1->r->member_id;
    auto s = h.sync("g", leader, 1, {{leader, {1}}, {other, {2}}});
    EXPECT_EQ(s->error(), 0);
    // `other` never sends SyncGroup: removed when the rebalance timeout ends (before its session).
    for (int i = 0; i < 10; ++i) {
        h.timers.advance(3000);
        h.heartbeat("g", leader, 1);
    }
    EXPECT_FALSE(h.group("g")->has_member(other));
    EXPECT_TRUE(h.group("g")->has_member(leader));
}

TEST(group_join, leave_group) {
    harness h;
    auto g = make_stable(h, "g", 2);
    msg::leave_group_request req;
    req.group_id = "g";
    req.members.push_back({g.ids[1], std::nullopt, std::nullopt, {}});
    req.members.push_back({"stranger", std::nullopt, std::nullopt, {}});
    auto resp = h.coordinator->leave(partition0, req);
    ASSERT_EQ(resp.members.size(), 2u);
    EXPECT_EQ(resp.members[0].error_code, 0);
    EXPECT_EQ(resp.members[1].error_code, w(error_code::unknown_member_id));
    EXPECT_EQ(h.group("g")->state(), group_state::preparing_rebalance);
    auto j = h.join("g", g.ids[0], range_protocol());
    ASSERT_TRUE(j->done());
    EXPECT_EQ(j->r->members.size(), 1u);
    req.members = {{g.ids[0], std::nullopt, std::nullopt, {}}};
    h.sync("g", g.ids[0], j->r->generation_id, {{g.ids[0], {}}});
    h.coordinator->leave(partition0, req);
    EXPECT_EQ(h.group("g")->state(), group_state::empty);
    req.group_id = "nope";
    resp = h.coordinator->leave(partition0, req);
    EXPECT_EQ(resp.members[0].error_code, w(error_code::unknown_member_id));
}

TEST(group_join, group_max_size) {
    auto config = harness::defaults();
    config.max_group_size = 1;
    harness h(config);
    make_stable(h, "g", 1);
    auto second = h.join("g", "", range_protocol());
    EXPECT_EQ(second->error(), w(error_code::group_max_size_reached));
}

TEST(group_join, initial_rebalance_delay_waits_for_more_members) {
    auto config = harness::defaults();
    config.initial_rebalance_delay_ms = 3000;
    harness h(config);
    auto j1 = h.join_new("g", range_protocol());
    h.timers.advance(2000);
    auto j2 = h.join_new("g", range_protocol());
    h.timers.advance(1000);  // the first delay ends, but a member arrived: wait again
    EXPECT_FALSE(j1->done());
    h.timers.advance(3000);
    ASSERT_TRUE(j1->done());
    ASSERT_TRUE(j2->done());
    EXPECT_EQ(j1->r->generation_id, 1);
    EXPECT_EQ(h.group("g")->size(), 2u);
}

TEST(group_join, static_member_rejoin_replaces_and_fences_old_id) {
    harness h;
    auto j = h.join("g", "", range_protocol(), 5, "instance-1");
    h.timers.advance(0);
    ASSERT_EQ(j->error(), 0);  // static members skip MEMBER_ID_REQUIRED
    const std::string old_id = j->r->member_id;
    EXPECT_EQ(old_id.rfind("instance-1-", 0), 0u);
    auto s = h.sync("g", old_id, 1, {{old_id, {5}}}, "instance-1");
    EXPECT_EQ(s->error(), 0);
    const size_t records_before = h.records().size();

    // The same instance restarts and joins without its member id.
    auto again = h.join("g", "", range_protocol(), 5, "instance-1");
    ASSERT_TRUE(again->done());
    EXPECT_EQ(again->error(), 0);
    const std::string new_id = again->r->member_id;
    EXPECT_NE(new_id, old_id);
    EXPECT_EQ(again->r->generation_id, 1);  // no rebalance
    EXPECT_EQ(h.group("g")->state(), group_state::stable);
    EXPECT_EQ(h.records().size(), records_before + 1);  // the new member id is persisted

    msg::heartbeat_request hb;
    hb.group_id = "g";
    hb.member_id = old_id;
    hb.generation_id = 1;
    hb.group_instance_id = "instance-1";
    EXPECT_EQ(h.coordinator->heartbeat(partition0, hb), error_code::fenced_instance_id);
    hb.member_id = new_id;
    EXPECT_EQ(h.coordinator->heartbeat(partition0, hb), error_code::none);
    auto sync_old = h.sync("g", old_id, 1, {}, "instance-1");
    EXPECT_EQ(sync_old->error(), w(error_code::fenced_instance_id));
    auto sync_new = h.sync("g", new_id, 1, {}, "instance-1");
    EXPECT_EQ(sync_new->r->assignment, (std::vector<uint8_t>{5}));  // kept its assignment

    // An admin removes it by instance id alone.
    msg::leave_group_request leave;
    leave.group_id = "g";
    leave.members.push_back({"", "instance-1", std::nullopt, {}});
    auto resp = h.coordinator->leave(partition0, leave);
    EXPECT_EQ(resp.members[0].error_code, 0);
    EXPECT_EQ(h.group("g")->state(), group_state::empty);
}

TEST(group_join, static_member_replacement_fences_a_parked_join) {
    harness h;
    // a's session outlasts the rebalance timeout, so only the rebalance could drop it.
    auto a = h.join("g", "", range_protocol(), 5, "i-a", 60000, 30000);
    auto b = h.join("g", "", range_protocol(), 5, "i-b");
    h.timers.advance(0);
    const std::string a_id = a->r->member_id, b_id = b->r->member_id;
    ASSERT_EQ(a->r->leader, a_id);
    h.sync("g", a_id, 1, {{a_id, {1}}, {b_id, {2}}}, "i-a");
    h.sync("g", b_id, 1, {}, "i-b");
    // b rejoins with new metadata (parks: a has not rejoined), then b's instance restarts.
    auto b_rejoin = h.join("g", b_id, range_protocol({"t", "u"}), 5, "i-b");
    EXPECT_FALSE(b_rejoin->done());
    auto b_new = h.join("g", "", range_protocol({"t", "u"}), 5, "i-b");
    ASSERT_TRUE(b_rejoin->done());
    EXPECT_EQ(b_rejoin->error(), w(error_code::fenced_instance_id));
    EXPECT_FALSE(b_new->done());
    // Static members that do not rejoin stay in the group when the rebalance times out.
    h.timers.advance(30000);
    ASSERT_TRUE(b_new->done());
    EXPECT_EQ(b_new->error(), 0);
    EXPECT_EQ(b_new->r->generation_id, 2);
    EXPECT_EQ(b_new->r->leader, b_new->r->member_id);  // a did not rejoin: b leads
    EXPECT_TRUE(h.group("g")->has_member(a_id));
    EXPECT_EQ(h.group("g")->size(), 2u);
}

}  // namespace
}  // namespace runnel::server::groups::test
