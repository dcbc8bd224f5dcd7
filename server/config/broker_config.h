// The broker's static configuration: a Kafka-style server.properties file plus `--override
// key=value` arguments (applied after the file, as Kafka does), validated with Kafka's rules and
// defaults and turned into typed fields.
//
// Keys Runnel does not know, or knows but has no feature for yet (zookeeper.*, ssl.*, sasl.*,
// controller quorum settings, replica fetchers, ...), are accepted and listed in ignored_keys so
// the caller can log them in one warning.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/config/config_entry.h"
#include "server/config/properties.h"

namespace runnel::server {

enum class security_protocol : uint8_t { plaintext, ssl, sasl_plaintext, sasl_ssl };

std::string_view to_string(security_protocol p);

struct listener_endpoint {
    std::string name;  // upper-cased, as Kafka normalises listener names
    security_protocol protocol = security_protocol::plaintext;
    // Empty: bind to all interfaces; when advertised, Kafka (and so Runnel) substitutes the
    // machine's canonical host name (see local_canonical_host_name()).
    std::string host;
    // 0 asks for an ephemeral port; the caller must advertise the port actually bound.
    uint16_t port = 0;
    bool operator==(const listener_endpoint&) const = default;
};

// "NAME://host:port", with IPv6 hosts in brackets.
std::string to_string(const listener_endpoint& e);

// The canonical (fully qualified) name of this machine, as Java's
// InetAddress.getLocalHost().getCanonicalHostName() gives it; falls back to the plain host name,
// then "localhost". Used to advertise listeners whose host is empty.
std::string local_canonical_host_name();

struct broker_config {
    // Identity. node.id wins over broker.id; 0 when neither is set (Kafka would require one).
    int32_t node_id = 0;
    std::optional<std::string> cluster_id;  // cluster.id (Runnel-specific)

    // Network.
    std::vector<listener_endpoint> listeners{{"PLAINTEXT", security_protocol::plaintext, "", 9092}};
    // advertised.listeners, or listeners when unset. Controller listeners are left out of both.
    std::vector<listener_endpoint> advertised_listeners{
        {"PLAINTEXT", security_protocol::plaintext, "", 9092}};
    int32_t socket_request_max_bytes = 104857600;
    int32_t socket_send_buffer_bytes = -1;  // -1: OS default (autotuning)
    int32_t socket_receive_buffer_bytes = -1;  // -1: OS default (autotuning)
    // runnel.socket.loopback.congestion.control; empty keeps the system's (client_socket.h)
    std::string loopback_congestion_control = "reno";
    int64_t connections_max_idle_ms = 600000;
    int32_t fetch_max_bytes = 57671680;
    int32_t num_network_threads = 3;  // accepted for compatibility; Runnel uses shards
    int32_t num_io_threads = 8;  // blocking disk work (flushes, cold reads) off the shards
    int32_t shards = 0;  // runnel.shards; 0 = one per CPU core (see shard_count())
    int32_t shard_poll_us = 0;  // runnel.shard.poll.us

    // Topic creation.
    std::vector<std::string> log_dirs{"/tmp/kafka-logs"};
    int32_t num_partitions = 1;
    int32_t default_replication_factor = 1;
    bool auto_create_topics_enable = true;
    bool delete_topic_enable = true;
    int32_t max_partitions = 0;  // runnel.max.partitions; 0 = from memory (partition_limit())
    int32_t max_partitions_per_request = 10000;  // runnel.max.partitions.per.request
    int32_t log_open_files_max = 0;  // runnel.log.open.files.max; 0 = open_log_files_limit()

    // Broker-wide defaults of topic configs (see topic_config for the topic-level names).
    int32_t message_max_bytes = 1048588;
    int32_t log_segment_bytes = 1073741824;
    int64_t log_roll_ms = 604800000;  // log.roll.ms, else log.roll.hours
    int64_t log_roll_jitter_ms = 0;  // log.roll.jitter.ms, else log.roll.jitter.hours
    int64_t log_retention_ms = 604800000;  // ms > minutes > hours; -1 = unlimited
    int64_t log_retention_bytes = -1;  // -1 = unlimited
    int64_t log_flush_interval_messages = INT64_MAX;
    std::optional<int64_t> log_flush_interval_ms;  // unset: log_flush_scheduler_interval_ms
    int64_t log_flush_scheduler_interval_ms = INT64_MAX;
    int32_t log_index_interval_bytes = 4096;
    int32_t log_index_size_max_bytes = 10485760;
    int64_t log_segment_delete_delay_ms = 60000;
    timestamp_type log_message_timestamp_type = timestamp_type::create_time;
    int64_t log_message_timestamp_before_max_ms = INT64_MAX;
    int64_t log_message_timestamp_after_max_ms = INT64_MAX;
    uint8_t log_cleanup_policy = cleanup_delete;  // cleanup_delete / cleanup_compact bits
    bool log_preallocate = false;
    int64_t log_local_retention_ms = -2;  // -2: follow retention
    int64_t log_local_retention_bytes = -2;  // -2: follow retention
    compression_type compression = compression_type::producer;
    int32_t compression_gzip_level = gzip_default_level;
    int32_t compression_lz4_level = lz4_default_level;
    int32_t compression_zstd_level = zstd_default_level;
    int32_t min_insync_replicas = 1;
    bool unclean_leader_election_enable = false;

    // Log manager.
    int64_t log_retention_check_interval_ms = 300000;
    int32_t log_flush_offset_checkpoint_interval_ms = 60000;
    int32_t num_recovery_threads_per_data_dir = 1;
    bool log_cleaner_enable = true;
    int32_t log_cleaner_threads = 1;
    int64_t log_cleaner_backoff_ms = 15000;
    int64_t log_cleaner_dedupe_buffer_size = 134217728;
    double log_cleaner_io_buffer_load_factor = 0.9;
    int32_t log_cleaner_io_buffer_size = 524288;
    double log_cleaner_min_cleanable_ratio = 0.5;
    int64_t log_cleaner_delete_retention_ms = 86400000;
    int64_t log_cleaner_min_compaction_lag_ms = 0;
    int64_t log_cleaner_max_compaction_lag_ms = INT64_MAX;

    // Consumer groups and offsets.
    int32_t offsets_topic_num_partitions = 50;
    int16_t offsets_topic_replication_factor = 3;
    int32_t offsets_topic_segment_bytes = 104857600;
    int32_t offsets_retention_minutes = 10080;
    int64_t offsets_retention_check_interval_ms = 600000;
    int32_t offset_metadata_max_bytes = 4096;
    int32_t group_initial_rebalance_delay_ms = 3000;
    int32_t group_min_session_timeout_ms = 6000;
    int32_t group_max_session_timeout_ms = 1800000;
    int32_t group_max_size = INT32_MAX;
    int32_t group_consumer_heartbeat_interval_ms = 5000;  // KIP-848 consumer groups
    int32_t group_consumer_session_timeout_ms = 45000;

    // Transactions and idempotence.
    int32_t transaction_state_log_num_partitions = 50;
    int16_t transaction_state_log_replication_factor = 3;
    int32_t transaction_state_log_min_isr = 2;
    int32_t transaction_state_log_segment_bytes = 104857600;
    int32_t transactional_id_expiration_ms = 604800000;
    int32_t transaction_max_timeout_ms = 900000;
    int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms = 10000;
    int32_t transaction_remove_expired_transaction_cleanup_interval_ms = 3600000;
    int32_t producer_id_expiration_ms = 86400000;
    int32_t producer_id_expiration_check_interval_ms = 600000;

    // What the caller should log after loading.
    std::vector<std::string> ignored_keys;  // unknown or unsupported keys, sorted, no duplicates
    std::vector<std::string> warnings;  // one sentence each, e.g. skipped controller listeners

    // Known keys as set in the file or by --override (last setting wins), raw text.
    std::map<std::string, std::string, std::less<>> explicit_values;
    // Where configuration came from, for messages: the file path.
    std::string origin;

    // Reads `path` and applies `overrides` ("key=value"; "key" alone sets an empty value, as in
    // Kafka). Throws config_error, e.g.
    //   etc/server.properties:12: log.segment.bytes = "abc": expected an integer between 14 and
    //   2147483647
    static broker_config load(const std::string& path, const std::vector<std::string>& overrides);

    // The same from already-parsed entries; `origin` stands for the file in messages.
    static broker_config from_properties(const std::vector<property>& props,
                                         const std::vector<std::string>& overrides,
                                         std::string origin = "<properties>");

    // Every known key for DescribeConfigs on this broker, sorted by name: source
    // STATIC_BROKER_CONFIG when set in the file or by --override, DEFAULT_CONFIG otherwise;
    // read-only, not sensitive; synonyms as Kafka lists them (e.g. log.retention.ms, .minutes,
    // .hours), from this key down.
    std::vector<config_entry> describe() const;

    // Raw text of a known key as set in the file or by --override.
    std::optional<std::string_view> explicit_value(std::string_view key) const;

    // Number of shard threads to run: runnel.shards, or the CPU count when 0.
    uint32_t shard_count() const;
    // Most partitions this broker hosts: runnel.max.partitions, or, when 0, one per
    // memory_per_partition of half the memory the broker may use (at least 1,000).
    int64_t partition_limit() const;
    // What a partition is budgeted in memory: its own structures measured at a few KiB
    // (docs/benchmarks.md, partition scale), with room for index entries, producer state and the
    // buffers of requests in flight.
    static constexpr int64_t memory_per_partition = 64 * 1024;
    // Segment files kept open at once: runnel.log.open.files.max, or, when 0, half the soft open
    // file limit (the rest is for connections, flushes and checkpoints), at least 64.
    int64_t open_log_files_limit() const;

    // The table of keys Runnel honours, in one place.
    static std::span<const config_key> known_keys();
    static const config_key* find_key(std::string_view name);

    // Broker keys that configure the same thing, highest precedence first (Kafka's
    // brokerConfigSynonyms): e.g. log.retention.ms → {log.retention.ms, log.retention.minutes,
    // log.retention.hours}. A key without synonyms yields just itself.
    static std::vector<std::string_view> synonyms_of(std::string_view name);
};

}  // namespace runnel::server
