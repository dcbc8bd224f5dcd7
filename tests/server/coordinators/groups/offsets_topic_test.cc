// Group → __consumer_offsets partition: Java's String.hashCode over UTF-16 code units and
// Kafka's Utils.abs.
#include "server/coordinators/groups/offsets_topic.h"

#include <gtest/gtest.h>

#include "server/config/broker_config.h"

namespace runnel::server::groups {
namespace {

TEST(offsets_topic, java_string_hash_by_hand) {
    EXPECT_EQ(java_string_hash(""), 0);
    EXPECT_EQ(java_string_hash("g"), 103);            // 'g'
    EXPECT_EQ(java_string_hash("ab"), 97 * 31 + 98);  // 3105
    EXPECT_EQ(java_string_hash("abc"), (97 * 31 + 98) * 31 + 99);
    EXPECT_EQ(java_string_hash("hello"), 99162322);  // the classic Java example
    // Overflow wraps as Java int arithmetic does.
    EXPECT_EQ(java_string_hash("mygroup"), 1516409939);
    EXPECT_EQ(java_string_hash("console-consumer-12345"), 158455506);
    EXPECT_EQ(java_string_hash(std::string(100, 'a')), -323643840);
}

TEST(offsets_topic, java_string_hash_uses_utf16_code_units) {
    // "größe": ö = U+00F6 and ß = U+00DF are one UTF-16 unit each (two UTF-8 bytes).
    EXPECT_EQ(java_string_hash("gr\xc3\xb6\xc3\x9f"
                               "e"),
              98762257);
    // "grp-🚀": U+1F680 is the surrogate pair D83D DE80.
    EXPECT_EQ(java_string_hash("grp-\xf0\x9f\x9a\x80"), -1235730485);
}

TEST(offsets_topic, partition_for_group) {
    EXPECT_EQ(partition_for_group("hello", 50), 22);
    EXPECT_EQ(partition_for_group("mygroup", 50), 39);
    EXPECT_EQ(partition_for_group("console-consumer-12345", 50), 6);
    EXPECT_EQ(partition_for_group("grp-\xf0\x9f\x9a\x80", 50), 35);  // |h| of a negative hash
    EXPECT_EQ(partition_for_group(std::string(100, 'a'), 50), 40);
    EXPECT_EQ(partition_for_group("mygroup", 3), 2);
    EXPECT_EQ(partition_for_group("", 50), 0);
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE; Utils.abs makes it 0.
    EXPECT_EQ(java_string_hash("polygenelubricants"), INT32_MIN);
    EXPECT_EQ(partition_for_group("polygenelubricants", 50), 0);
}

TEST(offsets_topic, topic_spec_from_config) {
    broker_config c;
    c.offsets_topic_num_partitions = 7;
    c.offsets_topic_segment_bytes = 1 << 20;
    c.offsets_topic_replication_factor = 3;
    auto spec = offsets_topic_spec(c);
    EXPECT_EQ(spec.name, "__consumer_offsets");
    EXPECT_EQ(spec.partitions, 7);
    EXPECT_EQ(spec.replication_factor, 1);
    EXPECT_EQ(spec.configs.at("cleanup.policy"), "compact");
    EXPECT_EQ(spec.configs.at("segment.bytes"), "1048576");
    EXPECT_EQ(spec.configs.at("compression.type"), "producer");
}

}  // namespace
}  // namespace runnel::server::groups
