// The KIP-848 server-side assignors: uniform (balanced, sticky) and range (contiguous ranges).
#include <gtest/gtest.h>

#include "server/coordinators/groups/assignor.h"

namespace runnel::server::groups {
namespace {

assignor_input homogeneous(std::vector<std::string> members,
                           std::map<std::string, int32_t> topics) {
    assignor_input in;
    for (const auto& m : members) {
        for (const auto& [t, n] : topics) in.members[m].subscribed_topics.insert(t);
    }
    in.topics = std::move(topics);
    return in;
}

size_t count(const topic_partitions_map& a) {
    size_t n = 0;
    for (const auto& [t, ps] : a) n += ps.size();
    return n;
}

TEST(range_assignor, contiguous_ranges_by_member_id) {
    auto out = range_assign(homogeneous({"b", "a", "c"}, {{"t", 7}, {"u", 2}}));
    EXPECT_EQ(out["a"]["t"], (std::set<int32_t>{0, 1, 2}));
    EXPECT_EQ(out["b"]["t"], (std::set<int32_t>{3, 4}));
    EXPECT_EQ(out["c"]["t"], (std::set<int32_t>{5, 6}));
    EXPECT_EQ(out["a"]["u"], (std::set<int32_t>{0}));
    EXPECT_EQ(out["b"]["u"], (std::set<int32_t>{1}));
    EXPECT_EQ(out["c"].count("u"), 0u);
}

TEST(range_assignor, only_subscribers_get_a_topic) {
    assignor_input in;
    in.members["a"].subscribed_topics = {"t"};
    in.members["b"].subscribed_topics = {"u"};
    in.topics = {{"t", 2}, {"u", 2}};
    auto out = range_assign(in);
    EXPECT_EQ(out["a"], (topic_partitions_map{{"t", {0, 1}}}));
    EXPECT_EQ(out["b"], (topic_partitions_map{{"u", {0, 1}}}));
}

TEST(uniform_assignor, spreads_evenly_and_deterministically) {
    auto in = homogeneous({"a", "b", "c"}, {{"t", 4}, {"u", 3}});
    auto out = uniform_assign(in);
    for (const auto& [m, a] : out) EXPECT_GE(count(a), 2u) << m;
    for (const auto& [m, a] : out) EXPECT_LE(count(a), 3u) << m;
    size_t total = 0;
    for (const auto& [m, a] : out) total += count(a);
    EXPECT_EQ(total, 7u);
    EXPECT_EQ(out, uniform_assign(in));
}

TEST(uniform_assignor, sticks_to_current_owners) {
    auto in = homogeneous({"a", "b"}, {{"t", 4}});
    in.members["a"].current = {{"t", {0, 1, 2, 3}}};
    auto out = uniform_assign(in);
    EXPECT_EQ(count(out["a"]), 2u);
    EXPECT_EQ(count(out["b"]), 2u);
    // a keeps two of its partitions, nothing else moves.
    for (int32_t p : out["a"]["t"]) EXPECT_TRUE(in.members["a"].current["t"].count(p));

    // A third member takes one partition; the others keep theirs.
    auto in3 = homogeneous({"a", "b", "c"}, {{"t", 4}});
    in3.members["a"].current = out["a"];
    in3.members["b"].current = out["b"];
    auto out3 = uniform_assign(in3);
    EXPECT_EQ(count(out3["c"]), 1u);
    size_t kept = 0;
    for (const auto& m : {"a", "b"}) {
        for (int32_t p : out3[m]["t"]) kept += out[m]["t"].count(p);
    }
    EXPECT_EQ(kept, 3u);
}

TEST(uniform_assignor, heterogeneous_subscriptions) {
    assignor_input in;
    in.members["a"].subscribed_topics = {"t", "u"};
    in.members["b"].subscribed_topics = {"t"};
    in.topics = {{"t", 2}, {"u", 2}};
    auto out = uniform_assign(in);
    EXPECT_EQ(count(out["a"]), 2u);
    EXPECT_EQ(count(out["b"]), 2u);
    EXPECT_EQ(out["b"].count("u"), 0u);
    EXPECT_EQ(out["a"]["u"], (std::set<int32_t>{0, 1}));
}

TEST(uniform_assignor, drops_unsubscribed_and_vanished_partitions) {
    auto in = homogeneous({"a"}, {{"t", 2}});
    in.members["a"].current = {{"t", {0, 1, 5}}, {"gone", {0}}};
    auto out = uniform_assign(in);
    EXPECT_EQ(out["a"], (topic_partitions_map{{"t", {0, 1}}}));
}

}  // namespace
}  // namespace runnel::server::groups
