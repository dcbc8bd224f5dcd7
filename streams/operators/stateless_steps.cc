#include "streams/operators/stateless_steps.h"

#include "streams/operators/condition_eval.h"
#include "streams/records/decode.h"

#include <algorithm>
#include <cctype>

namespace runnel::streams {

namespace {

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

void split(const split_step& s, stream_record r, std::vector<stream_record>& out,
           side_outputs& side) {
    if (!r.value.is_string()) {
        side.dead.push_back({std::move(r), "split needs a text value"});
        return;
    }
    const std::string text = r.value.get<std::string>();
    if (s.pieces == split_step::keep::first) {
        r.value = text.substr(0, text.find(s.separator));
        out.push_back(std::move(r));
        return;
    }
    if (s.pieces == split_step::keep::last) {
        auto at = text.rfind(s.separator);
        r.value = at == std::string::npos ? text : text.substr(at + s.separator.size());
        out.push_back(std::move(r));
        return;
    }
    size_t from = 0;
    while (true) {
        size_t at = text.find(s.separator, from);
        size_t end = at == std::string::npos ? text.size() : at;
        if (end > from || !s.skip_empty) {
            stream_record piece{r.key, text.substr(from, end - from), r.timestamp, r.headers};
            out.push_back(std::move(piece));
        }
        if (at == std::string::npos) break;
        from = at + s.separator.size();
    }
}

void explode(const explode_step& s, stream_record r, std::vector<stream_record>& out,
             side_outputs& side) {
    json scratch;
    const json* array = s.array.find(r, scratch);
    if (!array || !array->is_array()) {
        side.dead.push_back({std::move(r), "'" + s.array.text() + "' is not an array"});
        return;
    }
    for (const auto& element : *array) out.push_back({r.key, element, r.timestamp, r.headers});
}

void map(const map_step& m, stream_record r, std::vector<stream_record>& out, side_outputs& side) {
    json scratch;
    if (m.value) {
        const json* v = m.value->find(r, scratch);
        json picked = v ? *v : json(nullptr);  // a missing field reads as null, as in SQL
        r.value = std::move(picked);
    } else if (!m.fields.empty()) {
        json object = json::object();
        for (const auto& [name, ref] : m.fields) {
            const json* v = ref.find(r, scratch);
            object[name] = v ? *v : json(nullptr);
        }
        r.value = std::move(object);
    } else {
        if (!r.value.is_string()) {
            side.dead.push_back({std::move(r), "map's transform needs a text value"});
            return;
        }
        auto& s = r.value.get_ref<std::string&>();
        switch (m.transform) {
            case map_step::text_transform::lowercase:
                std::transform(s.begin(), s.end(), s.begin(),
                               [](unsigned char c) { return std::tolower(c); });
                break;
            case map_step::text_transform::uppercase:
                std::transform(s.begin(), s.end(), s.begin(),
                               [](unsigned char c) { return std::toupper(c); });
                break;
            case map_step::text_transform::trim: {
                auto space = [](unsigned char c) { return std::isspace(c); };
                auto first = std::find_if_not(s.begin(), s.end(), space);
                auto last = std::find_if_not(s.rbegin(), s.rend(), space).base();
                s = first < last ? std::string(first, last) : std::string();
                break;
            }
            case map_step::text_transform::none:
                break;
        }
    }
    out.push_back(std::move(r));
}

void parse(const parse_step& p, stream_record r, std::vector<stream_record>& out,
           side_outputs& side) {
    std::string text = r.value.is_string() ? r.value.get<std::string>() : to_text(r.value);
    if (auto problem = decode_value(p.as, text, r.value)) {
        side.dead.push_back({std::move(r), *problem});
        return;
    }
    out.push_back(std::move(r));
}

void rekey(const rekey_step& k, stream_record r, std::vector<stream_record>& out,
           side_outputs& side) {
    json scratch;
    const json* v = k.by.find(r, scratch);
    if (!v || v->is_null()) {
        side.dead.push_back({std::move(r), "rekey: '" + k.by.text() + "' is missing"});
        return;
    }
    json key = *v;
    r.key = std::move(key);
    out.push_back(std::move(r));
}

void route(const route_step& rs, stream_record r, side_outputs& side) {
    for (const auto& rule : rs.rules) {
        if (holds(rule.when, r)) {
            side.routed.push_back({rule.topic, std::move(r)});
            return;
        }
    }
    if (rs.otherwise) {
        side.routed.push_back({*rs.otherwise, std::move(r)});
    } else {
        ++side.unrouted;
    }
}

}  // namespace

bool is_stateless(const step& s) {
    return !std::holds_alternative<aggregate_step>(s) && !std::holds_alternative<top_step>(s) &&
           !std::holds_alternative<dedupe_step>(s);
}

void run_stateless(const step& s, stream_record r, std::vector<stream_record>& out,
                   side_outputs& side) {
    std::visit(overloaded{
                   [&](const filter_step& f) {
                       if (holds(f.keep, r)) out.push_back(std::move(r));
                   },
                   [&](const split_step& x) { split(x, std::move(r), out, side); },
                   [&](const explode_step& x) { explode(x, std::move(r), out, side); },
                   [&](const map_step& x) { map(x, std::move(r), out, side); },
                   [&](const parse_step& x) { parse(x, std::move(r), out, side); },
                   [&](const rekey_step& x) { rekey(x, std::move(r), out, side); },
                   [&](const route_step& x) { route(x, std::move(r), side); },
                   [&](const auto&) { out.push_back(std::move(r)); },
               },
               s);
}

}  // namespace runnel::streams
