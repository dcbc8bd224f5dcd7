// classic_group on its own: ConsumerProtocol subscription parsing, protocol selection,
// offset-commit validation and the state transition table.
#include "server/coordinators/groups/classic_group.h"

#include <gtest/gtest.h>

#include "group_test_util.h"

namespace runnel::server::groups {
namespace {

using protocol::error_code;

group_member make_member(const std::string& id, std::vector<member_protocol> protocols,
                         std::optional<std::string> instance = std::nullopt) {
    group_member m;
    m.id = id;
    m.instance_id = std::move(instance);
    m.protocol_type = "consumer";
    m.protocols = std::move(protocols);
    return m;
}

TEST(classic_group, parses_consumer_protocol_subscriptions) {
    auto topics = parse_subscription_topics(test::subscription({"a", "b"}));
    ASSERT_TRUE(topics);
    EXPECT_EQ(*topics, (std::vector<std::string>{"a", "b"}));
    // Later versions only append fields: the v0 prefix is enough.
    auto v3 = test::subscription({"c"});
    v3[1] = 3;
    EXPECT_EQ(parse_subscription_topics(v3), (std::vector<std::string>{"c"}));
    auto cut = test::subscription({"abc"});
    cut.resize(8);
    EXPECT_FALSE(parse_subscription_topics(cut));
    EXPECT_FALSE(parse_subscription_topics({}));
}

TEST(classic_group, subscribed_topics_of_a_consumer_group) {
    classic_group g("g", group_state::empty, 0);
    g.add(make_member("m1", {{"range", test::subscription({"a"})}}));
    g.add(make_member("m2", {{"range", test::subscription({"b", "a"})}}));
    g.transition_to(group_state::preparing_rebalance, 1);
    g.init_next_generation(2);
    ASSERT_TRUE(g.subscribed_topics());
    EXPECT_EQ(*g.subscribed_topics(), (std::set<std::string>{"a", "b"}));
    EXPECT_TRUE(g.is_subscribed_to_topic("b"));
    EXPECT_FALSE(g.is_subscribed_to_topic("c"));
}

TEST(classic_group, protocol_vote_tie_goes_to_the_first_name) {
    classic_group g("g", group_state::empty, 0);
    g.add(make_member("m1", {{"roundrobin", {}}, {"range", {}}}));
    g.add(make_member("m2", {{"range", {}}, {"roundrobin", {}}}));
    EXPECT_EQ(g.select_protocol(), "range");
    EXPECT_TRUE(g.supports_protocols("consumer", {{"sticky", {}}}));  // Empty: anything goes
    g.transition_to(group_state::preparing_rebalance, 1);
    EXPECT_FALSE(g.supports_protocols("consumer", {{"sticky", {}}}));
    EXPECT_TRUE(g.supports_protocols("consumer", {{"sticky", {}}, {"range", {}}}));
    EXPECT_FALSE(g.supports_protocols("connect", {{"range", {}}}));
}

TEST(classic_group, validate_offset_commit) {
    classic_group g("g", group_state::empty, 0);
    EXPECT_EQ(g.validate_offset_commit("", std::nullopt, -1), error_code::none);
    EXPECT_EQ(g.validate_offset_commit("x", std::nullopt, 0), error_code::unknown_member_id);
    g.add(make_member("m1", {{"range", {}}}, "i1"));
    g.transition_to(group_state::preparing_rebalance, 1);
    g.init_next_generation(2);  // generation 1, CompletingRebalance
    EXPECT_EQ(g.validate_offset_commit("m1", "i1", 1), error_code::rebalance_in_progress);
    g.transition_to(group_state::stable, 3);
    EXPECT_EQ(g.validate_offset_commit("m1", "i1", 1), error_code::none);
    EXPECT_EQ(g.validate_offset_commit("m1", "i1", 0), error_code::illegal_generation);
    EXPECT_EQ(g.validate_offset_commit("old", "i1", 1), error_code::fenced_instance_id);
    EXPECT_EQ(g.validate_offset_commit("m1", "i2", 1), error_code::unknown_member_id);
    EXPECT_EQ(g.validate_offset_commit("", std::nullopt, -1), error_code::unknown_member_id);
}

TEST(classic_group, state_transitions) {
    classic_group g("g", group_state::empty, 0);
    EXPECT_TRUE(g.can_rebalance());
    EXPECT_THROW(g.transition_to(group_state::stable, 1), std::logic_error);
    g.transition_to(group_state::preparing_rebalance, 1);
    EXPECT_FALSE(g.can_rebalance());
    EXPECT_EQ(g.previous_state(), group_state::empty);
    EXPECT_EQ(g.state_timestamp(), 1);
    g.init_next_generation(2);  // no members: back to Empty
    EXPECT_EQ(g.state(), group_state::empty);
    EXPECT_EQ(g.generation(), 1);
    EXPECT_EQ(state_name(group_state::completing_rebalance), "CompletingRebalance");
}

TEST(classic_group, removing_the_leader_elects_another) {
    classic_group g("g", group_state::empty, 0);
    bool told = false;
    auto b = make_member("b", {{"range", {}}});
    b.awaiting_join = [&](join_response r) {
        told = r.error_code == protocol::to_wire(error_code::unknown_member_id);
    };
    g.add(std::move(b));
    g.add(make_member("a", {{"range", {}}}));
    EXPECT_EQ(g.leader(), "b");  // the first member to join leads
    EXPECT_EQ(g.num_awaiting_join(), 1u);
    g.remove("b");
    EXPECT_TRUE(told);  // nothing stays parked for a removed member
    EXPECT_EQ(g.num_awaiting_join(), 0u);
    EXPECT_EQ(g.leader(), "a");
    g.remove("a");
    EXPECT_FALSE(g.leader());
}

}  // namespace
}  // namespace runnel::server::groups
