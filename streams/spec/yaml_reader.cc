#include "streams/spec/yaml_reader.h"

#include <charconv>

namespace runnel::streams {

void yaml_reader::fail(const YAML::Mark& at, std::string_view message) const {
    std::string where = file_;
    if (at.line >= 0)
        where += ":" + std::to_string(at.line + 1) + ":" + std::to_string(at.column + 1);
    throw pipeline_error(where + ": " + std::string(message));
}

void yaml_reader::fail(const YAML::Node& at, std::string_view message) const {
    fail(at.Mark(), message);
}

void yaml_reader::expect_mapping(const YAML::Node& node, std::string_view where,
                                 std::initializer_list<std::string_view> known) const {
    std::string list;
    for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    if (!node.IsMap()) fail(node, std::string(where) + " must be a mapping with keys: " + list);
    for (const auto& entry : node) {
        auto name = entry.first.Scalar();
        bool ok = false;
        for (auto k : known) ok = ok || k == name;
        if (!ok) {
            fail(entry.first, "unknown key '" + name + "' in " + std::string(where) +
                                  " (expected one of: " + list + ")");
        }
    }
}

std::string yaml_reader::only_key(const YAML::Node& node, std::string_view where) const {
    if (!node.IsMap() || node.size() != 1) {
        fail(node, std::string(where) + " must be a mapping with exactly one key");
    }
    return node.begin()->first.Scalar();
}

std::string yaml_reader::string(const YAML::Node& node, std::string_view what) const {
    if (!node.IsScalar()) fail(node, std::string(what) + " must be a string");
    return node.Scalar();
}

millis yaml_reader::duration(const YAML::Node& node, std::string_view what) const {
    if (node.IsScalar()) {
        if (auto d = parse_duration(node.Scalar())) return *d;
    }
    fail(node, std::string(what) +
                   " must be a duration such as 500ms, 30s, 5m, 2h or 1d (or milliseconds)");
}

int64_t yaml_reader::integer(const YAML::Node& node, std::string_view what, int64_t min) const {
    if (node.IsScalar()) {
        const auto& s = node.Scalar();
        int64_t v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc{} && end == s.data() + s.size() && v >= min) return v;
    }
    fail(node, std::string(what) + " must be an integer of at least " + std::to_string(min));
}

bool yaml_reader::boolean(const YAML::Node& node, std::string_view what) const {
    if (node.IsScalar()) {
        const auto& s = node.Scalar();
        if (s == "true") return true;
        if (s == "false") return false;
    }
    fail(node, std::string(what) + " must be true or false");
}

}  // namespace runnel::streams
