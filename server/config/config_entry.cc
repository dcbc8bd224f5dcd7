#include "server/config/config_entry.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace runnel::server {

namespace {

struct int_bounds {
    int64_t lo;
    int64_t hi;
};

int_bounds type_bounds(config_type type) {
    switch (type) {
        case config_type::int16:
            return {INT16_MIN, INT16_MAX};
        case config_type::int32:
            return {INT32_MIN, INT32_MAX};
        default:
            return {INT64_MIN, INT64_MAX};
    }
}

// Java's Integer/Long.parseInt: optional sign, then ASCII digits, nothing else.
std::optional<int64_t> parse_java_integer(std::string_view s, int_bounds bounds) {
    if (s.empty()) return std::nullopt;
    bool negative = false;
    if (s[0] == '+' || s[0] == '-') {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.empty()) return std::nullopt;
    // Accumulate negatively so INT64_MIN parses.
    int64_t acc = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        int d = c - '0';
        if (acc < (INT64_MIN + d) / 10) return std::nullopt;
        acc = acc * 10 - d;
    }
    if (!negative) {
        if (acc == INT64_MIN) return std::nullopt;
        acc = -acc;
    }
    if (acc < bounds.lo || acc > bounds.hi) return std::nullopt;
    return acc;
}

// Java's Double.parseDouble for plain decimal input: sign, digits with an optional point, an
// optional exponent and an optional f/F/d/D suffix. NaN, Infinity and hex floats are refused.
std::optional<double> parse_java_double(std::string_view s) {
    if (!s.empty() && (s.back() == 'f' || s.back() == 'F' || s.back() == 'd' || s.back() == 'D')) {
        s.remove_suffix(1);
    }
    bool negative = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) {
        return std::nullopt;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return negative ? -v : v;
}

std::string join(std::span<const std::string_view> items, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += sep;
        out += items[i];
    }
    return out;
}

bool contains(std::span<const std::string_view> items, std::string_view s) {
    return std::find(items.begin(), items.end(), s) != items.end();
}

bool is_replica_pair(std::string_view s) {
    size_t colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
    auto digits = [](std::string_view d) {
        return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    return digits(s.substr(0, colon)) && digits(s.substr(colon + 1));
}

// Kafka's LIST parsing: empty text is an empty list; otherwise split on commas (with whitespace
// around them) keeping empty items, which validators then reject.
std::vector<std::string> split_list_keep_empty(std::string_view trimmed) {
    std::vector<std::string> items;
    if (trimmed.empty()) return items;
    size_t start = 0;
    while (true) {
        size_t comma = trimmed.find(',', start);
        std::string_view item = trimmed.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
            item.remove_prefix(1);
        }
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
            item.remove_suffix(1);
        }
        items.emplace_back(item);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return items;
}

std::string format_java_double(double v) {
    if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
    // Shortest round-trip digits, then laid out as Java's Double.toString does.
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<size_t>(end - buf));
    bool negative = sci.front() == '-';
    if (negative) sci.remove_prefix(1);
    size_t e_pos = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e_pos)) {
        if (c != '.') digits.push_back(c);
    }
    int exponent = std::stoi(std::string(sci.substr(e_pos + 1)));
    std::string out = negative ? "-" : "";
    double magnitude = std::fabs(v);
    if (magnitude >= 1e-3 && magnitude < 1e7) {
        if (exponent >= 0) {
            size_t int_len = static_cast<size_t>(exponent) + 1;
            if (digits.size() < int_len) digits.append(int_len - digits.size(), '0');
            out += digits.substr(0, int_len);
            out += '.';
            out += digits.size() > int_len ? digits.substr(int_len) : "0";
        } else {
            out += "0.";
            out.append(static_cast<size_t>(-exponent - 1), '0');
            out += digits;
        }
        return out;
    }
    out += digits[0];
    out += '.';
    out += digits.size() > 1 ? digits.substr(1) : "0";
    out += 'E';
    out += std::to_string(exponent);
    return out;
}

}  // namespace

std::string_view java_trim(std::string_view s) {
    while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
    while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
    return s;
}

std::vector<std::string> split_csv(std::string_view s) {
    std::vector<std::string> out;
    for (auto& item : split_list_keep_empty(java_trim(s))) {
        if (!item.empty()) out.push_back(std::move(item));
    }
    return out;
}

std::string describe_expectation(const config_key& key) {
    const config_rule& rule = key.rule;
    switch (key.type) {
        case config_type::boolean:
            return "true or false";
        case config_type::int16:
        case config_type::int32:
        case config_type::int64: {
            if (rule.kind == rule_kind::gzip_level) return "an integer between 1 and 9, or -1";
            if (rule.kind != rule_kind::range) {
                if (key.type == config_type::int16) return "a 16-bit integer";
                if (key.type == config_type::int32) return "a 32-bit integer";
                return "a 64-bit integer";
            }
            int_bounds b = type_bounds(key.type);
            return "an integer between " + std::to_string(std::max(rule.lo, b.lo)) + " and " +
                   std::to_string(std::min(rule.hi, b.hi));
        }
        case config_type::float64:
            if (rule.kind == rule_kind::range) {
                return "a number between " + std::to_string(rule.lo) + " and " +
                       std::to_string(rule.hi);
            }
            return "a number";
        case config_type::list:
            if (rule.kind == rule_kind::list_of) {
                return "a comma-separated list of: " + join(rule.choices, ", ");
            }
            if (rule.kind == rule_kind::throttled_replicas) {
                return "'*' or a comma-separated list of partitionId:brokerId pairs";
            }
            return "a comma-separated list";
        default:
            if (rule.kind == rule_kind::one_of) return "one of: " + join(rule.choices, ", ");
            return "a string";
    }
}

parse_result parse_config_value(const config_key& key, std::string_view raw) {
    std::string_view s = java_trim(raw);
    const config_rule& rule = key.rule;
    auto fail = [&] { return parse_result{std::nullopt, describe_expectation(key)}; };
    switch (key.type) {
        case config_type::boolean: {
            auto equals_ci = [&](std::string_view word) {
                return s.size() == word.size() &&
                       std::equal(s.begin(), s.end(), word.begin(), [](char a, char b) {
                           return std::tolower(static_cast<unsigned char>(a)) == b;
                       });
            };
            if (equals_ci("true")) return {true, {}};
            if (equals_ci("false")) return {false, {}};
            return fail();
        }
        case config_type::int16:
        case config_type::int32:
        case config_type::int64: {
            auto v = parse_java_integer(s, type_bounds(key.type));
            if (!v) return fail();
            if (rule.kind == rule_kind::range && (*v < rule.lo || *v > rule.hi)) return fail();
            if (rule.kind == rule_kind::gzip_level && *v != gzip_default_level &&
                (*v < rule.lo || *v > rule.hi)) {
                return fail();
            }
            return {*v, {}};
        }
        case config_type::float64: {
            auto v = parse_java_double(s);
            if (!v) return fail();
            if (rule.kind == rule_kind::range &&
                (*v < static_cast<double>(rule.lo) || *v > static_cast<double>(rule.hi))) {
                return fail();
            }
            return {*v, {}};
        }
        case config_type::list: {
            auto items = split_list_keep_empty(s);
            if (rule.kind == rule_kind::list_of) {
                for (const auto& item : items) {
                    if (!contains(rule.choices, item)) return fail();
                }
            } else if (rule.kind == rule_kind::throttled_replicas) {
                bool wildcard = items.size() == 1 && items[0] == "*";
                bool pairs = std::all_of(items.begin(), items.end(), [](const std::string& item) {
                    return item.empty() || is_replica_pair(item);
                });
                if (!wildcard && !pairs) return fail();
            }
            return {std::move(items), {}};
        }
        default:
            if (rule.kind == rule_kind::one_of && !contains(rule.choices, s)) return fail();
            return {std::string(s), {}};
    }
}

std::string format_config_value(const config_value& value) {
    struct visitor {
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(int64_t v) const { return std::to_string(v); }
        std::string operator()(double v) const { return format_java_double(v); }
        std::string operator()(const std::string& s) const { return s; }
        std::string operator()(const std::vector<std::string>& items) const {
            std::string out;
            for (size_t i = 0; i < items.size(); ++i) {
                if (i > 0) out += ',';
                out += items[i];
            }
            return out;
        }
    };
    return std::visit(visitor{}, value);
}

std::string canonical_config_value(const config_key& key, std::string_view raw) {
    parse_result r = parse_config_value(key, raw);
    return r.value ? format_config_value(*r.value) : std::string(raw);
}

std::string_view to_string(timestamp_type t) {
    return t == timestamp_type::log_append_time ? "LogAppendTime" : "CreateTime";
}

std::string_view to_string(compression_type c) {
    switch (c) {
        case compression_type::uncompressed:
            return "uncompressed";
        case compression_type::gzip:
            return "gzip";
        case compression_type::snappy:
            return "snappy";
        case compression_type::lz4:
            return "lz4";
        case compression_type::zstd:
            return "zstd";
        case compression_type::producer:
            break;
    }
    return "producer";
}

std::string cleanup_policy_string(uint8_t bits) {
    if ((bits & cleanup_compact) && (bits & cleanup_delete)) return "compact,delete";
    if (bits & cleanup_compact) return "compact";
    if (bits & cleanup_delete) return "delete";
    return "";
}

timestamp_type parse_timestamp_type(std::string_view s) {
    return s == "LogAppendTime" ? timestamp_type::log_append_time : timestamp_type::create_time;
}

compression_type parse_compression_type(std::string_view s) {
    if (s == "uncompressed") return compression_type::uncompressed;
    if (s == "gzip") return compression_type::gzip;
    if (s == "snappy") return compression_type::snappy;
    if (s == "lz4") return compression_type::lz4;
    if (s == "zstd") return compression_type::zstd;
    return compression_type::producer;
}

cleanup_policy_set parse_cleanup_policy(const std::vector<std::string>& items) {
    cleanup_policy_set p{0};
    for (const auto& item : items) {
        if (item == "delete") p.bits |= cleanup_delete;
        if (item == "compact") p.bits |= cleanup_compact;
    }
    return p;
}

config_value to_config_value(bool v) { return v; }
config_value to_config_value(double v) { return v; }
config_value to_config_value(int64_t v) { return v; }
config_value to_config_value(const std::string& v) { return v; }
config_value to_config_value(timestamp_type v) { return std::string(to_string(v)); }
config_value to_config_value(compression_type v) { return std::string(to_string(v)); }
config_value to_config_value(cleanup_policy_set v) {
    return split_csv(cleanup_policy_string(v.bits));
}

}  // namespace runnel::server
