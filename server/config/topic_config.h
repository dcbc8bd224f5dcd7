// Per-topic configuration under Kafka's topic config names (retention.ms, segment.bytes, ...).
//
// A topic keeps only its explicit overrides; every other value comes from the broker's synonym key
// when the broker's file sets it (retention.ms ← log.retention.ms / .minutes / .hours,
// max.message.bytes ← message.max.bytes, ...), else from Kafka's default.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/config/broker_config.h"
#include "server/config/config_entry.h"

namespace runnel::server {

class topic_config {
  public:
    // A topic without overrides.
    explicit topic_config(const broker_config& broker);
    // Throws config_error with validate()'s message if an override is unknown or invalid. The
    // cross-key rules of validate_all() are not applied here, so stored topics always load; call
    // validate_all() before creating or altering a topic.
    topic_config(std::map<std::string, std::string> overrides, const broker_config& broker);

    // Checks one setting. Returns the message for CreateTopics/AlterConfigs to send with
    // INVALID_CONFIG ("Unknown topic config name: x", "Invalid value abc for configuration
    // segment.bytes: expected an integer between 14 and 2147483647"), or nullopt if valid.
    static std::optional<std::string> validate(std::string_view name, std::string_view value);

    // Checks a whole set of overrides: each one, then the rules that relate keys
    // (min.compaction.lag.ms <= max.compaction.lag.ms, no tiered storage) with the broker's values
    // filling in keys the set leaves out.
    static std::optional<std::string> validate_all(
        const std::map<std::string, std::string>& overrides, const broker_config& broker);

    // The topic keys, in one table (Kafka 4.0's LogConfig set).
    static std::span<const config_key> known_keys();
    static const config_key* find_key(std::string_view name);
    // The broker key whose value a topic key defaults to (first of its synonyms), or empty.
    static std::string_view broker_synonym(std::string_view name);

    // The topic's own settings, as given; this is what to persist.
    const std::map<std::string, std::string>& overrides() const { return overrides_; }

    // Every topic config for DescribeConfigs, sorted by name: source DYNAMIC_TOPIC_CONFIG when the
    // topic sets it, STATIC_BROKER_CONFIG when the broker's file sets a synonym, DEFAULT_CONFIG
    // otherwise; synonyms are the topic override, then the broker keys set in the file, then
    // the broker keys' defaults.
    std::vector<config_entry> describe(const broker_config& broker) const;

    // Effective values: one accessor per RUNNEL_TOPIC_FIELD row (retention_ms(), segment_bytes(),
    // cleanup_policy(), compression(), ...), the override if the topic sets one, else the
    // broker's value.
#define RUNNEL_TOPIC_FIELD(cpp_type, field, name, type, default_value, rule, broker_field, \
                           broker_synonym, doc)                                            \
    cpp_type field() const { return field##_; }
#define RUNNEL_TOPIC_KEY(name, type, default_value, rule, doc)
#include "server/config/keys/topic_keys.def"
#undef RUNNEL_TOPIC_FIELD
#undef RUNNEL_TOPIC_KEY

    bool compact() const { return cleanup_policy_.compacts(); }
    bool delete_enabled() const { return cleanup_policy_.deletes(); }
    bool log_append_time() const {
        return message_timestamp_type_ == timestamp_type::log_append_time;
    }

  private:
    std::map<std::string, std::string> overrides_;
#define RUNNEL_TOPIC_FIELD(cpp_type, field, name, type, default_value, rule, broker_field, \
                           broker_synonym, doc)                                            \
    cpp_type field##_{};
#define RUNNEL_TOPIC_KEY(name, type, default_value, rule, doc)
#include "server/config/keys/topic_keys.def"
#undef RUNNEL_TOPIC_FIELD
#undef RUNNEL_TOPIC_KEY
};

}  // namespace runnel::server
