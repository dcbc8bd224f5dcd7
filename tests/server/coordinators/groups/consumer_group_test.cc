// KIP-848 consumer groups on the coordinator: joining, the target assignment, reconciliation with
// revocation between two members, epochs, fencing, session expiry, leaving, classic conflicts.
#include "server/coordinators/groups/consumer_group.h"

#include <gtest/gtest.h>

#include "group_test_util.h"

namespace runnel::server::groups {
namespace {

using protocol::error_code;
using protocol::to_wire;
using test::partition0;
namespace msg = protocol::msg;

protocol::uuid id_of(uint8_t n) {
    protocol::uuid u{};
    u[15] = n;
    return u;
}

struct cg_harness : test::harness {
    static coordinator_config cfg() {
        auto c = defaults();
        c.consumer_heartbeat_interval_ms = 1000;
        c.consumer_session_timeout_ms = 10000;
        return c;
    }
    cg_harness() : test::harness(cfg()) {}

    std::map<std::string, consumer_topic_info> topics{{"t", {id_of(1), 4}}, {"u", {id_of(2), 2}}};
    uint64_t names_version = 1;           // bump when `topics` gains or loses a name
    std::optional<std::string> regex;     // sent as SubscribedTopicRegex when set
    std::optional<std::string> instance;  // sent as InstanceId when set

    // owned: topic name → partitions (null: not sent).
    msg::consumer_group_heartbeat_response beat(
        const std::string& member, int32_t epoch,
        std::optional<std::vector<std::string>> subs = std::nullopt,
        std::optional<topic_partitions_map> owned = std::nullopt, int16_t version = 1,
        std::optional<std::string> assignor = std::nullopt, const std::string& group = "g") {
        msg::consumer_group_heartbeat_request req;
        req.group_id = group;
        req.member_id = member;
        req.member_epoch = epoch;
        req.subscribed_topic_names = std::move(subs);
        req.server_assignor = std::move(assignor);
        req.subscribed_topic_regex = regex;
        req.instance_id = instance;
        if (epoch == 0) {
            req.rebalance_timeout_ms = 5000;
            req.topic_partitions.emplace();
        }
        if (owned) {
            req.topic_partitions.emplace();
            for (const auto& [t, ps] : *owned) {
                auto& e = req.topic_partitions->emplace_back();
                e.topic_id = topics.at(t).id;
                e.partitions.assign(ps.begin(), ps.end());
            }
        }
        consumer_heartbeat_context ctx;
        ctx.api_version = version;
        ctx.client_id = "client";
        ctx.client_host = "/127.0.0.1";
        ctx.topics = [this](const std::string& n) -> std::optional<consumer_topic_info> {
            auto it = topics.find(n);
            if (it == topics.end()) return std::nullopt;
            return it->second;
        };
        ctx.topic_names.version = names_version;
        ctx.topic_names.names = [this] {
            std::vector<std::string> names;
            for (const auto& [n, info] : topics) names.push_back(n);
            return names;
        };
        return coordinator->consumer_heartbeat(partition0, req, ctx);
    }

    topic_partitions_map assigned(const msg::consumer_group_heartbeat_response& r) {
        topic_partitions_map out;
        if (!r.assignment) return out;
        for (const auto& tp : r.assignment->topic_partitions) {
            for (const auto& [name, info] : topics) {
                if (info.id == tp.topic_id)
                    out[name].insert(tp.partitions.begin(), tp.partitions.end());
            }
        }
        return out;
    }
    consumer_group* cg(const std::string& id = "g") {
        return coordinator->find_consumer_group(partition0, id);
    }
};

size_t count(const topic_partitions_map& a) {
    size_t n = 0;
    for (const auto& [t, ps] : a) n += ps.size();
    return n;
}

TEST(consumer_group, validates_first_heartbeat) {
    cg_harness h;
    EXPECT_EQ(h.beat("m", 0, std::nullopt).error_code, to_wire(error_code::invalid_request));
    h.regex = "t(";
    EXPECT_EQ(h.beat("m", 0, std::vector<std::string>{"t"}).error_code,
              to_wire(error_code::invalid_regular_expression));
    h.regex.reset();
    EXPECT_EQ(h.beat("", 0, std::vector<std::string>{"t"}, std::nullopt, 1).error_code,
              to_wire(error_code::invalid_request));
    EXPECT_EQ(h.beat("m", 0, std::vector<std::string>{"t"}, std::nullopt, 1, "nope").error_code,
              to_wire(error_code::unsupported_assignor));
    EXPECT_EQ(h.beat("m", 3).error_code, to_wire(error_code::group_id_not_found));
    EXPECT_EQ(h.beat("m", -5).error_code, to_wire(error_code::invalid_request));
    EXPECT_EQ(h.cg(), nullptr);
}

TEST(consumer_group, single_member_joins_and_gets_everything) {
    cg_harness h;
    auto r = h.beat("", 0, std::vector<std::string>{"t"}, std::nullopt, 0);  // v0: broker id
    ASSERT_EQ(r.error_code, 0);
    ASSERT_TRUE(r.member_id);
    EXPECT_EQ(r.member_id->size(), 22u);
    // Kafka 4.4's numbering: one bump for the new member, one for the group's new subscription.
    EXPECT_EQ(r.member_epoch, 2);
    EXPECT_EQ(r.heartbeat_interval_ms, 1000);
    EXPECT_EQ(h.assigned(r), (topic_partitions_map{{"t", {0, 1, 2, 3}}}));
    EXPECT_EQ(h.cg()->state(), "Stable");
    // A plain heartbeat keeps the epoch and sends no assignment.
    auto r2 = h.beat(*r.member_id, 2);
    EXPECT_EQ(r2.error_code, 0);
    EXPECT_EQ(r2.member_epoch, 2);
    EXPECT_FALSE(r2.assignment);
}

TEST(consumer_group, second_member_waits_for_revocation) {
    cg_harness h;
    auto a = h.beat("a", 0, std::vector<std::string>{"t"});
    ASSERT_EQ(a.member_epoch, 2);
    const auto all = h.assigned(a);
    EXPECT_EQ(count(all), 4u);

    auto b = h.beat("b", 0, std::vector<std::string>{"t"});
    ASSERT_EQ(b.error_code, 0);
    EXPECT_EQ(b.member_epoch, 3);  // b owns nothing, nothing to revoke: reconciled at once
    EXPECT_EQ(count(h.assigned(b)), 0u) << "a still owns b's target partitions";
    EXPECT_TRUE(b.assignment);
    EXPECT_EQ(h.cg()->state(), "Reconciling");

    // a learns it must give up two partitions; its epoch stays.
    auto a2 = h.beat("a", 2);
    EXPECT_EQ(a2.member_epoch, 2);
    auto kept = h.assigned(a2);
    EXPECT_EQ(count(kept), 2u);
    // Until a confirms the revocation, b still waits.
    auto b2 = h.beat("b", 3);
    EXPECT_FALSE(b2.assignment);
    // a reports it still owns everything: still unrevoked.
    auto a3 = h.beat("a", 2, std::nullopt, all);
    EXPECT_EQ(a3.member_epoch, 2);
    // a reports owning only what it kept: moves to epoch 3.
    auto a4 = h.beat("a", 2, std::nullopt, kept);
    EXPECT_EQ(a4.member_epoch, 3);
    // b now gets the released partitions.
    auto b3 = h.beat("b", 3);
    ASSERT_TRUE(b3.assignment);
    auto bs = h.assigned(b3);
    EXPECT_EQ(count(bs), 2u);
    for (const auto& [t, ps] : bs) {
        for (int32_t p : ps) EXPECT_FALSE(kept.at(t).count(p));
    }
    EXPECT_EQ(h.cg()->state(), "Stable");
    EXPECT_EQ(h.cg()->group_epoch(), 3);
    EXPECT_EQ(h.cg()->assignment_epoch(), 3);
}

TEST(consumer_group, commit_at_an_older_epoch_is_the_owners_for_partitions_owned_since) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});  // a: epoch 2, all of t
    h.beat("b", 0, std::vector<std::string>{"t"});  // group epoch 3
    auto a2 = h.beat("a", 2);                       // a must give up two
    auto kept = h.assigned(a2);
    auto a3 = h.beat("a", 2, std::nullopt, kept);
    ASSERT_EQ(a3.member_epoch, 3);
    const int32_t mine = *kept.at("t").begin();
    int32_t given_away = -1;
    for (int32_t p = 0; p < 4; ++p) {
        if (!kept.at("t").count(p)) given_away = p;
    }
    // A commit sent at epoch 2 (the answer moving a to 3 crossed it) for a partition a has
    // owned since epoch 2 is accepted; one for a partition a gave away is not, nor a future
    // epoch.
    EXPECT_EQ(h.commit("g", "a", 2, {{"t", mine, 5}}).topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(h.commit("g", "a", 2, {{"t", given_away, 5}}).topics[0].partitions[0].error_code,
              to_wire(error_code::stale_member_epoch));
    EXPECT_EQ(h.commit("g", "a", 4, {{"t", mine, 5}}).topics[0].partitions[0].error_code,
              to_wire(error_code::stale_member_epoch));
    EXPECT_EQ(h.commit("g", "a", 3, {{"t", mine, 6}}).topics[0].partitions[0].error_code, 0);
}

TEST(consumer_group, epochs_fence_and_unknown_members) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    EXPECT_EQ(h.beat("a", 7).error_code, to_wire(error_code::fenced_member_epoch));
    EXPECT_EQ(h.beat("zz", 2).error_code, to_wire(error_code::unknown_member_id));
    // Bump the group: a moves to epoch 3 (b's join takes nothing a must revoke? it does: 2 of 4).
    h.beat("b", 0, std::vector<std::string>{"t"});
    auto a2 = h.beat("a", 2);
    auto a3 = h.beat("a", 2, std::nullopt, h.assigned(a2));
    ASSERT_EQ(a3.member_epoch, 3);
    // The previous epoch with owned partitions within the assignment is tolerated (lost answer).
    EXPECT_EQ(h.beat("a", 2, std::nullopt, h.assigned(a2)).error_code, 0);
    // The previous epoch without owned partitions, or an older one, is fenced.
    EXPECT_EQ(h.beat("a", 2).error_code, to_wire(error_code::fenced_member_epoch));
    EXPECT_EQ(h.beat("a", 0, std::vector<std::string>{"t"}).error_code, 0) << "epoch 0 rejoins";
}

TEST(consumer_group, leave_releases_partitions_and_bumps_epoch) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    auto b = h.beat("b", 0, std::vector<std::string>{"t"});
    auto a2 = h.beat("a", 2);
    h.beat("a", 2, std::nullopt, h.assigned(a2));
    h.beat("b", b.member_epoch);
    const int32_t epoch = h.cg()->group_epoch();

    auto l = h.beat("b", -1);
    EXPECT_EQ(l.error_code, 0);
    EXPECT_EQ(l.member_epoch, -1);
    EXPECT_EQ(h.cg()->group_epoch(), epoch + 1);
    EXPECT_EQ(h.cg()->state(), "Assigning");
    auto a3 = h.beat("a", 3);
    EXPECT_EQ(a3.member_epoch, epoch + 1);
    EXPECT_EQ(h.assigned(a3), (topic_partitions_map{{"t", {0, 1, 2, 3}}}));
    EXPECT_EQ(h.beat("b", -1).error_code, to_wire(error_code::unknown_member_id));
}

TEST(consumer_group, session_expiry_fences_member) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.beat("b", 0, std::vector<std::string>{"t"});
    // a heartbeats every 3 s, each time reporting what it owns; b never does.
    for (int i = 0; i < 4; ++i) {
        h.timers.advance(3000);
        for (int k = 0; k < 2; ++k) {
            auto* a = h.cg()->find_member("a");
            ASSERT_NE(a, nullptr);
            EXPECT_EQ(h.beat("a", a->member_epoch, std::nullopt, a->assigned).error_code, 0);
        }
    }
    EXPECT_EQ(h.cg()->find_member("b"), nullptr) << "b's session expired";
    EXPECT_EQ(count(h.cg()->find_member("a")->assigned), 4u);
    EXPECT_EQ(h.beat("b", 2).error_code, to_wire(error_code::unknown_member_id));
}

TEST(consumer_group, static_member_keeps_its_partitions_while_it_restarts) {
    cg_harness h;
    h.instance = "instance-a";
    auto a = h.beat("a", 0, std::vector<std::string>{"t"});
    h.instance.reset();
    h.beat("b", 0, std::vector<std::string>{"t"});
    auto* am = h.cg()->find_member("a");
    auto a2 = h.beat("a", 2, std::nullopt, am->assigned);  // a gives up two
    auto a3 = h.beat("a", 2, std::nullopt, h.assigned(a2));
    auto b2 = h.beat("b", 3);
    const auto a_parts = h.cg()->find_member("a")->assigned;
    ASSERT_EQ(count(a_parts), 2u);
    const int32_t group_epoch = h.cg()->group_epoch();

    // a leaves as a static member (epoch -2): nothing moves, the group epoch stays.
    h.instance = "instance-a";
    EXPECT_EQ(h.beat("a", -2).member_epoch, -2);
    EXPECT_EQ(h.cg()->group_epoch(), group_epoch);
    EXPECT_EQ(count(h.cg()->find_member("b")->assigned), 2u);
    // a's new process joins with the same instance id under a new member id: it takes over.
    h.timers.advance(1000);
    auto back = h.beat("a-restarted", 0, std::vector<std::string>{"t"});
    ASSERT_EQ(back.error_code, 0);
    EXPECT_EQ(*back.member_id, "a-restarted");
    EXPECT_EQ(h.assigned(back), a_parts) << "the same partitions, no rebalance";
    EXPECT_EQ(back.member_epoch, a3.member_epoch);
    EXPECT_EQ(h.cg()->group_epoch(), group_epoch);
    EXPECT_EQ(h.cg()->find_member("a"), nullptr);
    // Another process claiming the instance id while it is in use: refused.
    auto twin = h.beat("a-twin", 0, std::vector<std::string>{"t"});
    EXPECT_EQ(twin.error_code, to_wire(error_code::unreleased_instance_id));
    (void)a;
    (void)b2;
}

TEST(consumer_group, static_member_that_does_not_return_is_removed_after_its_session) {
    cg_harness h;
    h.instance = "instance-a";
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.instance.reset();
    h.beat("b", 0, std::vector<std::string>{"t"});
    h.instance = "instance-a";
    h.beat("a", -2);
    h.instance.reset();
    for (int i = 0; i < 4; ++i) {  // b keeps heartbeating; a never comes back
        h.timers.advance(3000);
        auto* b = h.cg()->find_member("b");
        h.beat("b", b->member_epoch, std::nullopt, b->assigned);
    }
    EXPECT_EQ(h.cg()->find_member("a"), nullptr) << "its session expired";
    auto* b = h.cg()->find_member("b");
    h.beat("b", b->member_epoch, std::nullopt, b->assigned);
    EXPECT_EQ(count(h.cg()->find_member("b")->assigned), 4u) << "b took a's partitions";
}

TEST(consumer_group, rebalance_timeout_fences_a_member_that_does_not_revoke) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.beat("b", 0, std::vector<std::string>{"t"});
    h.beat("a", 2);  // a must revoke; rebalance timeout 5000
    ASSERT_EQ(h.cg()->find_member("a")->state, consumer_member_state::unrevoked_partitions);
    h.timers.advance(4000);
    h.beat("b", 3);  // keep b alive
    h.timers.advance(2000);
    EXPECT_EQ(h.cg()->find_member("a"), nullptr);
    EXPECT_EQ(h.beat("b", 3).error_code, 0);
    EXPECT_EQ(count(h.cg()->find_member("b")->assigned), 4u);
}

TEST(consumer_group, subscription_and_metadata_changes_bump_the_epoch) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    EXPECT_EQ(h.cg()->group_epoch(), 2);  // the member, then the group's subscription
    // A changed subscription: one bump for the member, one for what the group subscribes to.
    auto r = h.beat("a", 2, std::vector<std::string>{"t", "u"});
    EXPECT_EQ(h.cg()->group_epoch(), 4);
    EXPECT_EQ(r.member_epoch, 4);
    EXPECT_EQ(h.assigned(r), (topic_partitions_map{{"t", {0, 1, 2, 3}}, {"u", {0, 1}}}));
    h.topics["u"].partitions = 3;  // CreatePartitions
    auto r2 = h.beat("a", 4);      // metadata only: one bump
    EXPECT_EQ(r2.member_epoch, 5);
    EXPECT_EQ(h.assigned(r2)["u"], (std::set<int32_t>{0, 1, 2}));
}

TEST(consumer_group, empty_subscription_joins_with_nothing) {
    cg_harness h;
    auto r = h.beat("m", 0, std::vector<std::string>{});
    EXPECT_EQ(r.error_code, 0);
    EXPECT_EQ(r.member_epoch, 1);
    EXPECT_EQ(h.assigned(r), topic_partitions_map{});
}

TEST(consumer_group, regex_subscription_follows_topic_names) {
    cg_harness h;
    h.regex = "t.*";
    auto r = h.beat("a", 0, std::nullopt);  // a regex alone is a subscription
    ASSERT_EQ(r.error_code, 0);
    EXPECT_EQ(h.assigned(r), (topic_partitions_map{{"t", {0, 1, 2, 3}}}));
    // The regex is sent once; later heartbeats leave it null and it stays.
    h.regex.reset();
    h.topics["t2"] = {id_of(3), 1};
    EXPECT_EQ(r.member_epoch, 2);
    auto same_version = h.beat("a", 2);
    EXPECT_EQ(same_version.member_epoch, 2) << "names unchanged as far as the version says";
    ++h.names_version;
    auto r2 = h.beat("a", 2);
    EXPECT_EQ(r2.member_epoch, 3);
    EXPECT_EQ(h.assigned(r2), (topic_partitions_map{{"t", {0, 1, 2, 3}}, {"t2", {0}}}));
    // Names and a regex together; the whole name must match ("u" is not matched by "t.*").
    auto r3 = h.beat("a", 3, std::vector<std::string>{"u"});
    EXPECT_EQ(h.assigned(r3),
              (topic_partitions_map{{"t", {0, 1, 2, 3}}, {"t2", {0}}, {"u", {0, 1}}}));
    // An empty regex ends the regex part.
    h.regex = "";
    auto r4 = h.beat("a", r3.member_epoch);
    EXPECT_EQ(h.assigned(r4), (topic_partitions_map{{"u", {0, 1}}}));
}

TEST(consumer_group, range_assignor_and_describe) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"}, std::nullopt, 1, "range");
    h.beat("b", 0, std::vector<std::string>{"t"}, std::nullopt, 1, "range");
    EXPECT_EQ(h.cg()->assignor_name(), "range");
    EXPECT_EQ(*h.cg()->target_of("a"), (topic_partitions_map{{"t", {0, 1}}}));
    EXPECT_EQ(*h.cg()->target_of("b"), (topic_partitions_map{{"t", {2, 3}}}));
    auto d = h.coordinator->consumer_describe(partition0, "g");
    EXPECT_EQ(d.error_code, 0);
    EXPECT_EQ(d.group_state, "Reconciling");
    EXPECT_EQ(d.assignor_name, "range");
    EXPECT_EQ(d.group_epoch, 3);
    ASSERT_EQ(d.members.size(), 2u);
    EXPECT_EQ(d.members[1].member_id, "b");
    ASSERT_EQ(d.members[1].target_assignment.topic_partitions.size(), 1u);
    EXPECT_EQ(d.members[1].target_assignment.topic_partitions[0].topic_name, "t");
    EXPECT_EQ(d.members[1].target_assignment.topic_partitions[0].partitions,
              (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(h.coordinator->consumer_describe(partition0, "nope").error_code,
              to_wire(error_code::group_id_not_found));
    auto listed = h.coordinator->list_groups({}, {"consumer"});
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].group_type, "consumer");
    EXPECT_EQ(listed[0].group_state, "Reconciling");
    EXPECT_TRUE(h.coordinator->list_groups({}, {"classic"}).empty());
}

TEST(consumer_group, classic_and_consumer_groups_exclude_each_other) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    auto j = h.join("g", "", {{"range", test::subscription({"t"})}});
    ASSERT_TRUE(j->r);
    EXPECT_EQ(j->r->error_code, to_wire(error_code::inconsistent_group_protocol));

    h.join_new("classic", {{"range", test::subscription({"t"})}});
    EXPECT_EQ(
        h.beat("a", 0, std::vector<std::string>{"t"}, std::nullopt, 1, std::nullopt, "classic")
            .error_code,
        to_wire(error_code::group_id_not_found));
}

TEST(consumer_group, offset_commit_checks_member_epoch) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    EXPECT_EQ(h.coordinator->check_consumer_member(partition0, "g", "a", 2), error_code::none);
    EXPECT_EQ(h.coordinator->check_consumer_member(partition0, "g", "a", 0),
              error_code::stale_member_epoch);
    EXPECT_EQ(h.coordinator->check_consumer_member(partition0, "g", "x", 2),
              error_code::unknown_member_id);
    EXPECT_EQ(h.coordinator->check_consumer_member(partition0, "other", "x", 2), error_code::none);

    auto ok = h.commit("g", "a", 2, {{"t", 0, 42}});
    EXPECT_EQ(ok.topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(h.committed("g", "t", 0), 42);
    EXPECT_EQ(h.group("g"), nullptr) << "no classic group is made for a consumer group's offsets";
    auto stale = h.commit("g", "a", 3, {{"t", 0, 43}});
    EXPECT_EQ(stale.topics[0].partitions[0].error_code, to_wire(error_code::stale_member_epoch));
    auto old_version = h.commit("g", "a", 3, {{"t", 0, 43}}, 8);
    EXPECT_EQ(old_version.topics[0].partitions[0].error_code,
              to_wire(error_code::illegal_generation));
    auto unknown = h.commit("g", "b", 2, {{"t", 0, 43}});
    EXPECT_EQ(unknown.topics[0].partitions[0].error_code, to_wire(error_code::unknown_member_id));
    // The member still leaves normally after committing.
    EXPECT_EQ(h.beat("a", -1).error_code, 0);
    // Empty now: an admin commit (epoch -1, no member) is taken.
    auto admin = h.commit("g", "", -1, {{"t", 1, 7}});
    EXPECT_EQ(admin.topics[0].partitions[0].error_code, 0);
}

TEST(consumer_group, delete_group) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.commit("g", "a", 1, {{"t", 0, 42}});
    EXPECT_EQ(h.coordinator->delete_group(partition0, "g"), error_code::non_empty_group);
    h.beat("a", -1);
    EXPECT_EQ(h.coordinator->delete_group(partition0, "g"), error_code::none);
    EXPECT_EQ(h.cg(), nullptr);
    EXPECT_EQ(h.committed("g", "t", 0), -1);
    EXPECT_EQ(h.coordinator->delete_group(partition0, "g"), error_code::group_id_not_found);
}

TEST(consumer_group, offsets_loaded_into_an_empty_classic_group_give_way) {
    cg_harness h;
    h.commit("g", "", -1, {{"t", 0, 5}});
    ASSERT_NE(h.group("g"), nullptr);
    EXPECT_EQ(h.beat("a", 0, std::vector<std::string>{"t"}).error_code, 0);
    EXPECT_EQ(h.group("g"), nullptr);
    EXPECT_EQ(h.committed("g", "t", 0), 5);
}

// A snapshot of what a member looks like to compare before and after a restart.
struct member_view {
    int32_t epoch, previous_epoch;
    consumer_member_state state;
    topic_partitions_map assigned, pending;
    std::optional<topic_partitions_map> target;
    std::set<std::string> subscribed;
    std::optional<std::string> instance, regex;
    bool operator==(const member_view&) const = default;
};
std::map<std::string, member_view> view(consumer_group& g) {
    std::map<std::string, member_view> out;
    for (const auto& [id, m] : g.members()) {
        const auto* t = g.target_of(id);
        out[id] = {
            m.member_epoch,      m.previous_member_epoch, m.state,
            m.assigned,          m.pending_revocation,    t ? std::optional(*t) : std::nullopt,
            m.subscribed_topics, m.instance_id,           m.subscribed_topic_regex};
    }
    return out;
}

size_t consumer_records(cg_harness& h) {
    size_t n = 0;
    for (const auto& r : h.records()) n += std::holds_alternative<consumer_group_record>(r);
    return n;
}

// Kafka keeps a KIP-848 group in __consumer_offsets (record types 3-8, 16): a broker restart in
// the middle of a revocation brings back every member with its epochs, state, current and target
// assignment; the members carry on at their epochs with no rebalance, and the revocation then
// completes as it would have.
TEST(consumer_group, group_survives_a_coordinator_restart) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.instance = "static-b";
    h.regex = "u.*";
    h.beat("b", 0, std::vector<std::string>{"t"});
    h.instance.reset();
    h.regex.reset();
    h.beat("a", 2);  // a must give up partitions for b
    h.commit("g", "a", 2, {{"t", 0, 42}});
    ASSERT_EQ(h.cg()->find_member("a")->state, consumer_member_state::unrevoked_partitions);
    const auto before = view(*h.cg());
    const int32_t group_epoch = h.cg()->group_epoch();
    const int32_t assignment_epoch = h.cg()->assignment_epoch();
    EXPECT_GT(consumer_records(h), 0u);

    h.restart(cg_harness::cfg());
    auto* g = h.cg();
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(view(*g), before);
    EXPECT_EQ(g->group_epoch(), group_epoch);
    EXPECT_EQ(g->assignment_epoch(), assignment_epoch);
    EXPECT_EQ(g->topics(), h.cg()->topics());
    EXPECT_EQ(h.group("g"), nullptr) << "the offsets belong to the consumer group";
    EXPECT_EQ(h.committed("g", "t", 0), 42);
    EXPECT_EQ(g->written(), image_of(*g)) << "what was loaded is what the group says";

    // A plain heartbeat at the member's epoch: no fencing, nothing new to write.
    const size_t written = consumer_records(h);
    auto* bm = g->find_member("b");
    h.instance = "static-b";
    h.regex = "u.*";
    auto b = h.beat("b", bm->member_epoch, std::nullopt, bm->assigned);
    EXPECT_EQ(b.error_code, 0);
    EXPECT_EQ(b.member_epoch, before.at("b").epoch);
    EXPECT_EQ(consumer_records(h), written);
    h.instance.reset();
    h.regex.reset();
    // a gives up what it must; b then gets it, at the epoch the group had reached.
    auto* am = h.cg()->find_member("a");
    auto a = h.beat("a", am->member_epoch, std::nullopt, am->assigned);
    EXPECT_EQ(a.error_code, 0);
    EXPECT_EQ(h.cg()->find_member("a")->state, consumer_member_state::stable);
    EXPECT_EQ(h.cg()->find_member("a")->member_epoch, assignment_epoch);
    bm = h.cg()->find_member("b");
    h.instance = "static-b";
    h.regex = "u.*";
    h.beat("b", bm->member_epoch, std::nullopt, bm->assigned);
    EXPECT_EQ(h.cg()->find_member("b")->assigned, *h.cg()->target_of("b"));
    EXPECT_EQ(h.cg()->state(), "Stable");
}

// The loaded members get new sessions: one that never comes back is removed, and that is
// written too, so a second restart does not bring it back.
TEST(consumer_group, members_that_do_not_return_after_a_restart_expire) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.beat("b", 0, std::vector<std::string>{"t"});
    h.restart(cg_harness::cfg());
    ASSERT_EQ(h.cg()->members().size(), 2u);
    for (int i = 0; i < 4; ++i) {  // only b heartbeats
        h.timers.advance(3000);
        auto* b = h.cg()->find_member("b");
        h.beat("b", b->member_epoch, std::nullopt, b->assigned);
    }
    EXPECT_EQ(h.cg()->find_member("a"), nullptr);
    h.restart(cg_harness::cfg());
    ASSERT_NE(h.cg(), nullptr);
    EXPECT_EQ(h.cg()->members().size(), 1u);
    EXPECT_NE(h.cg()->find_member("b"), nullptr);
}

// Deleting the group writes tombstones of all its records; a classic group taking the id over
// after a restart finds nothing of it.
TEST(consumer_group, deleted_and_replaced_groups_stay_gone_after_a_restart) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.beat("a", -1);
    ASSERT_EQ(h.coordinator->delete_group(partition0, "g"), error_code::none);
    h.beat("x", 0, std::vector<std::string>{"t"}, std::nullopt, 1, std::nullopt, "swap");
    h.beat("x", -1, std::nullopt, std::nullopt, 1, std::nullopt, "swap");
    auto j = h.join_new("swap", {{"range", test::subscription({"t"})}});
    h.timers.advance(10);
    ASSERT_EQ(j->error(), 0);
    auto s = h.sync("swap", j->r->member_id, j->r->generation_id, {{j->r->member_id, {}}});
    ASSERT_EQ(s->error(), 0);
    h.restart(cg_harness::cfg());
    EXPECT_EQ(h.cg(), nullptr);
    EXPECT_EQ(h.cg("swap"), nullptr);
    ASSERT_NE(h.group("swap"), nullptr);
    EXPECT_EQ(h.group("swap")->size(), 1u);
}

// A failed write answers the heartbeat with the append's error and is not lost: the next
// successful write brings the log up to what the group says.
TEST(consumer_group, a_failed_write_is_caught_up_by_the_next) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    h.fail_appends = true;
    auto b = h.beat("b", 0, std::vector<std::string>{"t"});
    EXPECT_NE(b.error_code, 0);
    h.fail_appends = false;
    auto* am = h.cg()->find_member("a");
    EXPECT_EQ(h.beat("a", am->member_epoch, std::nullopt, am->assigned).error_code, 0);
    EXPECT_EQ(h.cg()->written(), image_of(*h.cg()));
    const auto before = view(*h.cg());
    h.restart(cg_harness::cfg());
    EXPECT_EQ(view(*h.cg()), before);
}

// A log written by Kafka 4.1+ has no subscribed-topics record (type 4): the members and epochs
// come back, the targets (stored by topic id) are left for the next heartbeat to compute.
TEST(consumer_group, restore_without_the_subscribed_topics_record) {
    cg_harness h;
    h.beat("a", 0, std::vector<std::string>{"t"});
    consumer_group_image image = h.cg()->written();
    image.topics.reset();
    auto g = consumer_group::restore("g", image);
    ASSERT_NE(g->find_member("a"), nullptr);
    EXPECT_EQ(g->find_member("a")->member_epoch, h.cg()->find_member("a")->member_epoch);
    EXPECT_EQ(g->group_epoch(), h.cg()->group_epoch());
    EXPECT_EQ(g->target_of("a"), nullptr);
    g->maybe_update_target();  // with no topics known: a target, empty until metadata comes
    ASSERT_NE(g->target_of("a"), nullptr);
}

}  // namespace
}  // namespace runnel::server::groups
