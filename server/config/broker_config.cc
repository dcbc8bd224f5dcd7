#include "server/config/broker_config.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <thread>

#include "server/core/tcp_congestion.h"
#include "server/core/host_limits.h"

namespace runnel::server {

namespace {

using t = config_type;

constexpr std::string_view long_max = "9223372036854775807";
constexpr std::string_view int_max = "2147483647";

// Every broker key Runnel honours, with Kafka's type, default and validator. Defaults are the
// strings Kafka reports for them; nullopt is Kafka's null.
constexpr config_key broker_keys[] = {
    // Identity.
    {"broker.id", t::int32, "-1", at_least(-1),
     "Id of this broker; -1 (unset) defers to node.id, and Runnel uses 0 if neither is set."},
    {"node.id", t::int32, "-1", at_least(-1),
     "Id of this node; wins over broker.id when both are set."},
    {"cluster.id", t::string, std::nullopt, no_rule(),
     "Cluster id this broker reports (Runnel-specific); unset lets the broker choose."},
    {"runnel.shards", t::int32, "0", at_least(0),
     "Number of shard threads (Runnel-specific); 0 means one per CPU core."},
    {"runnel.shard.poll.us", t::int32, "0", at_least(0),
     "Microseconds an idle shard keeps polling before it sleeps (Runnel-specific)."},

    // Network.
    {"listeners", t::string, "PLAINTEXT://:9092", no_rule(),
     "Comma-separated NAME://host:port addresses to listen on; an empty host means all "
     "interfaces."},
    {"advertised.listeners", t::string, std::nullopt, no_rule(),
     "Addresses given to clients, if different from listeners; an empty host advertises the "
     "machine's canonical host name."},
    {"listener.security.protocol.map", t::string,
     "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", no_rule(),
     "Security protocol of each listener name, as NAME:PROTOCOL pairs."},
    {"controller.listener.names", t::string, std::nullopt, no_rule(),
     "Listener names used by KRaft controllers; Runnel skips those listeners."},
    {"port", t::int32, "9092", between(0, 65535),
     "Legacy: port of the PLAINTEXT listener, used only when listeners is not set."},
    {"host.name", t::string, "", no_rule(),
     "Legacy: host of the PLAINTEXT listener, used only when listeners is not set."},
    {"advertised.port", t::int32, std::nullopt, between(0, 65535),
     "Legacy: advertised port, used only when advertised.listeners is not set."},
    {"advertised.host.name", t::string, std::nullopt, no_rule(),
     "Legacy: advertised host, used only when advertised.listeners is not set."},
    {"socket.request.max.bytes", t::int32, "104857600", at_least(1),
     "Largest request the broker accepts, in bytes."},
    // Kafka's default for both is 102400; Runnel's is the kernel's autotuning, since a fixed
    // 100 KiB made consume twice as dear per byte (docs/benchmarks.md).
    {"socket.send.buffer.bytes", t::int32, "-1", no_rule(),
     "SO_SNDBUF of client connections; -1 (Runnel's default) keeps the OS default."},
    {"socket.receive.buffer.bytes", t::int32, "-1", no_rule(),
     "SO_RCVBUF of client connections; -1 (Runnel's default) keeps the OS default."},
    {"runnel.socket.loopback.congestion.control", t::string, "reno", no_rule(),
     "TCP congestion control of client connections from loopback addresses (Runnel-specific); "
     "empty keeps the system's."},
    {"connections.max.idle.ms", t::int64, "600000", no_rule(),
     "Idle time after which a client connection is closed."},
    {"fetch.max.bytes", t::int32, "57671680", at_least(1024),
     "Most bytes a single fetch response returns."},
    {"num.network.threads", t::int32, "3", at_least(1),
     "Accepted for compatibility; Runnel sizes its threads with runnel.shards."},
    {"num.io.threads", t::int32, "8", at_least(1),
     "Threads for blocking disk work kept off the shards: log flushes (fdatasync) and reads of "
     "data that is not in the page cache."},

    // Topic creation.
    {"log.dirs", t::string, std::nullopt, no_rule(),
     "Comma-separated directories holding partition data; overrides log.dir."},
    {"log.dir", t::string, "/tmp/kafka-logs", no_rule(),
     "Directory holding partition data when log.dirs is not set."},
    {"num.partitions", t::int32, "1", at_least(1),
     "Partition count of topics created without one."},
    {"default.replication.factor", t::int32, "1", no_rule(),
     "Replication factor of topics created without one."},
    {"auto.create.topics.enable", t::boolean, "true", no_rule(),
     "Create a topic when a client asks for metadata of a missing one."},
    {"delete.topic.enable", t::boolean, "true", no_rule(),
     "Allow topics to be deleted."},
    {"runnel.max.partitions", t::int32, "0", at_least(0),
     "Most partitions this broker hosts, internal topics included (Runnel-specific); creating "
     "topics or partitions past it, auto-creation included, is refused with POLICY_VIOLATION. "
     "0 derives it from memory (see docs/configuration.md)."},
    {"runnel.log.open.files.max", t::int32, "0", at_least(0),
     "Most segment .log files the broker keeps open at once (Runnel-specific); past it the least "
     "recently used are closed and reopened when next needed. 0: half the open file limit."},
    {"runnel.max.partitions.per.request", t::int32, "10000", at_least(1),
     "Most partitions one CreateTopics or CreatePartitions request may add (Runnel-specific); "
     "Kafka's controller has the same fixed bound and also answers POLICY_VIOLATION."},

    // Broker-wide defaults of topic configs.
    {"message.max.bytes", t::int32, "1048588", at_least(0),
     "Largest record batch accepted, in bytes (topic: max.message.bytes)."},
    {"log.segment.bytes", t::int32, "1073741824", at_least(14),
     "Size at which a log segment is rolled (topic: segment.bytes)."},
    {"log.roll.ms", t::int64, std::nullopt, at_least(1),
     "Age at which a log segment is rolled; overrides log.roll.hours (topic: segment.ms)."},
    {"log.roll.hours", t::int32, "168", at_least(1),
     "Age in hours at which a log segment is rolled, when log.roll.ms is not set."},
    {"log.roll.jitter.ms", t::int64, std::nullopt, at_least(0),
     "Most random time subtracted from the roll age; overrides log.roll.jitter.hours. "
     "Accepted; no effect in Runnel yet."},
    {"log.roll.jitter.hours", t::int32, "0", at_least(0),
     "Roll jitter in hours, when log.roll.jitter.ms is not set. Accepted; no effect in Runnel "
     "yet."},
    {"log.retention.ms", t::int64, std::nullopt, no_rule(),
     "Age after which data is deleted; -1 keeps it forever (topic: retention.ms)."},
    {"log.retention.minutes", t::int32, std::nullopt, no_rule(),
     "Retention in minutes, when log.retention.ms is not set."},
    {"log.retention.hours", t::int32, "168", no_rule(),
     "Retention in hours, when neither log.retention.ms nor log.retention.minutes is set."},
    {"log.retention.bytes", t::int64, "-1", no_rule(),
     "Partition size above which old segments are deleted; -1 means no limit."},
    {"log.cleanup.policy", t::list, "delete", list_of(cleanup_policy_names),
     "What happens to old segments: delete, compact, or both (topic: cleanup.policy)."},
    {"log.index.size.max.bytes", t::int32, "10485760", at_least(4),
     "Largest offset index of a segment (topic: segment.index.bytes)."},
    {"log.index.interval.bytes", t::int32, "4096", at_least(0),
     "Bytes of records between offset index entries (topic: index.interval.bytes)."},
    {"log.flush.interval.messages", t::int64, long_max, at_least(1),
     "Records appended before a partition is flushed to disk (topic: flush.messages)."},
    {"log.flush.interval.ms", t::int64, std::nullopt, at_least(0),
     "Time data may stay unflushed; falls back to log.flush.scheduler.interval.ms."},
    {"log.flush.scheduler.interval.ms", t::int64, long_max, no_rule(),
     "Stands in for log.flush.interval.ms (topic flush.ms) when that is not set; Runnel checks "
     "flush.ms on append, with no timer of its own."},
    {"log.segment.delete.delay.ms", t::int64, "60000", at_least(0),
     "Delay before a removed segment's files are deleted (topic: file.delete.delay.ms). "
     "Accepted; Runnel deletes them at once (a fetch already sending one keeps it open)."},
    {"log.message.timestamp.type", t::string, "CreateTime", one_of(timestamp_type_names),
     "Timestamp stored with records: CreateTime or LogAppendTime."},
    {"log.message.timestamp.before.max.ms", t::int64, long_max, at_least(0),
     "How far in the past a CreateTime timestamp may be."},
    {"log.message.timestamp.after.max.ms", t::int64, long_max, at_least(0),
     "How far in the future a CreateTime timestamp may be."},
    {"log.preallocate", t::boolean, "false", no_rule(),
     "Preallocate segment files when they are created (topic: preallocate). Accepted; no effect "
     "in Runnel yet."},
    {"log.local.retention.ms", t::int64, "-2", at_least(-2),
     "Tiered storage: local retention time; -2 follows retention.ms. Accepted; Runnel has no "
     "tiered storage."},
    {"log.local.retention.bytes", t::int64, "-2", at_least(-2),
     "Tiered storage: local retention size; -2 follows retention.bytes. Accepted; Runnel has no "
     "tiered storage."},
    {"compression.type", t::string, "producer", one_of(compression_type_names),
     "Compression stored on disk; producer keeps what the client sent."},
    {"compression.gzip.level", t::int32, "-1", gzip_level(),
     "gzip level used when compression.type is gzip. Accepted; Runnel stores batches as sent."},
    {"compression.lz4.level", t::int32, "9", between(lz4_min_level, lz4_max_level),
     "lz4 level used when compression.type is lz4. Accepted; Runnel stores batches as sent."},
    {"compression.zstd.level", t::int32, "3", between(zstd_min_level, zstd_max_level),
     "zstd level used when compression.type is zstd. Accepted; Runnel stores batches as sent."},
    {"min.insync.replicas", t::int32, "1", at_least(1),
     "Replicas that must have a write for acks=all to succeed."},
    {"unclean.leader.election.enable", t::boolean, "false", no_rule(),
     "Allow an out-of-sync replica to become leader."},

    // Log manager.
    {"log.retention.check.interval.ms", t::int64, "300000", at_least(1),
     "How often logs are checked for data past retention."},
    {"log.flush.offset.checkpoint.interval.ms", t::int32, "60000", at_least(0),
     "How often the recovery point of each log is saved."},
    {"num.recovery.threads.per.data.dir", t::int32, "1", at_least(1),
     "Threads per data directory for log recovery at startup. Accepted; Runnel recovers on "
     "every shard at once."},
    {"log.cleaner.enable", t::boolean, "true", no_rule(),
     "Run the log cleaner that compacts topics with cleanup.policy=compact."},
    {"log.cleaner.threads", t::int32, "1", at_least(0),
     "Threads compacting logs. Runnel cleans on every shard; this only divides "
     "log.cleaner.dedupe.buffer.size in Kafka's check of it."},
    {"log.cleaner.backoff.ms", t::int64, "15000", at_least(0),
     "Sleep of the log cleaner when there is nothing to clean."},
    {"log.cleaner.dedupe.buffer.size", t::int64, "134217728", no_rule(),
     "Memory for the cleaner's key maps (24 bytes per key), shared by the shards; a pass whose "
     "dirty part has more keys cleans up to where its map filled."},
    {"log.cleaner.io.buffer.load.factor", t::float64, "0.9", between(0, 1),
     "How full a cleaner key map may get before the pass stops adding keys."},
    {"log.cleaner.io.buffer.size", t::int32, "524288", at_least(0),
     "Memory for cleaner I/O buffers across cleaner threads. Accepted; no effect in Runnel."},
    {"log.cleaner.min.cleanable.ratio", t::float64, "0.5", between(0, 1),
     "Dirty share of a log above which it is compacted (topic: min.cleanable.dirty.ratio)."},
    {"log.cleaner.delete.retention.ms", t::int64, "86400000", at_least(0),
     "How long tombstones are kept in compacted topics (topic: delete.retention.ms)."},
    {"log.cleaner.min.compaction.lag.ms", t::int64, "0", at_least(0),
     "Least age of a record before it may be compacted (topic: min.compaction.lag.ms)."},
    {"log.cleaner.max.compaction.lag.ms", t::int64, long_max, at_least(1),
     "Most time a record may stay uncompacted (topic: max.compaction.lag.ms)."},

    // Consumer groups and offsets.
    {"offsets.topic.num.partitions", t::int32, "50", at_least(1),
     "Partitions of __consumer_offsets."},
    {"offsets.topic.replication.factor", t::int16, "3", at_least(1),
     "Replication factor of __consumer_offsets."},
    {"offsets.topic.segment.bytes", t::int32, "104857600", at_least(1),
     "Segment size of __consumer_offsets."},
    {"offsets.retention.minutes", t::int32, "10080", at_least(1),
     "How long committed offsets of an empty group are kept."},
    {"offsets.retention.check.interval.ms", t::int64, "600000", at_least(1),
     "How often stale offsets are looked for."},
    {"offset.metadata.max.bytes", t::int32, "4096", no_rule(),
     "Longest metadata string allowed with a committed offset."},
    {"group.initial.rebalance.delay.ms", t::int32, "3000", no_rule(),
     "Wait for more members before the first rebalance of a new group."},
    {"group.min.session.timeout.ms", t::int32, "6000", no_rule(),
     "Shortest session timeout a group member may ask for."},
    {"group.max.session.timeout.ms", t::int32, "1800000", no_rule(),
     "Longest session timeout a group member may ask for."},
    {"group.max.size", t::int32, int_max, at_least(1),
     "Most members a classic consumer group may have."},
    {"group.consumer.heartbeat.interval.ms", t::int32, "5000", at_least(1),
     "Heartbeat interval given to members of consumer groups (KIP-848 protocol)."},
    {"group.consumer.session.timeout.ms", t::int32, "45000", at_least(1),
     "Session timeout of members of consumer groups (KIP-848 protocol)."},

    // Transactions and idempotence.
    {"transaction.state.log.num.partitions", t::int32, "50", at_least(1),
     "Partitions of __transaction_state."},
    {"transaction.state.log.replication.factor", t::int16, "3", at_least(1),
     "Replication factor of __transaction_state."},
    {"transaction.state.log.min.isr", t::int32, "2", at_least(1),
     "min.insync.replicas of __transaction_state."},
    {"transaction.state.log.segment.bytes", t::int32, "104857600", at_least(1),
     "Segment size of __transaction_state."},
    {"transactional.id.expiration.ms", t::int32, "604800000", at_least(1),
     "Idle time after which a transactional id is forgotten."},
    {"transaction.max.timeout.ms", t::int32, "900000", at_least(1),
     "Longest transaction timeout a producer may ask for."},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", t::int32, "10000",
     at_least(1), "How often timed-out transactions are aborted."},
    {"transaction.remove.expired.transaction.cleanup.interval.ms", t::int32, "3600000",
     at_least(1), "How often expired transactional ids are removed."},
    {"producer.id.expiration.ms", t::int32, "86400000", at_least(1),
     "Idle time after which a partition forgets a producer id."},
    {"producer.id.expiration.check.interval.ms", t::int32, "600000", at_least(1),
     "How often expired producer ids are removed."},
};

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool is_ipv4_literal(const std::string& host) {
    in_addr a;
    return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool is_ipv6_literal(const std::string& host) {
    in6_addr a;
    return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

std::optional<security_protocol> protocol_named(std::string_view name) {
    if (name == "PLAINTEXT") return security_protocol::plaintext;
    if (name == "SSL") return security_protocol::ssl;
    if (name == "SASL_PLAINTEXT") return security_protocol::sasl_plaintext;
    if (name == "SASL_SSL") return security_protocol::sasl_ssl;
    return std::nullopt;
}

struct setting {
    std::string value;
    std::string where;  // "<file>:<line>" or "--override"
    size_t order = 0;  // position of the last assignment, to report errors in file order
};

// One load: the settings gathered from file and overrides, turned into a broker_config.
class loader {
public:
    explicit loader(std::string origin) : origin_(std::move(origin)) {}

    void set(const std::string& key, std::string value, std::string where) {
        settings_[key] = setting{std::move(value), std::move(where), next_order_++};
    }

    broker_config run();

private:
    [[noreturn]] void fail(std::string_view key, std::string_view message) const {
        auto it = settings_.find(key);
        if (it != settings_.end()) {
            throw config_error(it->second.where + ": " + std::string(key) + " = \"" +
                               it->second.value + "\": " + std::string(message));
        }
        const config_key* k = broker_config::find_key(key);
        std::string shown = k && k->default_value ? std::string(*k->default_value) : "";
        throw config_error(origin_ + ": " + std::string(key) + " = \"" + shown +
                           "\" (default): " + std::string(message));
    }

    bool is_set(std::string_view key) const { return parsed_.contains(key); }

    // The parsed setting, else the parsed default; nullopt for an unset key without default.
    std::optional<config_value> value_of(std::string_view key) const {
        if (auto it = parsed_.find(key); it != parsed_.end()) return it->second;
        const config_key* k = broker_config::find_key(key);
        if (k == nullptr || !k->default_value) return std::nullopt;
        return parse_config_value(*k, *k->default_value).value;
    }
    int64_t get_int(std::string_view key) const { return std::get<int64_t>(*value_of(key)); }
    int32_t get_i32(std::string_view key) const { return static_cast<int32_t>(get_int(key)); }
    bool get_bool(std::string_view key) const { return std::get<bool>(*value_of(key)); }
    double get_double(std::string_view key) const { return std::get<double>(*value_of(key)); }
    std::string get_string(std::string_view key) const {
        auto v = value_of(key);
        return v ? std::get<std::string>(*v) : std::string();
    }
    std::vector<std::string> get_list(std::string_view key) const {
        return std::get<std::vector<std::string>>(*value_of(key));
    }

    void validate_and_parse(broker_config& c);
    void resolve_listeners(broker_config& c);
    void set_loopback_congestion_control(broker_config& c);
    std::vector<listener_endpoint> parse_listener_list(std::string_view key,
                                                       std::string_view text,
                                                       bool listeners_key,
                                                       std::vector<std::string>* warnings);

    std::string origin_;
    std::map<std::string, setting, std::less<>> settings_;
    std::map<std::string, config_value, std::less<>> parsed_;
    std::map<std::string, security_protocol> protocols_;
    std::vector<std::string> controller_names_;
    size_t next_order_ = 0;
};

void loader::validate_and_parse(broker_config& c) {
    std::vector<const std::pair<const std::string, setting>*> in_order;
    for (const auto& entry : settings_) in_order.push_back(&entry);
    std::sort(in_order.begin(), in_order.end(),
              [](auto* a, auto* b) { return a->second.order < b->second.order; });
    for (const auto* entry : in_order) {
        const std::string& key = entry->first;
        const config_key* k = broker_config::find_key(key);
        if (k == nullptr) {
            c.ignored_keys.push_back(key);
            continue;
        }
        parse_result r = parse_config_value(*k, entry->second.value);
        if (!r.value) fail(key, "expected " + r.expected);
        parsed_.emplace(key, std::move(*r.value));
        c.explicit_values.emplace(key, entry->second.value);
    }
    std::sort(c.ignored_keys.begin(), c.ignored_keys.end());
}

std::vector<listener_endpoint> loader::parse_listener_list(std::string_view key,
                                                           std::string_view text,
                                                           bool listeners_key,
                                                           std::vector<std::string>* warnings) {
    struct parsed_endpoint {
        listener_endpoint endpoint;
        std::string text;
        bool controller = false;
    };
    std::vector<parsed_endpoint> all;
    for (const std::string& entry : split_csv(text)) {
        auto bad_syntax = [&] {
            fail(key, "cannot parse \"" + entry + "\"; expected NAME://host:port");
        };
        size_t sep = entry.rfind("://");
        if (sep == std::string::npos) bad_syntax();
        std::string_view rest = std::string_view(entry).substr(sep + 3);
        size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos) bad_syntax();
        std::string_view host = rest.substr(0, colon);
        std::string_view port_text = rest.substr(colon + 1);
        if (host.starts_with('[')) host.remove_prefix(1);
        if (host.ends_with(']')) host.remove_suffix(1);
        bool host_ok = std::all_of(host.begin(), host.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '%' ||
                   ch == '.' || ch == '_' || ch == ':';
        });
        // Kafka's pattern takes an optional '-' and digits only.
        std::string_view digits = port_text.starts_with('-') ? port_text.substr(1) : port_text;
        bool port_ok = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char ch) {
            return ch >= '0' && ch <= '9';
        });
        if (!host_ok || !port_ok) bad_syntax();
        int64_t port_number = digits.size() > 9 ? -1 : std::stoll(std::string(port_text));
        if (port_number < 0 || port_number > 65535) {
            fail(key, "port of \"" + entry + "\" is not between 0 and 65535");
        }
        parsed_endpoint p;
        p.endpoint.name = upper(std::string_view(entry).substr(0, sep));
        p.endpoint.host = std::string(host);
        p.endpoint.port = static_cast<uint16_t>(port_number);
        p.text = entry;
        p.controller =
            p.endpoint.name == "CONTROLLER" ||
            std::find(controller_names_.begin(), controller_names_.end(), p.endpoint.name) !=
                controller_names_.end();
        all.push_back(std::move(p));
    }

    for (size_t i = 0; i < all.size(); ++i) {
        for (size_t j = i + 1; j < all.size(); ++j) {
            const auto& a = all[i].endpoint;
            const auto& b = all[j].endpoint;
            if (a.name == b.name) {
                fail(key, "listener name " + a.name + " appears more than once");
            }
        }
    }
    if (listeners_key) {
        // Kafka allows a shared port only for exactly one IPv4 and one IPv6 address.
        std::map<uint16_t, std::vector<const listener_endpoint*>> by_port;
        for (const auto& p : all) {
            if (p.endpoint.port != 0) by_port[p.endpoint.port].push_back(&p.endpoint);
        }
        for (const auto& [port, eps] : by_port) {
            if (eps.size() < 2) continue;
            bool ok = eps.size() == 2 &&
                      ((is_ipv4_literal(eps[0]->host) && is_ipv6_literal(eps[1]->host)) ||
                       (is_ipv6_literal(eps[0]->host) && is_ipv4_literal(eps[1]->host)));
            if (!ok) {
                fail(key, "listeners " + eps[0]->name + " and " + eps[1]->name +
                              " share port " + std::to_string(port) +
                              " (allowed only for one IPv4 and one IPv6 address)");
            }
        }
    }

    std::vector<listener_endpoint> result;
    for (auto& p : all) {
        if (p.controller) {
            if (warnings != nullptr) {
                warnings->push_back("listener " + p.text +
                                    " is a KRaft controller listener; Runnel has no controller "
                                    "role and does not open it");
            }
            continue;
        }
        auto proto = protocols_.find(p.endpoint.name);
        if (proto == protocols_.end()) {
            fail(key, "listener name " + p.endpoint.name +
                          " has no security protocol in listener.security.protocol.map");
        }
        if (proto->second != security_protocol::plaintext) {
            fail(key, "listener " + p.endpoint.name + " uses security protocol " +
                          std::string(to_string(proto->second)) +
                          "; only PLAINTEXT is supported so far");
        }
        p.endpoint.protocol = proto->second;
        result.push_back(std::move(p.endpoint));
    }
    return result;
}

void loader::resolve_listeners(broker_config& c) {
    constexpr std::string_view map_key = "listener.security.protocol.map";
    for (const std::string& item : split_csv(get_string(map_key))) {
        size_t colon = item.rfind(':');
        if (colon == std::string::npos) {
            fail(map_key, "expected a comma-separated list of LISTENER_NAME:SECURITY_PROTOCOL");
        }
        std::string proto_name = upper(java_trim(std::string_view(item).substr(colon + 1)));
        auto proto = protocol_named(proto_name);
        if (!proto) {
            fail(map_key, "unknown security protocol \"" + proto_name +
                              "\"; expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
        }
        protocols_[upper(java_trim(std::string_view(item).substr(0, colon)))] = *proto;
    }
    for (const std::string& name : split_csv(get_string("controller.listener.names"))) {
        controller_names_.push_back(upper(name));
    }

    // Listeners: explicit, else the legacy host.name/port pair, else Kafka's default.
    std::string_view listeners_key = "listeners";
    std::string listeners_text = get_string("listeners");
    if (!is_set("listeners") && (is_set("port") || is_set("host.name"))) {
        std::string host = get_string("host.name");
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        listeners_text = "PLAINTEXT://" + host + ":" + std::to_string(get_int("port"));
        listeners_key = is_set("host.name") ? "host.name" : "port";
    }
    c.listeners = parse_listener_list(listeners_key, listeners_text, true, &c.warnings);
    if (c.listeners.empty()) {
        fail(listeners_key, "expected at least one listener besides controller listeners");
    }

    auto check_advertised = [&](std::string_view key) {
        for (const auto& e : c.advertised_listeners) {
            bool known = std::any_of(c.listeners.begin(), c.listeners.end(),
                                     [&](const auto& l) { return l.name == e.name; });
            if (!known) {
                fail(key, "advertised listener " + e.name + " is not among listeners");
            }
            if (e.host == "0.0.0.0" || e.host == "::") {
                fail(key, "cannot advertise the non-routable address " + e.host +
                              "; set advertised.listeners to a host clients can reach");
            }
        }
        if (c.advertised_listeners.empty()) {
            fail(key, "expected at least one advertised listener besides controller listeners");
        }
    };
    if (is_set("advertised.listeners")) {
        c.advertised_listeners = parse_listener_list(
            "advertised.listeners", get_string("advertised.listeners"), false, nullptr);
        check_advertised("advertised.listeners");
    } else if (is_set("advertised.host.name") || is_set("advertised.port")) {
        std::string host = is_set("advertised.host.name") ? get_string("advertised.host.name")
                                                          : get_string("host.name");
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        int64_t port = is_set("advertised.port") ? get_int("advertised.port") : get_int("port");
        std::string_view key = is_set("advertised.host.name") ? "advertised.host.name"
                                                              : "advertised.port";
        c.advertised_listeners = parse_listener_list(
            key, "PLAINTEXT://" + host + ":" + std::to_string(port), false, nullptr);
        check_advertised(key);
    } else {
        c.advertised_listeners = c.listeners;
        check_advertised(listeners_key);
    }
}

// A name the kernel cannot set is a configuration error when given, and only a warning for the
// default (a kernel without cubic, or a broker not allowed to choose it).
void loader::set_loopback_congestion_control(broker_config& c) {
    constexpr std::string_view key = "runnel.socket.loopback.congestion.control";
    c.loopback_congestion_control = get_string(key);
    if (c.loopback_congestion_control.empty()) return;
    auto why = congestion_control_unusable(c.loopback_congestion_control);
    if (!why) return;
    if (is_set(key)) fail(key, *why);
    c.warnings.push_back("loopback connections keep the system's TCP congestion control: " +
                         *why);
    c.loopback_congestion_control.clear();
}

broker_config loader::run() {
    broker_config c;
    c.origin = origin_;
    validate_and_parse(c);

    // Identity: node.id wins; Kafka's -1 means unset.
    int32_t node = get_i32("node.id");
    int32_t broker = get_i32("broker.id");
    if (node >= 0) {
        c.node_id = node;
        if (broker >= 0 && broker != node) {
            c.warnings.push_back("broker.id (" + std::to_string(broker) +
                                 ") differs from node.id (" + std::to_string(node) +
                                 "); using node.id");
        }
    } else {
        c.node_id = broker >= 0 ? broker : 0;
    }
    if (auto id = get_string("cluster.id"); !id.empty()) c.cluster_id = id;
    c.shards = get_i32("runnel.shards");
    c.shard_poll_us = get_i32("runnel.shard.poll.us");

    resolve_listeners(c);
    c.socket_request_max_bytes = get_i32("socket.request.max.bytes");
    c.socket_send_buffer_bytes = get_i32("socket.send.buffer.bytes");
    c.socket_receive_buffer_bytes = get_i32("socket.receive.buffer.bytes");
    set_loopback_congestion_control(c);
    c.connections_max_idle_ms = get_int("connections.max.idle.ms");
    c.fetch_max_bytes = get_i32("fetch.max.bytes");
    c.num_network_threads = get_i32("num.network.threads");
    c.num_io_threads = get_i32("num.io.threads");

    std::string_view dirs_key = is_set("log.dirs") ? "log.dirs" : "log.dir";
    c.log_dirs = split_csv(get_string(dirs_key));
    if (c.log_dirs.empty()) fail(dirs_key, "expected at least one directory");
    for (auto& d : c.log_dirs) {
        // "/data/a/" and "/data/a" are one dir: partitions find their log dir as the parent path
        // of their directory, which never ends in a separator.
        while (d.size() > 1 && d.back() == '/') d.pop_back();
    }
    for (size_t i = 0; i < c.log_dirs.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (std::filesystem::path(c.log_dirs[i]).lexically_normal() ==
                std::filesystem::path(c.log_dirs[j]).lexically_normal()) {
                fail(dirs_key, "duplicate log directory " + c.log_dirs[i]);
            }
        }
    }
    c.num_partitions = get_i32("num.partitions");
    c.default_replication_factor = get_i32("default.replication.factor");
    c.auto_create_topics_enable = get_bool("auto.create.topics.enable");
    c.delete_topic_enable = get_bool("delete.topic.enable");
    c.max_partitions = get_i32("runnel.max.partitions");
    c.max_partitions_per_request = get_i32("runnel.max.partitions.per.request");
    c.log_open_files_max = get_i32("runnel.log.open.files.max");

    constexpr int64_t ms_per_minute = 60 * 1000;
    constexpr int64_t ms_per_hour = 60 * ms_per_minute;
    c.message_max_bytes = get_i32("message.max.bytes");
    c.log_segment_bytes = get_i32("log.segment.bytes");
    c.log_roll_ms = is_set("log.roll.ms") ? get_int("log.roll.ms")
                                          : get_int("log.roll.hours") * ms_per_hour;
    c.log_roll_jitter_ms = is_set("log.roll.jitter.ms")
                               ? get_int("log.roll.jitter.ms")
                               : get_int("log.roll.jitter.hours") * ms_per_hour;
    std::string_view retention_key;
    if (is_set("log.retention.ms")) {
        retention_key = "log.retention.ms";
        c.log_retention_ms = get_int(retention_key);
    } else if (is_set("log.retention.minutes")) {
        retention_key = "log.retention.minutes";
        c.log_retention_ms = get_int(retention_key) * ms_per_minute;
    } else {
        retention_key = "log.retention.hours";
        c.log_retention_ms = get_int(retention_key) * ms_per_hour;
    }
    // Kafka turns any negative retention into -1 (unlimited) but refuses 0.
    if (c.log_retention_ms < 0) c.log_retention_ms = -1;
    if (c.log_retention_ms == 0) {
        fail(retention_key, "expected a positive retention, or -1 for unlimited");
    }
    c.log_retention_bytes = get_int("log.retention.bytes");
    c.log_flush_interval_messages = get_int("log.flush.interval.messages");
    if (is_set("log.flush.interval.ms")) c.log_flush_interval_ms = get_int("log.flush.interval.ms");
    c.log_flush_scheduler_interval_ms = get_int("log.flush.scheduler.interval.ms");
    if (!c.log_flush_interval_ms && c.log_flush_scheduler_interval_ms < 0) {
        // It stands in for flush.ms, which must not be negative.
        fail("log.flush.scheduler.interval.ms",
             "expected an integer between 0 and 9223372036854775807 while "
             "log.flush.interval.ms is not set");
    }
    c.log_index_interval_bytes = get_i32("log.index.interval.bytes");
    c.log_index_size_max_bytes = get_i32("log.index.size.max.bytes");
    c.log_segment_delete_delay_ms = get_int("log.segment.delete.delay.ms");
    c.log_message_timestamp_type = parse_timestamp_type(get_string("log.message.timestamp.type"));
    c.log_message_timestamp_before_max_ms = get_int("log.message.timestamp.before.max.ms");
    c.log_message_timestamp_after_max_ms = get_int("log.message.timestamp.after.max.ms");
    c.log_cleanup_policy = parse_cleanup_policy(get_list("log.cleanup.policy"));
    c.log_preallocate = get_bool("log.preallocate");
    c.log_local_retention_ms = get_int("log.local.retention.ms");
    c.log_local_retention_bytes = get_int("log.local.retention.bytes");
    c.compression = parse_compression_type(get_string("compression.type"));
    c.compression_gzip_level = get_i32("compression.gzip.level");
    c.compression_lz4_level = get_i32("compression.lz4.level");
    c.compression_zstd_level = get_i32("compression.zstd.level");
    c.min_insync_replicas = get_i32("min.insync.replicas");
    c.unclean_leader_election_enable = get_bool("unclean.leader.election.enable");

    c.log_retention_check_interval_ms = get_int("log.retention.check.interval.ms");
    c.log_flush_offset_checkpoint_interval_ms = get_i32("log.flush.offset.checkpoint.interval.ms");
    c.num_recovery_threads_per_data_dir = get_i32("num.recovery.threads.per.data.dir");
    c.log_cleaner_enable = get_bool("log.cleaner.enable");
    c.log_cleaner_threads = get_i32("log.cleaner.threads");
    c.log_cleaner_backoff_ms = get_int("log.cleaner.backoff.ms");
    c.log_cleaner_dedupe_buffer_size = get_int("log.cleaner.dedupe.buffer.size");
    // Kafka's own check (KafkaConfig): less than 1 MiB of map per cleaner is refused.
    if (c.log_cleaner_dedupe_buffer_size / std::max(1, c.log_cleaner_threads) <= 1024 * 1024) {
        fail("log.cleaner.dedupe.buffer.size",
             "must be at least 1MB per cleaner thread (log.cleaner.threads = " +
                 std::to_string(c.log_cleaner_threads) + ")");
    }
    c.log_cleaner_io_buffer_load_factor = get_double("log.cleaner.io.buffer.load.factor");
    if (c.log_cleaner_io_buffer_load_factor <= 0) {
        fail("log.cleaner.io.buffer.load.factor", "expected a number above 0, at most 1");
    }
    c.log_cleaner_io_buffer_size = get_i32("log.cleaner.io.buffer.size");
    c.log_cleaner_min_cleanable_ratio = get_double("log.cleaner.min.cleanable.ratio");
    c.log_cleaner_delete_retention_ms = get_int("log.cleaner.delete.retention.ms");
    c.log_cleaner_min_compaction_lag_ms = get_int("log.cleaner.min.compaction.lag.ms");
    c.log_cleaner_max_compaction_lag_ms = get_int("log.cleaner.max.compaction.lag.ms");
    if (c.log_cleaner_min_compaction_lag_ms > c.log_cleaner_max_compaction_lag_ms) {
        fail("log.cleaner.min.compaction.lag.ms",
             "must not exceed log.cleaner.max.compaction.lag.ms (" +
                 std::to_string(c.log_cleaner_max_compaction_lag_ms) + ")");
    }

    c.offsets_topic_num_partitions = get_i32("offsets.topic.num.partitions");
    c.offsets_topic_replication_factor =
        static_cast<int16_t>(get_int("offsets.topic.replication.factor"));
    c.offsets_topic_segment_bytes = get_i32("offsets.topic.segment.bytes");
    c.offsets_retention_minutes = get_i32("offsets.retention.minutes");
    c.offsets_retention_check_interval_ms = get_int("offsets.retention.check.interval.ms");
    c.offset_metadata_max_bytes = get_i32("offset.metadata.max.bytes");
    c.group_initial_rebalance_delay_ms = get_i32("group.initial.rebalance.delay.ms");
    c.group_min_session_timeout_ms = get_i32("group.min.session.timeout.ms");
    c.group_max_session_timeout_ms = get_i32("group.max.session.timeout.ms");
    c.group_max_size = get_i32("group.max.size");
    c.group_consumer_heartbeat_interval_ms = get_i32("group.consumer.heartbeat.interval.ms");
    c.group_consumer_session_timeout_ms = get_i32("group.consumer.session.timeout.ms");

    c.transaction_state_log_num_partitions = get_i32("transaction.state.log.num.partitions");
    c.transaction_state_log_replication_factor =
        static_cast<int16_t>(get_int("transaction.state.log.replication.factor"));
    c.transaction_state_log_min_isr = get_i32("transaction.state.log.min.isr");
    c.transaction_state_log_segment_bytes = get_i32("transaction.state.log.segment.bytes");
    c.transactional_id_expiration_ms = get_i32("transactional.id.expiration.ms");
    c.transaction_max_timeout_ms = get_i32("transaction.max.timeout.ms");
    c.transaction_abort_timed_out_transaction_cleanup_interval_ms =
        get_i32("transaction.abort.timed.out.transaction.cleanup.interval.ms");
    c.transaction_remove_expired_transaction_cleanup_interval_ms =
        get_i32("transaction.remove.expired.transaction.cleanup.interval.ms");
    c.producer_id_expiration_ms = get_i32("producer.id.expiration.ms");
    c.producer_id_expiration_check_interval_ms =
        get_i32("producer.id.expiration.check.interval.ms");
    return c;
}

}  // namespace

std::string_view to_string(security_protocol p) {
    switch (p) {
    case security_protocol::plaintext: return "PLAINTEXT";
    case security_protocol::ssl: return "SSL";
    case security_protocol::sasl_plaintext: return "SASL_PLAINTEXT";
    case security_protocol::sasl_ssl: return "SASL_SSL";
    }
    return "UNKNOWN";
}

std::string to_string(const listener_endpoint& e) {
    std::string host = e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
    return e.name + "://" + host + ":" + std::to_string(e.port);
}

std::string local_canonical_host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_CANONNAME;
    addrinfo* info = nullptr;
    std::string result = name;
    if (getaddrinfo(name, nullptr, &hints, &info) == 0 && info != nullptr) {
        if (info->ai_canonname != nullptr && info->ai_canonname[0] != '\0') {
            result = info->ai_canonname;
        }
        freeaddrinfo(info);
    }
    return result;
}

broker_config broker_config::load(const std::string& path,
                                  const std::vector<std::string>& overrides) {
    return from_properties(load_properties_file(path), overrides, path);
}

broker_config broker_config::from_properties(const std::vector<property>& props,
                                             const std::vector<std::string>& overrides,
                                             std::string origin) {
    loader l(origin);
    for (const auto& p : props) l.set(p.key, p.value, origin + ":" + std::to_string(p.line));
    for (const auto& o : overrides) {
        size_t eq = o.find('=');
        std::string key = o.substr(0, eq);
        if (key.empty()) throw config_error("--override: \"" + o + "\": expected key=value");
        l.set(key, eq == std::string::npos ? "" : o.substr(eq + 1), "--override");
    }
    return l.run();
}

std::optional<std::string_view> broker_config::explicit_value(std::string_view key) const {
    auto it = explicit_values.find(key);
    if (it == explicit_values.end()) return std::nullopt;
    return it->second;
}

uint32_t broker_config::shard_count() const {
    if (shards > 0) return static_cast<uint32_t>(shards);
    return std::max(1u, std::thread::hardware_concurrency());
}

int64_t broker_config::partition_limit() const {
    if (max_partitions > 0) return max_partitions;
    return std::max<int64_t>(1000, usable_memory_bytes() / 2 / memory_per_partition);
}

int64_t broker_config::open_log_files_limit() const {
    if (log_open_files_max > 0) return log_open_files_max;
    return std::max<int64_t>(64, static_cast<int64_t>(descriptor_limit().soft / 2));
}

std::span<const config_key> broker_config::known_keys() { return broker_keys; }

const config_key* broker_config::find_key(std::string_view name) {
    for (const auto& k : broker_keys) {
        if (k.name == name) return &k;
    }
    return nullptr;
}

std::vector<std::string_view> broker_config::synonyms_of(std::string_view name) {
    static constexpr std::string_view roll[] = {"log.roll.ms", "log.roll.hours"};
    static constexpr std::string_view jitter[] = {"log.roll.jitter.ms", "log.roll.jitter.hours"};
    static constexpr std::string_view retention[] = {"log.retention.ms", "log.retention.minutes",
                                                     "log.retention.hours"};
    static constexpr std::string_view flush[] = {"log.flush.interval.ms",
                                                 "log.flush.scheduler.interval.ms"};
    for (std::span<const std::string_view> group : {std::span<const std::string_view>(roll),
                                                    std::span<const std::string_view>(jitter),
                                                    std::span<const std::string_view>(retention)}) {
        if (std::find(group.begin(), group.end(), name) != group.end()) {
            return {group.begin(), group.end()};
        }
    }
    // Only log.flush.interval.ms falls back to the scheduler interval, not the other way round.
    if (name == flush[0]) return {std::begin(flush), std::end(flush)};
    return {name};
}

std::vector<config_entry> broker_config::describe() const {
    std::vector<const config_key*> keys;
    for (const auto& k : broker_keys) keys.push_back(&k);
    std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->name < b->name; });

    std::vector<config_entry> out;
    out.reserve(keys.size());
    for (const config_key* k : keys) {
        config_entry e;
        e.name = std::string(k->name);
        e.type = k->type;
        e.documentation = std::string(k->documentation);
        e.read_only = true;
        e.sensitive = false;
        auto raw = explicit_value(k->name);
        if (raw) {
            e.source = config_source::static_broker_config;
            e.value = canonical_config_value(*k, *raw);
        } else {
            e.source = config_source::default_config;
            if (k->default_value) e.value = std::string(*k->default_value);
        }
        e.is_default = e.source == config_source::default_config;
        // Values Runnel derives from other keys.
        if (k->name == "broker.id" || k->name == "node.id") {
            e.value = std::to_string(node_id);
        } else if (k->name == "listeners" && !raw &&
                   (explicit_value("port") || explicit_value("host.name"))) {
            std::string joined;
            for (const auto& l : listeners) joined += (joined.empty() ? "" : ",") + to_string(l);
            e.value = joined;
        }
        // Kafka lists every set synonym, then every defaulted one, from this key on.
        std::vector<config_synonym> synonyms;
        auto group = synonyms_of(k->name);
        for (auto name : group) {
            if (auto v = explicit_value(name)) {
                synonyms.push_back({std::string(name), std::string(*v),
                                    config_source::static_broker_config});
            }
        }
        for (auto name : group) {
            const config_key* sk = find_key(name);
            if (sk != nullptr && sk->default_value) {
                synonyms.push_back({std::string(name), std::string(*sk->default_value),
                                    config_source::default_config});
            }
        }
        auto first = std::find_if(synonyms.begin(), synonyms.end(),
                                  [&](const auto& s) { return s.name == k->name; });
        e.synonyms.assign(first, synonyms.end());
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace runnel::server
