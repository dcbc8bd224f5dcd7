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

    // Effective values.
    int32_t segment_bytes() const { return segment_bytes_; }
    int64_t segment_ms() const { return segment_ms_; }
    int64_t segment_jitter_ms() const { return segment_jitter_ms_; }
    int32_t segment_index_bytes() const { return segment_index_bytes_; }
    int64_t retention_ms() const { return retention_ms_; }        // -1: unlimited
    int64_t retention_bytes() const { return retention_bytes_; }  // negative: unlimited
    int32_t max_message_bytes() const { return max_message_bytes_; }
    timestamp_type message_timestamp_type() const { return message_timestamp_type_; }
    int64_t message_timestamp_before_max_ms() const { return message_timestamp_before_max_ms_; }
    int64_t message_timestamp_after_max_ms() const { return message_timestamp_after_max_ms_; }
    uint8_t cleanup_policy() const { return cleanup_policy_; }  // cleanup_delete/compact bits
    bool compact() const { return (cleanup_policy_ & cleanup_compact) != 0; }
    bool delete_enabled() const { return (cleanup_policy_ & cleanup_delete) != 0; }
    int64_t flush_messages() const { return flush_messages_; }
    int64_t flush_ms() const { return flush_ms_; }
    int32_t index_interval_bytes() const { return index_interval_bytes_; }
    int64_t delete_retention_ms() const { return delete_retention_ms_; }
    int64_t file_delete_delay_ms() const { return file_delete_delay_ms_; }
    double min_cleanable_dirty_ratio() const { return min_cleanable_dirty_ratio_; }
    int64_t min_compaction_lag_ms() const { return min_compaction_lag_ms_; }
    int64_t max_compaction_lag_ms() const { return max_compaction_lag_ms_; }
    bool preallocate() const { return preallocate_; }
    compression_type compression() const { return compression_; }
    int32_t compression_gzip_level() const { return compression_gzip_level_; }
    int32_t compression_lz4_level() const { return compression_lz4_level_; }
    int32_t compression_zstd_level() const { return compression_zstd_level_; }
    int32_t min_insync_replicas() const { return min_insync_replicas_; }
    bool unclean_leader_election_enable() const { return unclean_leader_election_enable_; }

  private:
    std::map<std::string, std::string> overrides_;
    int32_t segment_bytes_ = 0;
    int64_t segment_ms_ = 0;
    int64_t segment_jitter_ms_ = 0;
    int32_t segment_index_bytes_ = 0;
    int64_t retention_ms_ = 0;
    int64_t retention_bytes_ = 0;
    int32_t max_message_bytes_ = 0;
    timestamp_type message_timestamp_type_ = timestamp_type::create_time;
    int64_t message_timestamp_before_max_ms_ = 0;
    int64_t message_timestamp_after_max_ms_ = 0;
    uint8_t cleanup_policy_ = 0;
    int64_t flush_messages_ = 0;
    int64_t flush_ms_ = 0;
    int32_t index_interval_bytes_ = 0;
    int64_t delete_retention_ms_ = 0;
    int64_t file_delete_delay_ms_ = 0;
    double min_cleanable_dirty_ratio_ = 0;
    int64_t min_compaction_lag_ms_ = 0;
    int64_t max_compaction_lag_ms_ = 0;
    bool preallocate_ = false;
    compression_type compression_ = compression_type::producer;
    int32_t compression_gzip_level_ = 0;
    int32_t compression_lz4_level_ = 0;
    int32_t compression_zstd_level_ = 0;
    int32_t min_insync_replicas_ = 0;
    bool unclean_leader_election_enable_ = false;
};

}  // namespace runnel::server
