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

using config_map = std::map<std::string, std::string, std::less<>>;

struct dynamic_broker_configs {
    config_map cluster_default;
    config_map this_broker;
    bool operator==(const dynamic_broker_configs&) const = default;
};

struct broker_config {
    // Identity. node.id wins over broker.id; 0 when neither is set (Kafka would require one).
    int32_t node_id = 0;
    // Whether node.id or broker.id was set; in a ZooKeeper cluster an unset id comes from
    // meta.properties or is generated (broker::start).
    bool node_id_configured = false;
    std::optional<std::string> cluster_id;  // cluster.id (Runnel-specific)
    // zookeeper.connection.timeout.ms, else zookeeper.session.timeout.ms (as Kafka)
    int32_t zookeeper_connection_timeout_ms = 18000;

    // Network.
    std::vector<listener_endpoint> listeners{{"PLAINTEXT", security_protocol::plaintext, "", 9092}};
    // advertised.listeners, or listeners when unset. Controller listeners are left out of both.
    std::vector<listener_endpoint> advertised_listeners{
        {"PLAINTEXT", security_protocol::plaintext, "", 9092}};
    // runnel.socket.loopback.congestion.control; empty keeps the system's (client_socket.h)
    std::string loopback_congestion_control = "reno";

    // Topic creation.
    std::vector<std::string> log_dirs{"/tmp/kafka-logs"};

    // Broker-wide defaults of topic configs (see topic_config for the topic-level names).
    int64_t log_roll_ms = 604800000;       // log.roll.ms, else log.roll.hours
    int64_t log_roll_jitter_ms = 0;        // log.roll.jitter.ms, else log.roll.jitter.hours
    int64_t log_retention_ms = 604800000;  // ms > minutes > hours; -1 = unlimited
    // log.flush.interval.ms, else log.flush.scheduler.interval.ms (Kafka's logFlushIntervalMs)
    int64_t log_flush_interval_ms = INT64_MAX;
    timestamp_type log_message_timestamp_type = timestamp_type::create_time;
    cleanup_policy_set log_cleanup_policy;
    compression_type compression = compression_type::producer;

    // Every RUNNEL_FIELD row of broker_keys.def: a field named in the row, set from its key.
#define RUNNEL_FIELD(cpp_type, field, name, type, mode, default_value, rule, doc) \
    cpp_type field = config_default<cpp_type>(default_value);
#define RUNNEL_KEY(name, type, mode, default_value, rule, doc)
#include "server/config/broker_keys.def"
#undef RUNNEL_FIELD
#undef RUNNEL_KEY

    // What the caller should log after loading.
    std::vector<std::string> ignored_keys;  // unknown or unsupported keys, sorted, no duplicates
    std::vector<std::string> warnings;      // one sentence each, e.g. skipped controller listeners

    // Known keys as set in the file or by --override (last setting wins), raw text.
    std::map<std::string, std::string, std::less<>> explicit_values;
    // Where configuration came from, for messages: the file path.
    std::string origin;

    // Dynamic broker configs (kafka-configs --alter --entity-type brokers), raw text by key: the
    // cluster-wide defaults (resource name "") and this broker's own (resource "<node.id>").
    // They win over the file: this broker's, then the defaults, then server.properties.
    dynamic_broker_configs dynamic;
    // The file's entries and the --override arguments, kept so with_dynamic() can rebuild.
    std::vector<property> file_properties;
    std::vector<std::string> override_arguments;

    // This configuration with `d` as its dynamic configs: loaded again from the file and
    // overrides with d's values layered on top, so that every derived field and cross-key rule
    // sees them. Throws config_error (naming "dynamic broker config") if the result is invalid.
    broker_config with_dynamic(dynamic_broker_configs d) const;

    // Reads `path` and applies `overrides` ("key=value"; "key" alone sets an empty value, as in
    // Kafka). Throws config_error, e.g.
    //   etc/server.properties:12: log.segment.bytes = "abc": expected an integer between 14 and
    //   2147483647
    static broker_config load(const std::string& path, const std::vector<std::string>& overrides);

    // The same from already-parsed entries; `origin` stands for the file in messages.
    static broker_config from_properties(const std::vector<property>& props,
                                         const std::vector<std::string>& overrides,
                                         std::string origin = "<properties>");
    // ... with dynamic configs layered on top.
    static broker_config from_sources(const std::vector<property>& props,
                                      const std::vector<std::string>& overrides, std::string origin,
                                      dynamic_broker_configs dynamic);

    // Every known key for DescribeConfigs on this broker, sorted by name: source
    // DYNAMIC_BROKER_CONFIG / DYNAMIC_DEFAULT_BROKER_CONFIG when set at run time,
    // STATIC_BROKER_CONFIG when set in the file or by --override, DEFAULT_CONFIG otherwise;
    // read-only unless the key's update mode says otherwise, not sensitive; synonyms as Kafka
    // lists them (e.g. log.retention.ms, .minutes, .hours), from this key down.
    std::vector<config_entry> describe() const;
    // The synonyms DescribeConfigs lists for `key`, as Kafka's ConfigHelper does: by source
    // (this broker's dynamic configs, the cluster default's, the file's, then the defaults),
    // each source in synonym order, dropping everything before the first entry for `key` itself
    // (so retention.ms lists no default while log.retention.ms is unset, though .hours has one).
    std::vector<config_synonym> synonyms_for(std::string_view key) const;
    // DescribeConfigs on the cluster default (resource name ""): the keys set there only.
    std::vector<config_entry> describe_cluster_defaults() const;

    // Where the value of `key` comes from and its raw text, highest precedence first: this
    // broker's dynamic config, the cluster default, the file; nullopt if none sets it.
    std::optional<std::pair<config_source, std::string_view>> setting_of(
        std::string_view key) const;

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
