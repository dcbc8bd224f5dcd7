#include "server/net/idle_connections.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace runnel::server {
namespace {

TEST(IdleConnections, EnabledOnlyForLimitsTheClockCanCount) {
    EXPECT_TRUE(idle_connections(2, 600000).enabled());  // Kafka's default
    EXPECT_TRUE(idle_connections(1, 1).enabled());
    EXPECT_FALSE(idle_connections(2, 0).enabled());
    EXPECT_FALSE(idle_connections(2, -1).enabled());
    // Long.MAX_VALUE, a common way to say never: in nanoseconds it would wrap.
    EXPECT_FALSE(idle_connections(2, INT64_MAX).enabled());
    EXPECT_FALSE(idle_connections(2, INT64_MAX / 1000).enabled());
    EXPECT_TRUE(idle_connections(2, int64_t{100} * 365 * 24 * 3600 * 1000).enabled());  // 100 years
}

}  // namespace
}  // namespace runnel::server
