#include "server/config/topic_config.h"

#include <algorithm>

namespace runnel::server {

namespace {

using t = config_type;

struct topic_key {
    config_key key;
    std::string_view broker_synonym;  // first broker key it defaults to; empty if none
    // The broker's value for the key, from its RUNNEL_TOPIC_FIELD row's broker field; nullptr
    // for RUNNEL_TOPIC_KEY rows. `raw` is the broker's own setting of the synonym, parsed, if it
    // has one: when it means what the field holds, it is returned as written (a list keeps its
    // order, "delete,compact"), as Kafka shows it.
    config_value (*broker_value)(const broker_config&, const std::optional<config_value>& raw);
};

// The key table, from the rows of topic_keys.def.
constexpr topic_key topic_keys[] = {
#define RUNNEL_TOPIC_FIELD(cpp_type, field, name, type, default_value, rule, broker_field, \
                           broker_synonym, doc)                                            \
    {{name, t::type, default_value, rule, doc},                                            \
     broker_synonym,                                                                       \
     [](const broker_config& b, const std::optional<config_value>& raw) -> config_value {  \
         if (raw && from_config_value<cpp_type>(*raw) == b.broker_field) return *raw;      \
         return to_config_value(b.broker_field);                                           \
     }},
#define RUNNEL_TOPIC_KEY(name, type, default_value, rule, doc) \
    {{name, t::type, default_value, rule, doc, update_mode::per_topic}, "", nullptr},
#include "server/config/keys/topic_keys.def"
#undef RUNNEL_TOPIC_FIELD
#undef RUNNEL_TOPIC_KEY
};

const topic_key* find_topic_key(std::string_view name) {
    for (const auto& k : topic_keys) {
        if (k.key.name == name) return &k;
    }
    return nullptr;
}

// The value a topic inherits from the broker, taken from the typed fields so that a
// broker_config built in code is honoured as well as one loaded from a file.
std::optional<config_value> broker_value(const topic_key& tk, const broker_config& b) {
    if (tk.broker_value == nullptr) return std::nullopt;
    std::optional<config_value> raw;
    if (auto set = b.setting_of(tk.broker_synonym)) {
        raw = parse_config_value(*broker_config::find_key(tk.broker_synonym), set->second).value;
    }
    return tk.broker_value(b, raw);
}

struct resolved {
    config_value value;
    config_source source;
};

// Override > broker setting (dynamic, file or --override) > Kafka's default. The source of an
// inherited value is that of the broker's first synonym as DescribeConfigs lists them
// (broker_config::synonyms_for), DEFAULT_CONFIG if it lists none, as in Kafka's ConfigHelper.
resolved resolve(const topic_key& tk, const std::map<std::string, std::string>& overrides,
                 const broker_config& broker) {
    if (auto it = overrides.find(std::string(tk.key.name)); it != overrides.end()) {
        if (auto r = parse_config_value(tk.key, it->second); r.value) {
            return {std::move(*r.value), config_source::dynamic_topic_config};
        }
    }
    if (auto v = broker_value(tk, broker)) {
        auto synonyms = broker.synonyms_for(tk.broker_synonym);
        return {std::move(*v),
                synonyms.empty() ? config_source::default_config : synonyms.front().source};
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
    // Each field: the override, parsed, else the broker's field.
#define RUNNEL_TOPIC_FIELD(cpp_type, field, name, type, default_value, rule, broker_field, \
                           broker_synonym, doc)                                            \
    if (auto it = overrides_.find(name); it != overrides_.end()) {                         \
        field##_ = from_config_value<cpp_type>(                                            \
            *parse_config_value(find_topic_key(name)->key, it->second).value);             \
    } else {                                                                               \
        field##_ = broker.broker_field;                                                    \
    }
#define RUNNEL_TOPIC_KEY(name, type, default_value, rule, doc)
#include "server/config/keys/topic_keys.def"
#undef RUNNEL_TOPIC_FIELD
#undef RUNNEL_TOPIC_KEY
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

        // Kafka's order: the topic's own setting, then the broker's synonyms for its key.
        if (r.source == config_source::dynamic_topic_config) {
            e.synonyms.push_back({e.name, e.value, config_source::dynamic_topic_config});
        }
        if (!tk.broker_synonym.empty()) {
            for (auto& s : broker.synonyms_for(tk.broker_synonym)) e.synonyms.push_back(s);
        }
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace runnel::server
