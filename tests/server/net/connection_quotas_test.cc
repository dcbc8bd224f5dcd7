// max.connections, max.connections.per.ip and its overrides, as the acceptor applies them.
#include "server/net/connection_quotas.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace runnel::server {
namespace {

TEST(ConnectionQuotas, AnAddressGetsItsLimitAndSlotsGiveItBack) {
    auto shared = std::make_shared<connection_quotas>(100, 2, "");
    auto& q = *shared;
    auto a = q.admit("10.0.0.1");
    auto b = q.admit("10.0.0.1");
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(q.admit("10.0.0.1"));  // a third from the same address
    EXPECT_TRUE(q.admit("10.0.0.2"));   // another address is counted apart (and released)
    a.reset();                          // one closes
    auto c = q.admit("10.0.0.1");
    EXPECT_TRUE(c);
    // A slot that moves (with its connection, to another shard) is still one connection.
    connection_quotas::slot moved = std::move(*c);
    c.reset();
    EXPECT_FALSE(q.admit("10.0.0.1"));
}

TEST(ConnectionQuotas, TheBrokerWideLimitIsFullAtItsCount) {
    auto shared = std::make_shared<connection_quotas>(3, 100, "");
    auto& q = *shared;
    std::vector<connection_quotas::slot> open;
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(q.full());
        open.push_back(*q.admit("10.0.0." + std::to_string(i)));
    }
    EXPECT_TRUE(q.full());
    open.pop_back();
    EXPECT_FALSE(q.full());
}

TEST(ConnectionQuotas, OverridesReplaceThePerAddressLimit) {
    auto shared = std::make_shared<connection_quotas>(100, 5, " 127.0.0.1:1 , ::1:0,192.168.1.9:7");
    auto& q = *shared;
    EXPECT_EQ(q.limit_of("127.0.0.1"), 1);
    EXPECT_EQ(q.limit_of("::1"), 0);
    EXPECT_EQ(q.limit_of("192.168.1.9"), 7);
    EXPECT_EQ(q.limit_of("10.1.1.1"), 5);
    auto first = q.admit("127.0.0.1");
    EXPECT_TRUE(first);
    EXPECT_FALSE(q.admit("127.0.0.1"));
    EXPECT_FALSE(q.admit("::1"));  // 0: none at all
}

TEST(ConnectionQuotas, OverridesThatDoNotParseAreRefused) {
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1:x", "somehost:3",
                            ":5", "127.0.0.1:3:4x"}) {
        EXPECT_THROW(connection_quotas(10, 10, bad), std::invalid_argument) << bad;
    }
}

}  // namespace
}  // namespace runnel::server
