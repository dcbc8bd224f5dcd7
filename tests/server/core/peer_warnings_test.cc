#include "server/core/peer_warnings.h"

#include <gtest/gtest.h>

namespace runnel::server {
namespace {

using clock = peer_warnings::clock;

TEST(PeerWarningsTest, PeerHost) {
    EXPECT_EQ(peer_host("10.0.0.1:5000"), "10.0.0.1");
    EXPECT_EQ(peer_host("[::1]:9092"), "::1");
    EXPECT_EQ(peer_host("::1"), "::1");
    EXPECT_EQ(peer_host("host"), "host");
}

TEST(PeerWarningsTest, EachPeerGetsABurstPerInterval) {
    peer_warnings w;
    auto t0 = clock::now();
    for (uint32_t i = 0; i < peer_warnings::burst; ++i) EXPECT_TRUE(w.admit("10.0.0.1:1", t0));
    // Another port of the same host shares the budget; another host has its own.
    EXPECT_FALSE(w.admit("10.0.0.1:2", t0));
    EXPECT_FALSE(w.admit("10.0.0.1:3", t0));
    EXPECT_TRUE(w.admit("10.0.0.2:1", t0));
    auto s = w.take_summary();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->dropped, 2u);
    EXPECT_EQ(s->peers, 1u);
    EXPECT_EQ(s->busiest_peer, "10.0.0.1");
    EXPECT_FALSE(w.take_summary());  // taken
    // Next interval: a fresh burst.
    auto t1 = t0 + peer_warnings::interval;
    EXPECT_TRUE(w.admit("10.0.0.1:4", t1));
}

TEST(PeerWarningsTest, FloodFromManyHostsIsBoundedToo) {
    peer_warnings w;
    auto t0 = clock::now();
    uint64_t admitted = 0;
    for (size_t i = 0; i < peer_warnings::max_tracked_peers * 3; ++i) {
        for (int j = 0; j < 10; ++j) admitted += w.admit("h" + std::to_string(i), t0) ? 1 : 0;
    }
    EXPECT_EQ(admitted, peer_warnings::max_tracked_peers * peer_warnings::burst);
    auto s = w.take_summary();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->dropped, peer_warnings::max_tracked_peers * 3 * 10 - admitted);
}

}  // namespace
}  // namespace runnel::server
