// Kafka's default partitioner: the hash values Kafka's own tests pin for Utils.murmur2.
#include "server/cluster/default_partitioner.h"

#include <gtest/gtest.h>

#include <string>

namespace runnel::server {
namespace {

TEST(DefaultPartitioner, Murmur2MatchesKafka) {
    EXPECT_EQ(kafka_murmur2("21"), -973932308);
    EXPECT_EQ(kafka_murmur2("foobar"), -790332482);
    EXPECT_EQ(kafka_murmur2("a-little-bit-long-string"), -985981536);
    EXPECT_EQ(kafka_murmur2("a-little-bit-longer-string"), -1486304829);
    EXPECT_EQ(kafka_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
    EXPECT_EQ(kafka_murmur2(std::string("abc")), 479470107);
}

TEST(DefaultPartitioner, PartitionIsThePositiveHashModuloTheCount) {
    // -973932308 & 0x7fffffff = 1173551340
    EXPECT_EQ(partition_for_key("21", 7), 1173551340 % 7);
    for (int32_t n = 1; n < 50; ++n) {
        int32_t p = partition_for_key("some key", n);
        EXPECT_GE(p, 0);
        EXPECT_LT(p, n);
    }
}

}  // namespace
}  // namespace runnel::server
