// Vocabulary shared by the broker and topic configuration: the entry DescribeConfigs reports,
// Kafka's config type and source codes, and key definitions with the validators Kafka applies.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace runnel::server {

// Bad configuration: an unreadable file, a malformed line or an invalid value. The message is
// meant for the operator as is.
class config_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Kafka's DescribeConfigsResponse.ConfigType codes (sent from DescribeConfigs v3).
enum class config_type : int8_t {
    unknown = 0,
    boolean = 1,
    string = 2,
    int32 = 3,    // Kafka's INT
    int16 = 4,    // Kafka's SHORT
    int64 = 5,    // Kafka's LONG
    float64 = 6,  // Kafka's DOUBLE
    list = 7,
    class_name = 8,
    password = 9,
};

// Kafka's DescribeConfigsResponse.ConfigSource codes.
enum class config_source : int8_t {
    unknown = 0,
    dynamic_topic_config = 1,
    dynamic_broker_config = 2,
    dynamic_default_broker_config = 3,
    static_broker_config = 4,
    default_config = 5,
    dynamic_broker_logger_config = 6,
    client_metrics_config = 7,
    group_config = 8,
};

struct config_synonym {
    std::string name;
    std::optional<std::string> value;
    config_source source = config_source::unknown;
    bool operator==(const config_synonym&) const = default;
};

// One row of a DescribeConfigs answer.
struct config_entry {
    std::string name;
    std::optional<std::string> value;  // nullopt: no value (Kafka's null)
    config_source source = config_source::default_config;
    bool is_default = true;  // DescribeConfigs v0 only; equals source == default_config
    bool read_only = true;
    bool sensitive = false;
    config_type type = config_type::unknown;
    std::string documentation;
    std::vector<config_synonym> synonyms;  // highest precedence first
};

// Validators Kafka's ConfigDef attaches to keys.
enum class rule_kind : uint8_t {
    none,
    range,               // integers or doubles within [lo, hi]
    one_of,              // a string from `choices` (case sensitive, as in Kafka)
    list_of,             // a comma-separated list whose items are all in `choices`
    gzip_level,          // 1..9 or -1
    throttled_replicas,  // "*" or "partition:broker,..."
};

struct config_rule {
    rule_kind kind = rule_kind::none;
    int64_t lo = 0;
    int64_t hi = 0;
    std::span<const std::string_view> choices;
};

constexpr config_rule no_rule() { return {}; }
constexpr config_rule between(int64_t lo, int64_t hi) { return {rule_kind::range, lo, hi, {}}; }
// The upper bound is clipped to the key's type when the value is checked.
constexpr config_rule at_least(int64_t lo) { return between(lo, INT64_MAX); }
constexpr config_rule one_of(std::span<const std::string_view> choices) {
    return {rule_kind::one_of, 0, 0, choices};
}
constexpr config_rule list_of(std::span<const std::string_view> choices) {
    return {rule_kind::list_of, 0, 0, choices};
}
constexpr config_rule gzip_level() { return {rule_kind::gzip_level, 1, 9, {}}; }
constexpr config_rule throttled_replicas() { return {rule_kind::throttled_replicas, 0, 0, {}}; }

// Whether a broker key changes at run time (Kafka's "Update Mode"): read_only keys only from
// server.properties; cluster_wide ones also through IncrementalAlterConfigs/AlterConfigs on the
// cluster default (resource name "") or on one broker; per_broker ones only on one broker.
enum class update_mode : uint8_t { read_only, cluster_wide, per_broker, per_topic };

// A configuration key as Kafka defines it.
struct config_key {
    std::string_view name;
    config_type type = config_type::string;
    std::optional<std::string_view> default_value;  // nullopt: Kafka's null default
    config_rule rule;
    std::string_view documentation;
    update_mode mode = update_mode::read_only;
};

// A parsed value: booleans, all integer widths (as int64), doubles, strings and lists.
using config_value = std::variant<bool, int64_t, double, std::string, std::vector<std::string>>;

struct parse_result {
    std::optional<config_value> value;  // set on success
    std::string expected;  // on failure, what the key accepts: "an integer between 14 and ..."
};

// Parses `raw` the way Kafka's ConfigDef does (surrounding whitespace trimmed, integers checked
// against their type's width, booleans case-insensitive, lists split on commas) and applies the
// key's rule.
parse_result parse_config_value(const config_key& key, std::string_view raw);

// What a key accepts, phrased to follow "expected ": "an integer between 14 and 2147483647".
std::string describe_expectation(const config_key& key);

// The string Kafka shows for a parsed value: lists joined with ",", doubles as Java prints them
// ("0.5", "1.0E-4"), booleans as "true"/"false".
std::string format_config_value(const config_value& value);

// Kafka's DescribeConfigs value for a raw setting of `key`: parsed and formatted back, or the raw
// text if it does not parse.
std::string canonical_config_value(const config_key& key, std::string_view raw);

// Java's String.trim(): strips every character <= ' ' from both ends.
std::string_view java_trim(std::string_view s);

// Splits on commas with surrounding whitespace removed, dropping empty items (Kafka's
// Csv.parseCsvList).
std::vector<std::string> split_csv(std::string_view s);

// Kafka's defaults for keys whose default is the type's largest value.
inline constexpr std::string_view long_max_text = "9223372036854775807";
inline constexpr std::string_view int_max_text = "2147483647";

// The C++ value of a key's default as a field initializer: integers, booleans ("true"/"false"),
// doubles and strings; a null default (std::nullopt) is the type's empty value.
template <class T>
T config_default(std::string_view text) {
    if constexpr (std::is_same_v<T, bool>) {
        return text == "true";
    } else if constexpr (std::is_same_v<T, std::string>) {
        return std::string(text);
    } else if constexpr (std::is_floating_point_v<T>) {
        return std::stod(std::string(text));
    } else {
        return static_cast<T>(std::stoll(std::string(text)));
    }
}
template <class T>
T config_default(std::nullopt_t) {
    return T{};
}

// Timestamp kinds a log can stamp records with (message.timestamp.type).
enum class timestamp_type : uint8_t { create_time, log_append_time };

// Final compression of a topic's data (compression.type); producer keeps what the client sent.
enum class compression_type : uint8_t { producer, uncompressed, gzip, snappy, lz4, zstd };

// Bits of cleanup.policy.
inline constexpr uint8_t cleanup_delete = 1;
inline constexpr uint8_t cleanup_compact = 2;

// A cleanup.policy value: which of delete and compact it names.
struct cleanup_policy_set {
    uint8_t bits = cleanup_delete;
    bool deletes() const { return (bits & cleanup_delete) != 0; }
    bool compacts() const { return (bits & cleanup_compact) != 0; }
    bool operator==(const cleanup_policy_set&) const = default;
};

// Valid strings for the shared rules, in the order Kafka lists them.
inline constexpr std::string_view timestamp_type_names[] = {"CreateTime", "LogAppendTime"};
inline constexpr std::string_view compression_type_names[] = {"uncompressed", "zstd", "lz4",
                                                              "snappy",       "gzip", "producer"};
inline constexpr std::string_view cleanup_policy_names[] = {"compact", "delete"};

std::string_view to_string(timestamp_type t);
std::string_view to_string(compression_type c);
std::string cleanup_policy_string(uint8_t bits);  // "delete", "compact", "compact,delete" or ""

timestamp_type parse_timestamp_type(std::string_view s);      // s must be a valid name
compression_type parse_compression_type(std::string_view s);  // s must be a valid name
cleanup_policy_set parse_cleanup_policy(const std::vector<std::string>& items);

// A parsed value as the C++ type of the field it sets (integers of any width, booleans, doubles,
// strings and the enumerations above), and back: the two directions between a key's text and a
// typed field, for the rows that declare keys (server/config/keys/*.def).
template <class T>
T from_config_value(const config_value& v) {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, double> ||
                  std::is_same_v<T, std::string>) {
        return std::get<T>(v);
    } else if constexpr (std::is_same_v<T, timestamp_type>) {
        return parse_timestamp_type(std::get<std::string>(v));
    } else if constexpr (std::is_same_v<T, compression_type>) {
        return parse_compression_type(std::get<std::string>(v));
    } else if constexpr (std::is_same_v<T, cleanup_policy_set>) {
        return parse_cleanup_policy(std::get<std::vector<std::string>>(v));
    } else {
        static_assert(std::is_integral_v<T>);
        return static_cast<T>(std::get<int64_t>(v));
    }
}
config_value to_config_value(bool v);
config_value to_config_value(double v);
config_value to_config_value(int64_t v);
inline config_value to_config_value(int32_t v) { return to_config_value(int64_t{v}); }
config_value to_config_value(const std::string& v);
config_value to_config_value(timestamp_type v);
config_value to_config_value(compression_type v);
config_value to_config_value(cleanup_policy_set v);

// Kafka's per-codec compression level bounds.
inline constexpr int32_t gzip_default_level = -1;
inline constexpr int32_t lz4_min_level = 1;
inline constexpr int32_t lz4_max_level = 17;
inline constexpr int32_t lz4_default_level = 9;
inline constexpr int32_t zstd_min_level = -131072;
inline constexpr int32_t zstd_max_level = 22;
inline constexpr int32_t zstd_default_level = 3;

}  // namespace runnel::server
