#include "server/config/topic_config.h"

#include <algorithm>

namespace runnel::server {

namespace {

using t = config_type;

struct topic_key {
    config_key key;
    std::string_view broker_synonym;  // first broker key it defaults to; empty if none
};

// Kafka 4.4's topic configs with their types, defaults and validators.
constexpr topic_key topic_keys[] = {
    {{"cleanup.policy", t::list, "delete", list_of(cleanup_policy_names),
      "What happens to old segments: delete, compact, or both."},
     "log.cleanup.policy"},
    {{"compression.gzip.level", t::int32, "-1", gzip_level(),
      "gzip level used when compression.type is gzip."},
     "compression.gzip.level"},
    {{"compression.lz4.level", t::int32, "9", between(lz4_min_level, lz4_max_level),
      "lz4 level used when compression.type is lz4."},
     "compression.lz4.level"},
    {{"compression.type", t::string, "producer", one_of(compression_type_names),
      "Compression stored on disk: producer keeps what the client sent; any other value "
      "recompresses client batches with that codec (uncompressed: none)."},
     "compression.type"},
    {{"compression.zstd.level", t::int32, "3", between(zstd_min_level, zstd_max_level),
      "zstd level used when compression.type is zstd."},
     "compression.zstd.level"},
    {{"delete.retention.ms", t::int64, "86400000", at_least(0),
      "How long tombstones are kept in a compacted topic."},
     "log.cleaner.delete.retention.ms"},
    {{"errors.deadletterqueue.group.enable", t::boolean, "false", no_rule(),
      "Share groups (KIP-932) may use this topic as their dead-letter queue. Accepted; Runnel has "
      "no share groups yet, so it has no effect."},
     ""},
    {{"file.delete.delay.ms", t::int64, "60000", at_least(0),
      "Delay before a removed segment's files are deleted."},
     "log.segment.delete.delay.ms"},
    {{"flush.messages", t::int64, long_max_text, at_least(1),
      "Records appended before the partition is flushed to disk."},
     "log.flush.interval.messages"},
    {{"flush.ms", t::int64, long_max_text, at_least(0), "Time data may stay unflushed."},
     "log.flush.interval.ms"},
    {{"follower.replication.throttled.replicas", t::list, "", throttled_replicas(),
      "Replicas whose follower-side replication is throttled."},
     ""},
    {{"index.interval.bytes", t::int32, "4096", at_least(0),
      "Bytes of records between offset index entries."},
     "log.index.interval.bytes"},
    {{"leader.replication.throttled.replicas", t::list, "", throttled_replicas(),
      "Replicas whose leader-side replication is throttled."},
     ""},
    {{"local.retention.bytes", t::int64, "-2", at_least(-2),
      "Tiered storage: local retention size; -2 follows retention.bytes."},
     "log.local.retention.bytes"},
    {{"local.retention.ms", t::int64, "-2", at_least(-2),
      "Tiered storage: local retention time; -2 follows retention.ms."},
     "log.local.retention.ms"},
    {{"max.compaction.lag.ms", t::int64, long_max_text, at_least(1),
      "Most time a record may stay uncompacted."},
     "log.cleaner.max.compaction.lag.ms"},
    {{"max.decompressed.message.bytes", t::int32, "2147483639", at_least(0),
      "Largest decompressed record Kafka accepts. Accepted; Runnel bounds each batch's "
      "decompressed size instead, by max(64 MiB, 16 x its compressed size)."},
     "max.decompressed.message.bytes"},
    {{"max.message.bytes", t::int32, "1048588", at_least(0),
      "Largest record batch accepted, in bytes."},
     "message.max.bytes"},
    {{"message.timestamp.after.max.ms", t::int64, "3600000", at_least(0),
      "How far in the future a CreateTime timestamp may be."},
     "log.message.timestamp.after.max.ms"},
    {{"message.timestamp.before.max.ms", t::int64, long_max_text, at_least(0),
      "How far in the past a CreateTime timestamp may be."},
     "log.message.timestamp.before.max.ms"},
    {{"message.timestamp.type", t::string, "CreateTime", one_of(timestamp_type_names),
      "Timestamp stored with records: CreateTime or LogAppendTime."},
     "log.message.timestamp.type"},
    {{"min.cleanable.dirty.ratio", t::float64, "0.5", between(0, 1),
      "Dirty share of the log above which it is compacted."},
     "log.cleaner.min.cleanable.ratio"},
    {{"min.compaction.lag.ms", t::int64, "0", at_least(0),
      "Least age of a record before it may be compacted."},
     "log.cleaner.min.compaction.lag.ms"},
    {{"min.insync.replicas", t::int32, "1", at_least(1),
      "In-sync replicas an acks=all write needs, at most the replica count (Kafka 4's effective "
      "min ISR, KIP-966): on a single node, 1 whatever the value."},
     "min.insync.replicas"},
    {{"preallocate", t::boolean, "false", no_rule(),
      "Preallocate segment files when they are created."},
     "log.preallocate"},
    {{"remote.copy.lag.bytes", t::int64, "-1", at_least(-1),
      "Tiered storage: bytes a segment may lag before it is copied (not supported by Runnel)."},
     "log.remote.copy.lag.bytes"},
    {{"remote.copy.lag.ms", t::int64, "0", at_least(0),
      "Tiered storage: time a segment may lag before it is copied (not supported by Runnel)."},
     "log.remote.copy.lag.ms"},
    {{"remote.log.copy.disable", t::boolean, "false", no_rule(),
      "Tiered storage: stop copying segments to remote storage."},
     ""},
    {{"remote.log.delete.on.disable", t::boolean, "false", no_rule(),
      "Tiered storage: delete remote data when remote storage is turned off."},
     ""},
    {{"remote.storage.enable", t::boolean, "false", no_rule(),
      "Tiered storage: keep segments in remote storage (not supported by Runnel)."},
     ""},
    {{"retention.bytes", t::int64, "-1", no_rule(),
      "Partition size above which old segments are deleted; -1 means no limit."},
     "log.retention.bytes"},
    {{"retention.ms", t::int64, "604800000", at_least(-1),
      "Age after which old segments are deleted; -1 keeps data forever."},
     "log.retention.ms"},
    {{"segment.bytes", t::int32, "1073741824", at_least(14),
      "Size at which a log segment is rolled."},
     "log.segment.bytes"},
    {{"segment.index.bytes", t::int32, "10485760", at_least(4),
      "Largest offset index of a segment."},
     "log.index.size.max.bytes"},
    {{"segment.jitter.ms", t::int64, "0", at_least(0),
      "Most random time subtracted from segment.ms."},
     "log.roll.jitter.ms"},
    {{"segment.ms", t::int64, "604800000", at_least(1), "Age at which a log segment is rolled."},
     "log.roll.ms"},
    {{"unclean.leader.election.enable", t::boolean, "false", no_rule(),
      "Allow an out-of-sync replica to become leader."},
     "unclean.leader.election.enable"},
};

const topic_key* find_topic_key(std::string_view name) {
    for (const auto& k : topic_keys) {
        if (k.key.name == name) return &k;
    }
    return nullptr;
}

// The value a topic inherits from the broker, taken from the typed fields so that a
// broker_config built in code is honoured as well as one loaded from a file.
std::optional<config_value> broker_value(std::string_view name, const broker_config& b) {
    auto i = [](int64_t v) { return std::optional<config_value>(v); };
    if (name == "cleanup.policy") {
        // Keep the broker's own spelling when it wrote one.
        if (auto raw = b.explicit_value("log.cleanup.policy")) {
            parse_result r =
                parse_config_value(*broker_config::find_key("log.cleanup.policy"), *raw);
            if (r.value && parse_cleanup_policy(std::get<std::vector<std::string>>(*r.value)) ==
                               b.log_cleanup_policy) {
                return r.value;
            }
        }
        return config_value(split_csv(cleanup_policy_string(b.log_cleanup_policy)));
    }
    if (name == "compression.gzip.level") return i(b.compression_gzip_level);
    if (name == "compression.lz4.level") return i(b.compression_lz4_level);
    if (name == "compression.type") return config_value(std::string(to_string(b.compression)));
    if (name == "compression.zstd.level") return i(b.compression_zstd_level);
    if (name == "delete.retention.ms") return i(b.log_cleaner_delete_retention_ms);
    if (name == "file.delete.delay.ms") return i(b.log_segment_delete_delay_ms);
    if (name == "flush.messages") return i(b.log_flush_interval_messages);
    if (name == "flush.ms") {
        return i(b.log_flush_interval_ms.value_or(b.log_flush_scheduler_interval_ms));
    }
    if (name == "index.interval.bytes") return i(b.log_index_interval_bytes);
    if (name == "local.retention.bytes") return i(b.log_local_retention_bytes);
    if (name == "local.retention.ms") return i(b.log_local_retention_ms);
    if (name == "max.compaction.lag.ms") return i(b.log_cleaner_max_compaction_lag_ms);
    if (name == "max.message.bytes") return i(b.message_max_bytes);
    if (name == "max.decompressed.message.bytes") return i(b.max_decompressed_message_bytes);
    if (name == "remote.copy.lag.bytes") return i(b.log_remote_copy_lag_bytes);
    if (name == "remote.copy.lag.ms") return i(b.log_remote_copy_lag_ms);
    if (name == "message.timestamp.after.max.ms") return i(b.log_message_timestamp_after_max_ms);
    if (name == "message.timestamp.before.max.ms") {
        return i(b.log_message_timestamp_before_max_ms);
    }
    if (name == "message.timestamp.type") {
        return config_value(std::string(to_string(b.log_message_timestamp_type)));
    }
    if (name == "min.cleanable.dirty.ratio") return config_value(b.log_cleaner_min_cleanable_ratio);
    if (name == "min.compaction.lag.ms") return i(b.log_cleaner_min_compaction_lag_ms);
    if (name == "min.insync.replicas") return i(b.min_insync_replicas);
    if (name == "preallocate") return config_value(b.log_preallocate);
    if (name == "retention.bytes") return i(b.log_retention_bytes);
    if (name == "retention.ms") return i(b.log_retention_ms);
    if (name == "segment.bytes") return i(b.log_segment_bytes);
    if (name == "segment.index.bytes") return i(b.log_index_size_max_bytes);
    if (name == "segment.jitter.ms") return i(b.log_roll_jitter_ms);
    if (name == "segment.ms") return i(b.log_roll_ms);
    if (name == "unclean.leader.election.enable") {
        return config_value(b.unclean_leader_election_enable);
    }
    return std::nullopt;
}

struct resolved {
    config_value value;
    config_source source;
};

// Override > broker setting (file or --override) > Kafka's default.
resolved resolve(const topic_key& tk, const std::map<std::string, std::string>& overrides,
                 const broker_config& broker) {
    if (auto it = overrides.find(std::string(tk.key.name)); it != overrides.end()) {
        if (auto r = parse_config_value(tk.key, it->second); r.value) {
            return {std::move(*r.value), config_source::dynamic_topic_config};
        }
    }
    bool broker_sets_it = false;
    if (!tk.broker_synonym.empty()) {
        for (auto name : broker_config::synonyms_of(tk.broker_synonym)) {
            if (broker.explicit_value(name)) broker_sets_it = true;
        }
    }
    if (auto v = broker_value(tk.key.name, broker)) {
        return {std::move(*v), broker_sets_it ? config_source::static_broker_config
                                              : config_source::default_config};
    }
    return {*parse_config_value(tk.key, *tk.key.default_value).value,
            config_source::default_config};
}

int64_t as_int(const config_value& v) { return std::get<int64_t>(v); }

}  // namespace

topic_config::topic_config(const broker_config& broker) : topic_config({}, broker) {}

topic_config::topic_config(std::map<std::string, std::string> overrides,
                           const broker_config& broker)
    : overrides_(std::move(overrides)) {
    // Only per-key checks: a stored topic must still load if the broker's settings changed
    // under it in a way validate_all() would refuse for a new topic (Kafka loads it too).
    for (const auto& [name, value] : overrides_) {
        if (auto error = validate(name, value)) throw config_error(*error);
    }
    auto get = [&](std::string_view name) {
        return resolve(*find_topic_key(name), overrides_, broker).value;
    };
    segment_bytes_ = static_cast<int32_t>(as_int(get("segment.bytes")));
    segment_ms_ = as_int(get("segment.ms"));
    segment_jitter_ms_ = as_int(get("segment.jitter.ms"));
    segment_index_bytes_ = static_cast<int32_t>(as_int(get("segment.index.bytes")));
    retention_ms_ = as_int(get("retention.ms"));
    retention_bytes_ = as_int(get("retention.bytes"));
    max_message_bytes_ = static_cast<int32_t>(as_int(get("max.message.bytes")));
    message_timestamp_type_ =
        parse_timestamp_type(std::get<std::string>(get("message.timestamp.type")));
    message_timestamp_before_max_ms_ = as_int(get("message.timestamp.before.max.ms"));
    message_timestamp_after_max_ms_ = as_int(get("message.timestamp.after.max.ms"));
    cleanup_policy_ =
        parse_cleanup_policy(std::get<std::vector<std::string>>(get("cleanup.policy")));
    flush_messages_ = as_int(get("flush.messages"));
    flush_ms_ = as_int(get("flush.ms"));
    index_interval_bytes_ = static_cast<int32_t>(as_int(get("index.interval.bytes")));
    delete_retention_ms_ = as_int(get("delete.retention.ms"));
    file_delete_delay_ms_ = as_int(get("file.delete.delay.ms"));
    min_cleanable_dirty_ratio_ = std::get<double>(get("min.cleanable.dirty.ratio"));
    min_compaction_lag_ms_ = as_int(get("min.compaction.lag.ms"));
    max_compaction_lag_ms_ = as_int(get("max.compaction.lag.ms"));
    preallocate_ = std::get<bool>(get("preallocate"));
    compression_ = parse_compression_type(std::get<std::string>(get("compression.type")));
    compression_gzip_level_ = static_cast<int32_t>(as_int(get("compression.gzip.level")));
    compression_lz4_level_ = static_cast<int32_t>(as_int(get("compression.lz4.level")));
    compression_zstd_level_ = static_cast<int32_t>(as_int(get("compression.zstd.level")));
    min_insync_replicas_ = static_cast<int32_t>(as_int(get("min.insync.replicas")));
    unclean_leader_election_enable_ = std::get<bool>(get("unclean.leader.election.enable"));
}

std::optional<std::string> topic_config::validate(std::string_view name, std::string_view value) {
    const topic_key* tk = find_topic_key(name);
    if (tk == nullptr) return "Unknown topic config name: " + std::string(name);
    parse_result r = parse_config_value(tk->key, value);
    if (r.value) return std::nullopt;
    return "Invalid value " + std::string(value) + " for configuration " + std::string(name) +
           ": expected " + r.expected;
}

std::optional<std::string> topic_config::validate_all(
    const std::map<std::string, std::string>& overrides, const broker_config& broker) {
    for (const auto& [name, value] : overrides) {
        if (auto error = validate(name, value)) return error;
    }
    auto value = [&](std::string_view name) {
        return resolve(*find_topic_key(name), overrides, broker).value;
    };
    int64_t min_lag = as_int(value("min.compaction.lag.ms"));
    int64_t max_lag = as_int(value("max.compaction.lag.ms"));
    if (min_lag > max_lag) {
        return "conflict topic config setting min.compaction.lag.ms (" + std::to_string(min_lag) +
               ") > max.compaction.lag.ms (" + std::to_string(max_lag) + ")";
    }
    if (std::get<bool>(value("remote.storage.enable"))) {
        return std::string(
            "Tiered Storage functionality is disabled in the broker. Topic cannot "
            "be configured with remote log storage.");
    }
    return std::nullopt;
}

std::span<const config_key> topic_config::known_keys() {
    static const std::vector<config_key> keys = [] {
        std::vector<config_key> v;
        for (const auto& tk : topic_keys) v.push_back(tk.key);
        return v;
    }();
    return keys;
}

const config_key* topic_config::find_key(std::string_view name) {
    const topic_key* tk = find_topic_key(name);
    return tk == nullptr ? nullptr : &tk->key;
}

std::string_view topic_config::broker_synonym(std::string_view name) {
    const topic_key* tk = find_topic_key(name);
    return tk == nullptr ? std::string_view() : tk->broker_synonym;
}

std::vector<config_entry> topic_config::describe(const broker_config& broker) const {
    std::vector<config_entry> out;
    out.reserve(std::size(topic_keys));
    for (const topic_key& tk : topic_keys) {  // the table is sorted by name
        config_entry e;
        e.name = std::string(tk.key.name);
        e.type = tk.key.type;
        e.documentation = std::string(tk.key.documentation);
        e.read_only = false;
        e.sensitive = false;
        resolved r = resolve(tk, overrides_, broker);
        e.value = format_config_value(r.value);
        e.source = r.source;
        e.is_default = e.source == config_source::default_config;

        // Kafka's order: the topic's own setting, then broker keys set in the file, then the
        // primary broker key's default.
        if (r.source == config_source::dynamic_topic_config) {
            e.synonyms.push_back({e.name, e.value, config_source::dynamic_topic_config});
        }
        if (!tk.broker_synonym.empty()) {
            auto group = broker_config::synonyms_of(tk.broker_synonym);
            for (auto name : group) {
                if (auto raw = broker.explicit_value(name)) {
                    e.synonyms.push_back({std::string(name), std::string(*raw),
                                          config_source::static_broker_config});
                }
            }
            // Of the defaults, only the primary broker key's, and only when it has one of its
            // own: Kafka lists no default for retention.ms (log.retention.ms has none; the
            // 168 of log.retention.hours is not listed), segment.ms or flush.ms.
            const config_key* bk = broker_config::find_key(tk.broker_synonym);
            if (bk != nullptr && bk->default_value) {
                e.synonyms.push_back({std::string(tk.broker_synonym),
                                      std::string(*bk->default_value),
                                      config_source::default_config});
            }
        }
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace runnel::server
