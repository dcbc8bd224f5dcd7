#include "streams/spec/spec_readers.h"

#include <string>

namespace runnel::streams {

namespace {

data_format read_format(const yaml_reader& in, const YAML::Node& node) {
    auto s = in.string(node, "format");
    if (s == "text") return data_format::text;
    if (s == "json") return data_format::json;
    if (s == "csv") return data_format::csv;
    if (s == "bytes") return data_format::bytes;
    in.fail(node, "format must be text, json, csv or bytes, not '" + s + "'");
}

field_schema read_schema(const yaml_reader& in, const YAML::Node& node) {
    if (!node.IsMap() || node.size() == 0) {
        in.fail(node,
                "schema must map field names to types (string, number, integer, boolean, "
                "object, array, any; \"optional <type>\" allows absent or null)");
    }
    field_schema schema;
    for (const auto& entry : node) {
        field_schema::field f;
        f.name = entry.first.Scalar();
        auto type = in.string(entry.second, "a schema type");
        if (type.starts_with("optional ")) {
            f.optional = true;
            type.erase(0, 9);
        }
        static const std::pair<std::string_view, field_schema::type> types[] = {
            {"string", field_schema::type::string},   {"number", field_schema::type::number},
            {"integer", field_schema::type::integer}, {"boolean", field_schema::type::boolean},
            {"object", field_schema::type::object},   {"array", field_schema::type::array},
            {"any", field_schema::type::any}};
        bool known = false;
        for (const auto& [name, kind] : types) {
            if (name == type) {
                f.kind = kind;
                known = true;
            }
        }
        if (!known) {
            in.fail(entry.second, "unknown schema type '" + type +
                                      "' (expected string, number, integer, boolean, object, "
                                      "array or any, each also as \"optional <type>\")");
        }
        schema.fields.push_back(std::move(f));
    }
    return schema;
}

aggregate_function function_of(const yaml_reader& in, std::string_view name,
                               const YAML::Node& value) {
    aggregate_function f;
    f.output = std::string(name);
    if (name == "count") {
        if (!in.boolean(value, "count")) in.fail(value, "count: write true or leave it out");
        f.fn = aggregate_function::kind::count;
        return f;
    }
    if (name == "sum") f.fn = aggregate_function::kind::sum;
    if (name == "min") f.fn = aggregate_function::kind::min;
    if (name == "max") f.fn = aggregate_function::kind::max;
    if (name == "avg") f.fn = aggregate_function::kind::avg;
    if (name == "count_distinct") f.fn = aggregate_function::kind::count_distinct;
    f.of = read_field(in, value, std::string(name) + "'s field");
    return f;
}

step read_aggregate(const yaml_reader& in, const YAML::Node& v, bool count_only) {
    aggregate_step a;
    if (count_only) {
        in.expect_mapping(v, "count", {"by"});
    } else {
        in.expect_mapping(v, "aggregate",
                          {"by", "count", "sum", "min", "max", "avg", "count_distinct"});
    }
    if (!v["by"]) in.fail(v, "the group key is missing: by: value, key or a field");
    a.by = read_field(in, v["by"], "by");
    if (count_only) {
        a.functions.push_back({aggregate_function::kind::count, std::nullopt, "count"});
        return a;
    }
    for (const auto& entry : v) {
        auto name = entry.first.Scalar();
        if (name != "by") a.functions.push_back(function_of(in, name, entry.second));
    }
    if (a.functions.empty()) {
        in.fail(v, "aggregate needs at least one of count, sum, min, max, avg, count_distinct");
    }
    return a;
}

step read_split(const yaml_reader& in, const YAML::Node& v, bool flat) {
    split_step s;
    if (flat) {
        s.separator = in.string(v["split"], "split");
    } else {
        in.expect_mapping(v, "split", {"on", "keep", "skip_empty"});
        if (!v["on"]) in.fail(v, "split needs on: the separator");
        s.separator = in.string(v["on"], "on");
        if (v["keep"]) {
            auto keep = in.string(v["keep"], "keep");
            if (keep == "first") {
                s.pieces = split_step::keep::first;
            } else if (keep == "last") {
                s.pieces = split_step::keep::last;
            } else if (keep != "all") {
                in.fail(v["keep"], "keep must be first, last or all");
            }
        }
    }
    if (s.separator.empty()) in.fail(v, "the separator must not be empty");
    if (v["skip_empty"]) s.skip_empty = in.boolean(v["skip_empty"], "skip_empty");
    return s;
}

step read_map(const yaml_reader& in, const YAML::Node& v) {
    in.expect_mapping(v, "map", {"field", "fields", "transform"});
    map_step m;
    int forms = 0;
    if (v["field"]) {
        m.value = read_field(in, v["field"], "field");
        ++forms;
    }
    if (v["fields"]) {
        if (!v["fields"].IsMap() || v["fields"].size() == 0) {
            in.fail(v["fields"], "fields must map output names to fields");
        }
        for (const auto& entry : v["fields"]) {
            m.fields.emplace_back(entry.first.Scalar(), read_field(in, entry.second, "a field"));
        }
        ++forms;
    }
    if (v["transform"]) {
        auto t = in.string(v["transform"], "transform");
        if (t == "lowercase") {
            m.transform = map_step::text_transform::lowercase;
        } else if (t == "uppercase") {
            m.transform = map_step::text_transform::uppercase;
        } else if (t == "trim") {
            m.transform = map_step::text_transform::trim;
        } else {
            in.fail(v["transform"], "transform must be lowercase, uppercase or trim");
        }
        ++forms;
    }
    if (forms != 1) in.fail(v, "map takes one of field, fields or transform");
    return m;
}

step read_route(const yaml_reader& in, const YAML::Node& v) {
    if (!v.IsSequence() || v.begin() == v.end()) {
        in.fail(v,
                "route must be a list of {when: <condition>, to: <topic>} and optionally "
                "{otherwise: <topic>}");
    }
    route_step r;
    for (const auto& rule : v) {
        if (rule.IsMap() && rule["otherwise"]) {
            in.expect_mapping(rule, "a route's last rule", {"otherwise"});
            if (r.otherwise) in.fail(rule, "route has one otherwise");
            r.otherwise = in.string(rule["otherwise"], "otherwise");
            continue;
        }
        in.expect_mapping(rule, "a route rule", {"when", "to"});
        if (r.otherwise) in.fail(rule, "otherwise must be the last rule");
        if (!rule["when"] || !rule["to"]) in.fail(rule, "a route rule needs when and to");
        r.rules.push_back({read_condition(in, rule["when"]), in.string(rule["to"], "to")});
    }
    for (const auto& rule : v) {
        auto topic = rule["otherwise"] ? rule["otherwise"] : rule["to"];
        if (!valid_topic_name(topic.Scalar())) {
            in.fail(topic, "'" + topic.Scalar() + "' is not a valid topic name");
        }
    }
    return r;
}

}  // namespace

bool valid_topic_name(std::string_view name) {
    if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

decoding read_decoding(const yaml_reader& in, const YAML::Node& node, std::string_view where,
                       std::initializer_list<std::string_view> known) {
    in.expect_mapping(node, where, known);
    decoding d;
    if (node["format"]) d.format = read_format(in, node["format"]);
    if (node["schema"]) {
        if (d.format != data_format::json && d.format != data_format::csv) {
            in.fail(node["schema"], "a schema applies to json and csv only");
        }
        d.schema = read_schema(in, node["schema"]);
    }
    if (node["columns"]) {
        if (d.format != data_format::csv) in.fail(node["columns"], "columns apply to csv only");
        if (!node["columns"].IsSequence()) in.fail(node["columns"], "columns must be a list");
        for (const auto& c : node["columns"]) d.columns.push_back(in.string(c, "a column name"));
    }
    if (node["delimiter"]) {
        if (d.format != data_format::csv) in.fail(node["delimiter"], "delimiter applies to csv");
        auto s = in.string(node["delimiter"], "delimiter");
        if (s.size() != 1 || s == "\"") in.fail(node["delimiter"], "delimiter is one character");
        d.delimiter = s[0];
    }
    return d;
}

window_spec read_window(const yaml_reader& in, const YAML::Node& v) {
    in.expect_mapping(v, "window", {"type", "size", "advance", "gap", "grace"});
    window_spec w;
    if (!v["type"]) in.fail(v, "window needs type: tumbling, hopping, sliding or session");
    auto type = in.string(v["type"], "type");
    auto need = [&](const char* key) {
        if (!v[key]) in.fail(v, "a " + type + " window needs " + key);
        auto d = in.duration(v[key], key);
        if (d.count() <= 0) in.fail(v[key], std::string(key) + " must be above zero");
        return d;
    };
    auto refuse = [&](const char* key) {
        if (v[key]) in.fail(v[key], "a " + type + " window has no " + key);
    };
    if (type == "tumbling") {
        w.kind = window_spec::type::tumbling;
        w.size = w.advance = need("size");
        refuse("advance");
        refuse("gap");
    } else if (type == "hopping") {
        w.kind = window_spec::type::hopping;
        w.size = need("size");
        w.advance = need("advance");
        refuse("gap");
        if (w.advance > w.size) in.fail(v["advance"], "advance must not exceed size");
    } else if (type == "sliding") {
        w.kind = window_spec::type::sliding;
        w.size = need("size");
        refuse("advance");
        refuse("gap");
    } else if (type == "session") {
        w.kind = window_spec::type::session;
        w.gap = need("gap");
        refuse("size");
        refuse("advance");
    } else {
        in.fail(v["type"], "window type must be tumbling, hopping, sliding or session");
    }
    // Kafka Streams' hidden 24-hour grace default surprises its users: here it is written out.
    if (!v["grace"]) {
        in.fail(v,
                "window needs grace: how long after a window's end late records still count "
                "(grace: 0s for none)");
    }
    w.grace = in.duration(v["grace"], "grace");
    return w;
}

step read_step(const yaml_reader& in, const YAML::Node& node, bool& is_window) {
    auto name = in.only_key(node, "a step");
    const auto& v = node.begin()->second;
    is_window = false;
    if (name == "filter") return filter_step{read_condition(in, v)};
    if (name == "split") return read_split(in, v, false);
    if (name == "flat_map") {
        in.expect_mapping(v, "flat_map", {"split", "field", "skip_empty"});
        if (v["field"] && !v["split"]) return explode_step{read_field(in, v["field"], "field")};
        if (!v["split"] || v["field"]) in.fail(v, "flat_map takes split: <separator> or field");
        return read_split(in, v, true);
    }
    if (name == "map") return read_map(in, v);
    if (name == "parse") {
        return parse_step{
            read_decoding(in, v, "parse", {"format", "schema", "columns", "delimiter"})};
    }
    if (name == "rekey") {
        in.expect_mapping(v, "rekey", {"by"});
        if (!v["by"]) in.fail(v, "rekey needs by");
        return rekey_step{read_field(in, v["by"], "by")};
    }
    if (name == "window") {
        is_window = true;
        aggregate_step a{*field_ref::parse("value"), read_window(in, v), {}};
        return a;
    }
    if (name == "count") return read_aggregate(in, v, true);
    if (name == "aggregate") return read_aggregate(in, v, false);
    if (name == "top") {
        in.expect_mapping(v, "top", {"n", "by", "per"});
        top_step t;
        if (!v["n"] || !v["by"]) in.fail(v, "top needs n and by");
        t.n = static_cast<size_t>(in.integer(v["n"], "n", 1));
        t.by = in.string(v["by"], "by");
        if (v["per"] && in.string(v["per"], "per") != "window") {
            in.fail(v["per"], "top is per window (per: window)");
        }
        return t;
    }
    if (name == "dedupe") {
        in.expect_mapping(v, "dedupe", {"by", "within"});
        if (!v["by"] || !v["within"]) in.fail(v, "dedupe needs by and within");
        dedupe_step d{read_field(in, v["by"], "by"), in.duration(v["within"], "within")};
        if (d.within.count() <= 0) in.fail(v["within"], "within must be above zero");
        return d;
    }
    if (name == "route") return read_route(in, v);
    in.fail(node.begin()->first,
            "unknown step '" + name +
                "' (expected filter, split, flat_map, map, parse, rekey, window, count, "
                "aggregate, top, dedupe or route)");
}

}  // namespace runnel::streams
