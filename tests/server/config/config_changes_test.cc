#include "server/config/config_changes.h"

#include <gtest/gtest.h>

#include "server/config/properties.h"

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

}  // namespace
}  // namespace runnel::server
