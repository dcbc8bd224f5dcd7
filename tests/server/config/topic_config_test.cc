#include "server/config/topic_config.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace runnel::server {
namespace {

broker_config broker_from(std::string_view text) {
    return broker_config::from_properties(parse_properties(text), {}, "server.properties");
}

const config_entry& entry(const std::vector<config_entry>& entries, std::string_view name) {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const config_entry& e) { return e.name == name; });
    if (it == entries.end()) throw std::runtime_error("no entry " + std::string(name));
    return *it;
}

TEST(TopicConfigTest, ValidateAcceptsGoodValues) {
    EXPECT_EQ(topic_config::validate("retention.ms", "-1"), std::nullopt);
    EXPECT_EQ(topic_config::validate("retention.ms", " 1000 "), std::nullopt);
    EXPECT_EQ(topic_config::validate("cleanup.policy", "compact,delete"), std::nullopt);
    EXPECT_EQ(topic_config::validate("cleanup.policy", "compact, delete"), std::nullopt);
    EXPECT_EQ(topic_config::validate("cleanup.policy", ""), std::nullopt);
    EXPECT_EQ(topic_config::validate("compression.type", "lz4"), std::nullopt);
    EXPECT_EQ(topic_config::validate("compression.gzip.level", "-1"), std::nullopt);
    EXPECT_EQ(topic_config::validate("compression.gzip.level", "9"), std::nullopt);
    EXPECT_EQ(topic_config::validate("compression.zstd.level", "-131072"), std::nullopt);
    EXPECT_EQ(topic_config::validate("min.cleanable.dirty.ratio", "0.01"), std::nullopt);
    EXPECT_EQ(topic_config::validate("min.cleanable.dirty.ratio", "1"), std::nullopt);
    EXPECT_EQ(topic_config::validate("preallocate", "TRUE"), std::nullopt);
    EXPECT_EQ(topic_config::validate("message.timestamp.type", "LogAppendTime"), std::nullopt);
    EXPECT_EQ(topic_config::validate("leader.replication.throttled.replicas", "*"), std::nullopt);
    EXPECT_EQ(topic_config::validate("leader.replication.throttled.replicas", "0:1,1:2"),
              std::nullopt);
    EXPECT_EQ(topic_config::validate("local.retention.ms", "-2"), std::nullopt);
}

TEST(TopicConfigTest, ValidateMessages) {
    EXPECT_EQ(topic_config::validate("retention.hours", "1"),
              "Unknown topic config name: retention.hours");
    // Broker-level names are not topic configs.
    EXPECT_EQ(topic_config::validate("log.retention.ms", "1"),
              "Unknown topic config name: log.retention.ms");
    EXPECT_EQ(topic_config::validate("segment.bytes", "abc"),
              "Invalid value abc for configuration segment.bytes: expected an integer between 14 "
              "and 2147483647");
    EXPECT_EQ(topic_config::validate("segment.bytes", "13"),
              "Invalid value 13 for configuration segment.bytes: expected an integer between 14 "
              "and 2147483647");
    EXPECT_EQ(topic_config::validate("retention.ms", "-2"),
              "Invalid value -2 for configuration retention.ms: expected an integer between -1 "
              "and 9223372036854775807");
    EXPECT_EQ(topic_config::validate("cleanup.policy", "compact,archive"),
              "Invalid value compact,archive for configuration cleanup.policy: expected a "
              "comma-separated list of: compact, delete");
    EXPECT_EQ(topic_config::validate("compression.type", "GZIP"),
              "Invalid value GZIP for configuration compression.type: expected one of: "
              "uncompressed, zstd, lz4, snappy, gzip, producer");
    EXPECT_EQ(topic_config::validate("min.cleanable.dirty.ratio", "1.5"),
              "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: expected a number "
              "between 0 and 1");
    EXPECT_EQ(topic_config::validate("preallocate", "yes"),
              "Invalid value yes for configuration preallocate: expected true or false");
    EXPECT_EQ(topic_config::validate("compression.gzip.level", "0"),
              "Invalid value 0 for configuration compression.gzip.level: expected an integer "
              "between 1 and 9, or -1");
    EXPECT_EQ(topic_config::validate("compression.lz4.level", "18"),
              "Invalid value 18 for configuration compression.lz4.level: expected an integer "
              "between 1 and 17");
    EXPECT_NE(topic_config::validate("leader.replication.throttled.replicas", "0-1"), std::nullopt);
    EXPECT_NE(topic_config::validate("max.message.bytes", ""), std::nullopt);
    EXPECT_NE(topic_config::validate("segment.ms", "0"), std::nullopt);
    EXPECT_NE(topic_config::validate("retention.bytes", "1.5"), std::nullopt);
}

TEST(TopicConfigTest, ValidateAllChecksRelatedKeys) {
    broker_config broker;
    EXPECT_EQ(topic_config::validate_all({{"retention.ms", "1000"}}, broker), std::nullopt);
    EXPECT_EQ(topic_config::validate_all({{"retention.ms", "x"}}, broker),
              "Invalid value x for configuration retention.ms: expected an integer between -1 "
              "and 9223372036854775807");
    EXPECT_EQ(topic_config::validate_all(
                  {{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}}, broker),
              "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms "
              "(5)");
    // The broker's value fills in the key the topic leaves out.
    auto strict = broker_from("log.cleaner.max.compaction.lag.ms=100");
    EXPECT_NE(topic_config::validate_all({{"min.compaction.lag.ms", "101"}}, strict), std::nullopt);
    EXPECT_EQ(topic_config::validate_all({{"min.compaction.lag.ms", "100"}}, strict), std::nullopt);
    EXPECT_EQ(topic_config::validate_all({{"remote.storage.enable", "true"}}, broker),
              "Tiered Storage functionality is disabled in the broker. Topic cannot be "
              "configured with remote log storage.");
    EXPECT_THROW(topic_config({{"segment.bytes", "1"}}, broker), config_error);
    EXPECT_THROW(topic_config({{"no.such.key", "1"}}, broker), config_error);
    // A stored topic whose overrides conflict with changed broker settings still loads.
    topic_config stored({{"min.compaction.lag.ms", "101"}}, strict);
    EXPECT_EQ(stored.min_compaction_lag_ms(), 101);
    EXPECT_EQ(stored.max_compaction_lag_ms(), 100);
}

TEST(TopicConfigTest, KafkaDefaultsWithoutBrokerSettings) {
    topic_config c{broker_config{}};
    EXPECT_EQ(c.segment_bytes(), 1073741824);
    EXPECT_EQ(c.segment_ms(), 604800000);
    EXPECT_EQ(c.segment_jitter_ms(), 0);
    EXPECT_EQ(c.segment_index_bytes(), 10485760);
    EXPECT_EQ(c.retention_ms(), 604800000);
    EXPECT_EQ(c.retention_bytes(), -1);
    EXPECT_EQ(c.max_message_bytes(), 1048588);
    EXPECT_EQ(c.message_timestamp_type(), timestamp_type::create_time);
    EXPECT_EQ(c.message_timestamp_before_max_ms(), INT64_MAX);
    EXPECT_EQ(c.message_timestamp_after_max_ms(), 3600000);  // Kafka 4.0's hour (KIP-1030)
    EXPECT_EQ(c.cleanup_policy().bits, cleanup_delete);
    EXPECT_TRUE(c.delete_enabled());
    EXPECT_FALSE(c.compact());
    EXPECT_EQ(c.flush_messages(), INT64_MAX);
    EXPECT_EQ(c.flush_ms(), INT64_MAX);
    EXPECT_EQ(c.index_interval_bytes(), 4096);
    EXPECT_EQ(c.delete_retention_ms(), 86400000);
    EXPECT_EQ(c.file_delete_delay_ms(), 60000);
    EXPECT_DOUBLE_EQ(c.min_cleanable_dirty_ratio(), 0.5);
    EXPECT_EQ(c.min_compaction_lag_ms(), 0);
    EXPECT_EQ(c.max_compaction_lag_ms(), INT64_MAX);
    EXPECT_FALSE(c.preallocate());
    EXPECT_EQ(c.compression(), compression_type::producer);
    EXPECT_EQ(c.compression_gzip_level(), -1);
    EXPECT_EQ(c.compression_lz4_level(), 9);
    EXPECT_EQ(c.compression_zstd_level(), 3);
    EXPECT_EQ(c.min_insync_replicas(), 1);
    EXPECT_FALSE(c.unclean_leader_election_enable());
    EXPECT_TRUE(c.overrides().empty());
}

TEST(TopicConfigTest, OverrideBeatsBrokerFileBeatsDefault) {
    auto broker = broker_from(
        "log.retention.hours=24\n"
        "log.roll.ms=5000\n"
        "message.max.bytes=2000000\n"
        "log.cleanup.policy=compact\n"
        "log.flush.interval.messages=100\n"
        "log.message.timestamp.type=LogAppendTime\n"
        "log.cleaner.min.cleanable.ratio=0.2\n"
        "compression.type=lz4\n"
        "log.preallocate=true\n");
    topic_config inherited(broker);
    EXPECT_EQ(inherited.retention_ms(), 24LL * 3600 * 1000);
    EXPECT_EQ(inherited.segment_ms(), 5000);
    EXPECT_EQ(inherited.max_message_bytes(), 2000000);
    EXPECT_TRUE(inherited.compact());
    EXPECT_FALSE(inherited.delete_enabled());
    EXPECT_EQ(inherited.flush_messages(), 100);
    EXPECT_EQ(inherited.message_timestamp_type(), timestamp_type::log_append_time);
    EXPECT_DOUBLE_EQ(inherited.min_cleanable_dirty_ratio(), 0.2);
    EXPECT_EQ(inherited.compression(), compression_type::lz4);
    EXPECT_TRUE(inherited.preallocate());
    EXPECT_EQ(inherited.segment_bytes(), 1073741824);  // not set anywhere: Kafka's default

    topic_config own({{"retention.ms", "1000"},
                      {"cleanup.policy", "compact,delete"},
                      {"max.message.bytes", "100"},
                      {"message.timestamp.type", "CreateTime"}},
                     broker);
    EXPECT_EQ(own.retention_ms(), 1000);
    EXPECT_EQ(own.cleanup_policy().bits, cleanup_compact | cleanup_delete);
    EXPECT_EQ(own.max_message_bytes(), 100);
    EXPECT_EQ(own.message_timestamp_type(), timestamp_type::create_time);
    EXPECT_EQ(own.segment_ms(), 5000);
    EXPECT_EQ(own.overrides().at("retention.ms"), "1000");
}

TEST(TopicConfigTest, BrokerRetentionUnitsAndUnlimited) {
    EXPECT_EQ(topic_config(broker_from("log.retention.minutes=10")).retention_ms(), 600000);
    EXPECT_EQ(topic_config(broker_from("log.retention.hours=-1")).retention_ms(), -1);
    EXPECT_EQ(topic_config(broker_from("log.roll.hours=1")).segment_ms(), 3600000);
    EXPECT_EQ(topic_config(broker_from("log.flush.interval.ms=250")).flush_ms(), 250);
    EXPECT_EQ(topic_config(broker_from("log.flush.scheduler.interval.ms=300")).flush_ms(), 300);
}

TEST(TopicConfigTest, BrokerBuiltInCodeIsHonoured) {
    broker_config broker;
    broker.log_segment_bytes = 4096;
    broker.log_retention_ms = 123;
    topic_config c(broker);
    EXPECT_EQ(c.segment_bytes(), 4096);
    EXPECT_EQ(c.retention_ms(), 123);
}

TEST(TopicConfigTest, DescribeListsEveryTopicConfigSorted) {
    broker_config broker;
    auto entries = topic_config(broker).describe(broker);
    EXPECT_EQ(entries.size(), 37u);  // Kafka 4.4's topic keys
    EXPECT_EQ(entries.size(), topic_config::known_keys().size());
    EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end(),
                               [](const auto& a, const auto& b) { return a.name < b.name; }));
    for (const auto& e : entries) {
        EXPECT_EQ(e.source, config_source::default_config) << e.name;
        EXPECT_TRUE(e.is_default) << e.name;
        EXPECT_FALSE(e.read_only) << e.name;
        EXPECT_FALSE(e.sensitive) << e.name;
        EXPECT_FALSE(e.documentation.empty()) << e.name;
        EXPECT_TRUE(e.value.has_value()) << e.name;
        EXPECT_NE(e.type, config_type::unknown) << e.name;
    }
    EXPECT_EQ(entry(entries, "retention.ms").value, "604800000");
    EXPECT_EQ(entry(entries, "retention.ms").type, config_type::int64);
    EXPECT_EQ(entry(entries, "segment.bytes").type, config_type::int32);
    EXPECT_EQ(entry(entries, "cleanup.policy").value, "delete");
    EXPECT_EQ(entry(entries, "cleanup.policy").type, config_type::list);
    EXPECT_EQ(entry(entries, "min.cleanable.dirty.ratio").value, "0.5");
    EXPECT_EQ(entry(entries, "min.cleanable.dirty.ratio").type, config_type::float64);
    EXPECT_EQ(entry(entries, "preallocate").value, "false");
    EXPECT_EQ(entry(entries, "preallocate").type, config_type::boolean);
    EXPECT_EQ(entry(entries, "compression.type").value, "producer");
    EXPECT_EQ(entry(entries, "message.timestamp.type").value, "CreateTime");
    EXPECT_EQ(entry(entries, "flush.ms").value, "9223372036854775807");
    EXPECT_EQ(entry(entries, "leader.replication.throttled.replicas").value, "");
    // Kafka 4.0 dropped these.
    EXPECT_EQ(topic_config::find_key("message.format.version"), nullptr);
    EXPECT_EQ(topic_config::find_key("message.downconversion.enable"), nullptr);
    EXPECT_EQ(topic_config::find_key("message.timestamp.difference.max.ms"), nullptr);
}

TEST(TopicConfigTest, DescribeSourcesAndSynonyms) {
    auto broker = broker_from("log.retention.minutes=10\nmessage.max.bytes=2000000\n");
    topic_config c({{"segment.bytes", " 1048576 "}, {"min.cleanable.dirty.ratio", "0.10"}}, broker);
    auto entries = c.describe(broker);

    // Not set anywhere, and the primary broker key (log.roll.ms) has no default of its own: no
    // synonym, as Kafka 4.4 answers (the 168 of log.roll.hours is not listed).
    const auto& segment_ms = entry(entries, "segment.ms");
    EXPECT_EQ(segment_ms.value, "604800000");
    EXPECT_EQ(segment_ms.source, config_source::default_config);
    EXPECT_TRUE(segment_ms.synonyms.empty());
    // The primary broker key's default when it has one.
    EXPECT_EQ(entry(entries, "cleanup.policy").synonyms,
              (std::vector<config_synonym>{
                  {"log.cleanup.policy", "delete", config_source::default_config}}));

    // Set in the broker's file under a lower synonym, converted to the topic's unit. Kafka 4.4
    // lists the broker's synonyms from log.retention.ms itself on, so none, and calls the value
    // DEFAULT_CONFIG (checked against a Kafka 4.4 broker with log.retention.minutes=10).
    const auto& retention = entry(entries, "retention.ms");
    EXPECT_EQ(retention.value, "600000");
    EXPECT_EQ(retention.source, config_source::default_config);
    EXPECT_TRUE(retention.synonyms.empty());

    const auto& max_message = entry(entries, "max.message.bytes");
    EXPECT_EQ(max_message.value, "2000000");
    EXPECT_EQ(max_message.source, config_source::static_broker_config);
    EXPECT_EQ(max_message.synonyms,
              (std::vector<config_synonym>{
                  {"message.max.bytes", "2000000", config_source::static_broker_config},
                  {"message.max.bytes", "1048588", config_source::default_config}}));

    // Set on the topic: the topic's value first, canonical form.
    const auto& segment = entry(entries, "segment.bytes");
    EXPECT_EQ(segment.value, "1048576");
    EXPECT_EQ(segment.source, config_source::dynamic_topic_config);
    EXPECT_FALSE(segment.is_default);
    EXPECT_FALSE(segment.read_only);
    EXPECT_EQ(segment.synonyms,
              (std::vector<config_synonym>{
                  {"segment.bytes", "1048576", config_source::dynamic_topic_config},
                  {"log.segment.bytes", "1073741824", config_source::default_config}}));
    EXPECT_EQ(entry(entries, "min.cleanable.dirty.ratio").value, "0.1");

    // No broker synonym: no synonyms unless the topic sets it.
    const auto& remote = entry(entries, "remote.storage.enable");
    EXPECT_EQ(remote.source, config_source::default_config);
    EXPECT_TRUE(remote.synonyms.empty());
}

TEST(TopicConfigTest, DescribeOverrideOverBrokerSetting) {
    auto broker = broker_from("log.retention.ms=5000\nlog.retention.hours=2\n");
    topic_config c({{"retention.ms", "-1"}}, broker);
    auto entries = c.describe(broker);
    const auto& retention = entry(entries, "retention.ms");
    EXPECT_EQ(retention.value, "-1");
    EXPECT_EQ(retention.source, config_source::dynamic_topic_config);
    EXPECT_EQ(retention.synonyms,
              (std::vector<config_synonym>{
                  {"retention.ms", "-1", config_source::dynamic_topic_config},
                  {"log.retention.ms", "5000", config_source::static_broker_config},
                  {"log.retention.hours", "2", config_source::static_broker_config},
                  {"log.retention.hours", "168", config_source::default_config}}));
}

TEST(TopicConfigTest, DoublesAreShownAsJavaPrintsThem) {
    broker_config broker;
    auto value = [&](std::string ratio) {
        topic_config c({{"min.cleanable.dirty.ratio", ratio}}, broker);
        return *entry(c.describe(broker), "min.cleanable.dirty.ratio").value;
    };
    EXPECT_EQ(value("1"), "1.0");
    EXPECT_EQ(value("0"), "0.0");
    EXPECT_EQ(value("0.25"), "0.25");
    EXPECT_EQ(value("1e-4"), "1.0E-4");
    EXPECT_EQ(value("0.001"), "0.001");
    EXPECT_EQ(value(".5"), "0.5");
}

TEST(TopicConfigTest, BrokerSynonymTable) {
    EXPECT_EQ(topic_config::broker_synonym("retention.ms"), "log.retention.ms");
    EXPECT_EQ(topic_config::broker_synonym("segment.ms"), "log.roll.ms");
    EXPECT_EQ(topic_config::broker_synonym("max.message.bytes"), "message.max.bytes");
    EXPECT_EQ(topic_config::broker_synonym("min.cleanable.dirty.ratio"),
              "log.cleaner.min.cleanable.ratio");
    EXPECT_EQ(topic_config::broker_synonym("file.delete.delay.ms"), "log.segment.delete.delay.ms");
    EXPECT_EQ(topic_config::broker_synonym("remote.storage.enable"), "");
    // Every broker synonym named in the topic table is a key the broker knows.
    for (const auto& key : topic_config::known_keys()) {
        auto synonym = topic_config::broker_synonym(key.name);
        if (!synonym.empty()) {
            EXPECT_NE(broker_config::find_key(synonym), nullptr) << synonym;
        }
    }
}

}  // namespace
}  // namespace runnel::server
