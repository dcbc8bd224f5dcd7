#include "server/config/broker_config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <thread>

#include "server/core/host_limits.h"
#include "server/core/tcp_congestion.h"

namespace runnel::server {

namespace {

using t = config_type;

// The key table, from the rows of broker_keys.def.
constexpr config_key broker_keys[] = {
#define RUNNEL_FIELD(cpp_type, field, name, type, mode, default_value, rule, doc) \
    {name, config_type::type, default_value, rule, doc, update_mode::mode},
#define RUNNEL_KEY(name, type, mode, default_value, rule, doc) \
    {name, config_type::type, default_value, rule, doc, update_mode::mode},
#include "server/config/broker_keys.def"
#undef RUNNEL_FIELD
#undef RUNNEL_KEY
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
    size_t order = 0;   // position of the last assignment, to report errors in file order
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
    // A parsed value as the field type of its RUNNEL_FIELD row.
    template <class T>
    T get_as(std::string_view key) const {
        if constexpr (std::is_same_v<T, bool>) {
            return get_bool(key);
        } else if constexpr (std::is_same_v<T, std::string>) {
            return get_string(key);
        } else if constexpr (std::is_floating_point_v<T>) {
            return get_double(key);
        } else {
            return static_cast<T>(get_int(key));
        }
    }

    void validate_and_parse(broker_config& c);
    void resolve_listeners(broker_config& c);
    void set_loopback_congestion_control(broker_config& c);
    std::vector<listener_endpoint> parse_listener_list(std::string_view key, std::string_view text,
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
        p.controller = p.endpoint.name == "CONTROLLER" ||
                       std::find(controller_names_.begin(), controller_names_.end(),
                                 p.endpoint.name) != controller_names_.end();
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
                fail(key, "listeners " + eps[0]->name + " and " + eps[1]->name + " share port " +
                              std::to_string(port) +
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
        std::string_view key =
            is_set("advertised.host.name") ? "advertised.host.name" : "advertised.port";
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
    c.warnings.push_back("loopback connections keep the system's TCP congestion control: " + *why);
    c.loopback_congestion_control.clear();
}

broker_config loader::run() {
    broker_config c;
    c.origin = origin_;
    validate_and_parse(c);
    // Every RUNNEL_FIELD key, straight into its field; the rest is done below.
#define RUNNEL_FIELD(cpp_type, field, name, type, mode, default_value, rule, doc) \
    c.field = get_as<cpp_type>(name);
#define RUNNEL_KEY(name, type, mode, default_value, rule, doc)
#include "server/config/broker_keys.def"
#undef RUNNEL_FIELD
#undef RUNNEL_KEY

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
    c.node_id_configured = node >= 0 || broker >= 0;
    if (!c.zookeeper_connect.empty() && c.node_id_configured && c.broker_id_generation_enable &&
        c.node_id > c.reserved_broker_max_id) {
        // Kafka's words: a configured id must not collide with the generated ones.
        throw config_error(
            "broker.id must be greater than or equal to -1 and not greater than "
            "reserved.broker.max.id (" +
            std::to_string(c.reserved_broker_max_id) + "): it is " + std::to_string(c.node_id));
    }
    if (auto id = get_string("cluster.id"); !id.empty()) c.cluster_id = id;
    c.zookeeper_connection_timeout_ms = is_set("zookeeper.connection.timeout.ms")
                                            ? get_i32("zookeeper.connection.timeout.ms")
                                            : c.zookeeper_session_timeout_ms;

    resolve_listeners(c);
    set_loopback_congestion_control(c);

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

    constexpr int64_t ms_per_minute = 60 * 1000;
    constexpr int64_t ms_per_hour = 60 * ms_per_minute;
    c.log_roll_ms =
        is_set("log.roll.ms") ? get_int("log.roll.ms") : get_int("log.roll.hours") * ms_per_hour;
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
    c.log_flush_interval_ms = is_set("log.flush.interval.ms") ? get_int("log.flush.interval.ms")
                                                              : c.log_flush_scheduler_interval_ms;
    if (!is_set("log.flush.interval.ms") && c.log_flush_scheduler_interval_ms < 0) {
        // It stands in for flush.ms, which must not be negative.
        fail("log.flush.scheduler.interval.ms",
             "expected an integer between 0 and 9223372036854775807 while "
             "log.flush.interval.ms is not set");
    }
    c.log_message_timestamp_type = parse_timestamp_type(get_string("log.message.timestamp.type"));
    c.log_cleanup_policy = parse_cleanup_policy(get_list("log.cleanup.policy"));
    c.compression = parse_compression_type(get_string("compression.type"));

    // Kafka's own check (KafkaConfig): less than 1 MiB of map per cleaner is refused.
    if (c.log_cleaner_dedupe_buffer_size / std::max(1, c.log_cleaner_threads) <= 1024 * 1024) {
        fail("log.cleaner.dedupe.buffer.size",
             "must be at least 1MB per cleaner thread (log.cleaner.threads = " +
                 std::to_string(c.log_cleaner_threads) + ")");
    }
    if (c.log_cleaner_io_buffer_load_factor <= 0) {
        fail("log.cleaner.io.buffer.load.factor", "expected a number above 0, at most 1");
    }
    if (c.log_cleaner_min_compaction_lag_ms > c.log_cleaner_max_compaction_lag_ms) {
        fail("log.cleaner.min.compaction.lag.ms",
             "must not exceed log.cleaner.max.compaction.lag.ms (" +
                 std::to_string(c.log_cleaner_max_compaction_lag_ms) + ")");
    }

    return c;
}

}  // namespace

std::string_view to_string(security_protocol p) {
    switch (p) {
        case security_protocol::plaintext:
            return "PLAINTEXT";
        case security_protocol::ssl:
            return "SSL";
        case security_protocol::sasl_plaintext:
            return "SASL_PLAINTEXT";
        case security_protocol::sasl_ssl:
            return "SASL_SSL";
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
    return from_sources(props, overrides, std::move(origin), {});
}

broker_config broker_config::from_sources(const std::vector<property>& props,
                                          const std::vector<std::string>& overrides,
                                          std::string origin, dynamic_broker_configs dynamic) {
    auto static_settings = [&](loader& l) {
        for (const auto& p : props) l.set(p.key, p.value, origin + ":" + std::to_string(p.line));
        for (const auto& o : overrides) {
            size_t eq = o.find('=');
            std::string key = o.substr(0, eq);
            if (key.empty()) throw config_error("--override: \"" + o + "\": expected key=value");
            l.set(key, eq == std::string::npos ? "" : o.substr(eq + 1), "--override");
        }
    };
    loader file_only(origin);
    static_settings(file_only);
    broker_config c = file_only.run();
    if (dynamic != dynamic_broker_configs{}) {
        // Loaded again with the dynamic values on top, so that derived fields and cross-key
        // rules see them; what the file said stays in explicit_values.
        loader layered(origin);
        static_settings(layered);
        for (const auto& [key, value] : dynamic.cluster_default) {
            layered.set(key, value, "dynamic broker config (cluster default)");
        }
        for (const auto& [key, value] : dynamic.this_broker) {
            layered.set(key, value, "dynamic broker config");
        }
        broker_config file = std::move(c);
        c = layered.run();
        c.explicit_values = std::move(file.explicit_values);
    }
    c.file_properties = props;
    c.override_arguments = overrides;
    c.dynamic = std::move(dynamic);
    return c;
}

broker_config broker_config::with_dynamic(dynamic_broker_configs d) const {
    return from_sources(file_properties, override_arguments, origin, std::move(d));
}

std::optional<std::pair<config_source, std::string_view>> broker_config::setting_of(
    std::string_view key) const {
    if (auto it = dynamic.this_broker.find(key); it != dynamic.this_broker.end()) {
        return std::pair{config_source::dynamic_broker_config, std::string_view(it->second)};
    }
    if (auto it = dynamic.cluster_default.find(key); it != dynamic.cluster_default.end()) {
        return std::pair{config_source::dynamic_default_broker_config,
                         std::string_view(it->second)};
    }
    if (auto v = explicit_value(key)) return std::pair{config_source::static_broker_config, *v};
    return std::nullopt;
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
    for (std::span<const std::string_view> group :
         {std::span<const std::string_view>(roll), std::span<const std::string_view>(jitter),
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
        e.read_only = k->mode == update_mode::read_only;
        e.sensitive = false;
        auto set = setting_of(k->name);
        if (set) {
            e.source = set->first;
            e.value = canonical_config_value(*k, set->second);
        } else {
            e.source = config_source::default_config;
            if (k->default_value) e.value = std::string(*k->default_value);
        }
        e.is_default = e.source == config_source::default_config;
        // Values Runnel derives from other keys.
        if (k->name == "broker.id" || k->name == "node.id") {
            e.value = std::to_string(node_id);
        } else if (k->name == "listeners" && !set &&
                   (explicit_value("port") || explicit_value("host.name"))) {
            std::string joined;
            for (const auto& l : listeners) joined += (joined.empty() ? "" : ",") + to_string(l);
            e.value = joined;
        }
        e.synonyms = synonyms_for(k->name);
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<config_synonym> broker_config::synonyms_for(std::string_view key) const {
    std::vector<config_synonym> synonyms;
    auto group = synonyms_of(key);
    auto add_layer = [&](const config_map& layer, config_source source) {
        for (auto name : group) {
            if (auto it = layer.find(name); it != layer.end()) {
                synonyms.push_back({std::string(name), it->second, source});
            }
        }
    };
    add_layer(dynamic.this_broker, config_source::dynamic_broker_config);
    add_layer(dynamic.cluster_default, config_source::dynamic_default_broker_config);
    add_layer(explicit_values, config_source::static_broker_config);
    for (auto name : group) {
        const config_key* sk = find_key(name);
        if (sk != nullptr && sk->default_value) {
            synonyms.push_back({std::string(name), std::string(*sk->default_value),
                                config_source::default_config});
        }
    }
    auto first = std::find_if(synonyms.begin(), synonyms.end(),
                              [&](const auto& s) { return s.name == key; });
    return {first, synonyms.end()};
}

std::vector<config_entry> broker_config::describe_cluster_defaults() const {
    std::vector<config_entry> out;
    for (const auto& [name, raw] : dynamic.cluster_default) {
        const config_key* k = find_key(name);
        if (k == nullptr) continue;
        config_entry e;
        e.name = name;
        e.type = k->type;
        e.documentation = std::string(k->documentation);
        e.read_only = k->mode == update_mode::read_only;
        e.source = config_source::dynamic_default_broker_config;
        e.is_default = false;
        e.value = canonical_config_value(*k, raw);
        e.synonyms.push_back({name, raw, e.source});
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace runnel::server
