#include "streams/spec/spec_readers.h"

#include <charconv>
#include <string>

namespace runnel::streams {

namespace {

// A YAML scalar as the JSON value it reads as: quoted scalars are strings; plain ones numbers,
// booleans or null when they look so.
json scalar_value(const YAML::Node& node) {
    const auto& s = node.Scalar();
    if (node.Tag() == "!") return s;
    if (s == "true") return true;
    if (s == "false") return false;
    if (s == "null" || s == "~") return nullptr;
    int64_t i = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc{} && end == s.data() + s.size()) return i;
    double d = 0;
    auto [dend, dec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (dec == std::errc{} && dend == s.data() + s.size()) return d;
    return s;
}

struct test_name {
    std::string_view name;
    condition::kind kind;
};
constexpr test_name tests[] = {
    {"equals", condition::kind::equals},
    {"not_equals", condition::kind::not_equals},
    {"starts_with", condition::kind::starts_with},
    {"ends_with", condition::kind::ends_with},
    {"contains", condition::kind::contains},
    {"matches", condition::kind::matches},
    {"in", condition::kind::one_of},
    {"exists", condition::kind::exists},
    {"greater_than", condition::kind::greater_than},
    {"less_than", condition::kind::less_than},
    {"at_least", condition::kind::at_least},
    {"at_most", condition::kind::at_most},
    {"all", condition::kind::all},
    {"any", condition::kind::any},
    {"not", condition::kind::negate},
};

}  // namespace

field_ref read_field(const yaml_reader& in, const YAML::Node& node, std::string_view what) {
    auto text = in.string(node, what);
    auto ref = field_ref::parse(text);
    if (!ref) {
        in.fail(node, std::string(what) + " '" + text +
                          "' is not a field: write value, key, timestamp or a path such as "
                          "user.id or items[0].name");
    }
    return *ref;
}

condition read_condition(const yaml_reader& in, const YAML::Node& node) {
    in.expect_mapping(
        node, "a condition",
        {"field", "equals", "not_equals", "starts_with", "ends_with", "contains", "matches", "in",
         "exists", "greater_than", "less_than", "at_least", "at_most", "all", "any", "not"});
    condition c;
    if (node["field"]) c.subject = read_field(in, node["field"], "field");
    bool has_test = false;
    for (const auto& entry : node) {
        auto name = entry.first.Scalar();
        if (name == "field") continue;
        if (has_test) in.fail(entry.first, "a condition has one test; '" + name + "' is a second");
        has_test = true;
        for (const auto& t : tests) {
            if (t.name == name) c.test = t.kind;
        }
        const auto& v = entry.second;
        switch (c.test) {
            case condition::kind::all:
            case condition::kind::any:
                if (!v.IsSequence() || v.size() == 0) {
                    in.fail(v, name + " must be a list of conditions");
                }
                for (const auto& child : v) c.children.push_back(read_condition(in, child));
                break;
            case condition::kind::negate:
                c.children.push_back(read_condition(in, v));
                break;
            case condition::kind::one_of:
                if (!v.IsSequence()) in.fail(v, "in must be a list of values");
                c.operand = json::array();
                for (const auto& item : v) {
                    if (!item.IsScalar()) in.fail(item, "in lists plain values");
                    c.operand.push_back(scalar_value(item));
                }
                break;
            case condition::kind::exists:
                if (!in.boolean(v, "exists")) {
                    condition inner = c;
                    c.test = condition::kind::negate;
                    c.children = {std::move(inner)};
                }
                break;
            case condition::kind::matches: {
                auto pattern = in.string(v, "matches");
                RE2::Options options;
                options.set_log_errors(false);
                auto re = std::make_shared<RE2>(pattern, options);
                if (!re->ok()) in.fail(v, "matches: bad regular expression: " + re->error());
                c.regex = std::move(re);
                c.operand = pattern;
                break;
            }
            case condition::kind::greater_than:
            case condition::kind::less_than:
            case condition::kind::at_least:
            case condition::kind::at_most:
                if (!v.IsScalar() || !scalar_value(v).is_number()) {
                    in.fail(v, name + " must be a number");
                }
                c.operand = scalar_value(v);
                break;
            default:
                if (!v.IsScalar()) in.fail(v, name + " must be a plain value");
                c.operand = scalar_value(v);
        }
    }
    if (!has_test)
        in.fail(node, "a condition needs a test (equals, starts_with, matches, in, ...)");
    return c;
}

}  // namespace runnel::streams
