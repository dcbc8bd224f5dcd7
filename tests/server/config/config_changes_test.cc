#include "server/config/config_changes.h"

#include <gtest/gtest.h>

#include "server/config/properties.h"
#include "server/config/topic_config.h"

namespace runnel::server {
namespace {

using protocol::error_code;
using overrides = std::map<std::string, std::string>;

constexpr int8_t set_op = 0, delete_op = 1, append_op = 2, subtract_op = 3;

broker_config broker_from(std::string_view text) {
    return broker_config::from_properties(parse_properties(text), {}, "server.properties");
}

overrides applied(const overrides& before, std::vector<config_change> changes,
                  bool replace_all = false, std::string_view broker = "") {
    auto r = apply_topic_config_changes(before, changes, replace_all, broker_from(broker));
    if (auto* e = std::get_if<config_change_error>(&r)) {
        ADD_FAILURE() << "refused: " << e->message;
        return {};
    }
    return std::get<overrides>(r);
}

config_change_error refused(const overrides& before, std::vector<config_change> changes,
                            bool replace_all = false) {
    auto r = apply_topic_config_changes(before, changes, replace_all, broker_from(""));
    if (auto* e = std::get_if<config_change_error>(&r)) return *e;
    ADD_FAILURE() << "accepted";
    return {error_code::none, ""};
}

TEST(ConfigChangesTest, SetAndDeleteChangeOnlyTheNamedKeys) {
    overrides before{{"retention.ms", "1000"}, {"segment.bytes", "1048576"}};
    EXPECT_EQ(applied(before, {{"retention.ms", set_op, "2000"}, {"segment.bytes", delete_op, {}}}),
              (overrides{{"retention.ms", "2000"}}));
    // Deleting a key the topic doesn't set is no change, as in Kafka.
    EXPECT_EQ(applied(before, {{"flush.ms", delete_op, {}}}), before);
}

TEST(ConfigChangesTest, ReplaceAllKeepsExactlyTheGivenKeys) {
    overrides before{{"retention.ms", "1000"}, {"segment.bytes", "1048576"}};
    EXPECT_EQ(applied(before, {{"max.message.bytes", set_op, "2048"}}, true),
              (overrides{{"max.message.bytes", "2048"}}));
    EXPECT_EQ(applied(before, {}, true), overrides{});
}

TEST(ConfigChangesTest, AppendAndSubtractStartFromTheInheritedList) {
    // cleanup.policy inherits "delete" from the broker default: APPEND adds to it.
    EXPECT_EQ(applied({}, {{"cleanup.policy", append_op, "compact"}}),
              (overrides{{"cleanup.policy", "delete,compact"}}));
    // ... or from log.cleanup.policy when the broker's file sets it.
    EXPECT_EQ(applied({}, {{"cleanup.policy", append_op, "delete"}}, false,
                      "log.cleanup.policy=compact\n"),
              (overrides{{"cleanup.policy", "compact,delete"}}));
    // Items already present are not added twice; SUBTRACT removes.
    EXPECT_EQ(
        applied({{"cleanup.policy", "delete,compact"}}, {{"cleanup.policy", append_op, "compact"}}),
        (overrides{{"cleanup.policy", "delete,compact"}}));
    EXPECT_EQ(applied({{"cleanup.policy", "delete,compact"}},
                      {{"cleanup.policy", subtract_op, "delete"}}),
              (overrides{{"cleanup.policy", "compact"}}));
}

TEST(ConfigChangesTest, RefusesWithKafkasCodesAndMessages) {
    auto dup = refused({}, {{"retention.ms", set_op, "1"}, {"retention.ms", delete_op, {}}});
    EXPECT_EQ(dup.code, error_code::invalid_request);
    EXPECT_EQ(dup.message, "Error due to duplicate config keys");

    auto op = refused({}, {{"retention.ms", 7, "1"}});
    EXPECT_EQ(op.code, error_code::invalid_request);

    auto null_value = refused({}, {{"retention.ms", set_op, std::nullopt}});
    EXPECT_EQ(null_value.code, error_code::invalid_request);

    auto not_list = refused({}, {{"retention.ms", append_op, "5"}});
    EXPECT_EQ(not_list.code, error_code::invalid_config);
    EXPECT_EQ(not_list.message, "Config value append is not allowed for config key: retention.ms");

    auto unknown = refused({}, {{"no.such.key", set_op, "5"}});
    EXPECT_EQ(unknown.code, error_code::invalid_config);
    EXPECT_EQ(unknown.message, "Unknown topic config name: no.such.key");

    auto bad = refused({}, {{"segment.bytes", set_op, "5"}});
    EXPECT_EQ(bad.code, error_code::invalid_config);
    EXPECT_NE(bad.message.find("segment.bytes"), std::string::npos);

    // Keys are checked together: min above max compaction lag is refused.
    auto cross =
        refused({{"max.compaction.lag.ms", "1000"}}, {{"min.compaction.lag.ms", set_op, "5000"}});
    EXPECT_EQ(cross.code, error_code::invalid_config);
}

// Dynamic broker configs (kafka-configs --alter --entity-type brokers). The refusals' codes and
// messages are Kafka 4.4's, as its broker answered them (test_versus_kafka compares the codes).
std::variant<config_map, config_change_error> broker_changes(const config_map& layer,
                                                             std::vector<config_change> changes,
                                                             bool cluster_default = false) {
    return apply_broker_config_changes(layer, changes, false, cluster_default, broker_from(""));
}

TEST(BrokerConfigChangesTest, DynamicKeysAreSetAppendedAndDeleted) {
    auto r = broker_changes({{"log.segment.bytes", "1048576"}},
                            {{"log.retention.ms", set_op, "3600000"},
                             {"log.cleanup.policy", append_op, "compact"},
                             {"log.segment.bytes", delete_op, {}}});
    ASSERT_TRUE(std::holds_alternative<config_map>(r));
    // APPEND starts from the value in force (the default "delete").
    EXPECT_EQ(std::get<config_map>(r), (config_map{{"log.cleanup.policy", "delete,compact"},
                                                   {"log.retention.ms", "3600000"}}));
}

TEST(BrokerConfigChangesTest, RefusalsNameTheKeysAndChangeNothing) {
    auto error_of = [](std::variant<config_map, config_change_error> r) {
        auto* e = std::get_if<config_change_error>(&r);
        return e ? *e : config_change_error{error_code::none, ""};
    };
    auto e = error_of(broker_changes({}, {{"log.retention.hours", set_op, "5"}}));
    EXPECT_EQ(e.code, error_code::invalid_request);
    EXPECT_EQ(e.message, "Cannot update these configs dynamically: [log.retention.hours]");
    e = error_of(broker_changes({}, {{"num.partitions", set_op, "5"}}, true));
    EXPECT_EQ(e.message, "Cannot update these configs dynamically: [num.partitions]");
    e = error_of(broker_changes({}, {{"log.segment.bytes", set_op, "abc"}}));
    EXPECT_EQ(e.code, error_code::invalid_request);
    EXPECT_EQ(e.message.rfind("Invalid value abc for configuration log.segment.bytes: ", 0), 0u);
    e = error_of(broker_changes({}, {{"no.such.key", set_op, "1"}}));
    EXPECT_EQ(e.message, "Unknown broker config name: no.such.key");
    e = error_of(broker_changes({}, {{"log.retention.ms", append_op, "1"}}));
    EXPECT_EQ(e.code, error_code::invalid_config);
    EXPECT_EQ(e.message, "Config value append is not allowed for config key: log.retention.ms");
    e = error_of(
        broker_changes({}, {{"log.retention.ms", set_op, "1"}, {"log.retention.ms", set_op, "2"}}));
    EXPECT_EQ(e.message, "Error due to duplicate config keys");
}

TEST(BrokerConfigChangesTest, DynamicLayersWinOverTheFileAndAreDescribedBySource) {
    auto file = broker_from("log.retention.hours=2\nmessage.max.bytes=5000\n");
    auto live = file.with_dynamic({{{"log.retention.ms", "60000"}, {"message.max.bytes", "7000"}},
                                   {{"message.max.bytes", "9000"}}});
    EXPECT_EQ(live.log_retention_ms, 60000);
    EXPECT_EQ(live.message_max_bytes, 9000);
    EXPECT_EQ(live.explicit_value("message.max.bytes"), "5000");  // still the file's
    for (const auto& e : live.describe()) {
        if (e.name == "message.max.bytes") {
            EXPECT_EQ(e.value, "9000");
            EXPECT_EQ(e.source, config_source::dynamic_broker_config);
            EXPECT_FALSE(e.read_only);
            EXPECT_EQ(
                e.synonyms,
                (std::vector<config_synonym>{
                    {"message.max.bytes", "9000", config_source::dynamic_broker_config},
                    {"message.max.bytes", "7000", config_source::dynamic_default_broker_config},
                    {"message.max.bytes", "5000", config_source::static_broker_config},
                    {"message.max.bytes", "1048588", config_source::default_config}}));
        }
        if (e.name == "num.partitions") {
            EXPECT_TRUE(e.read_only);
        }
    }
    // Topics inherit the live values, with the broker's sources.
    topic_config topic(live);
    EXPECT_EQ(topic.retention_ms(), 60000);
    EXPECT_EQ(topic.max_message_bytes(), 9000);
    auto defaults = live.describe_cluster_defaults();
    ASSERT_EQ(defaults.size(), 2u);
    EXPECT_EQ(defaults[0].name, "log.retention.ms");
    EXPECT_EQ(defaults[0].source, config_source::dynamic_default_broker_config);
    // A dynamic value that makes the whole invalid is refused when the configuration is built.
    EXPECT_THROW(file.with_dynamic({{}, {{"log.cleaner.dedupe.buffer.size", "1024"}}}),
                 config_error);
}

TEST(BrokerConfigChangesTest, ReplicationThrottlesCanBeClearedButNotSet) {
    // kafka-reassign-partitions --verify deletes them on every broker: nothing to delete.
    auto r = apply_broker_config_changes({{"log.segment.bytes", "1048576"}},
                                         {{"leader.replication.throttled.rate", 1, {}},
                                          {"follower.replication.throttled.rate", 1, {}}},
                                         false, false, broker_config{});
    ASSERT_TRUE(std::holds_alternative<config_map>(r));
    EXPECT_EQ(std::get<config_map>(r), (config_map{{"log.segment.bytes", "1048576"}}));
    // Setting one is refused with a message, nothing changed.
    r = apply_broker_config_changes({}, {{"leader.replication.throttled.rate", 0, "1000000"}},
                                    false, false, broker_config{});
    ASSERT_TRUE(std::holds_alternative<config_change_error>(r));
    EXPECT_EQ(std::get<config_change_error>(r).code, protocol::error_code::invalid_request);
    EXPECT_NE(std::get<config_change_error>(r).message.find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace runnel::server
