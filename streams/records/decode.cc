#include "streams/records/decode.h"

#include <charconv>
#include <chrono>

namespace runnel::streams {

namespace {

bool type_matches(field_schema::type t, const json& v) {
    using type = field_schema::type;
    switch (t) {
        case type::string:
            return v.is_string();
        case type::number:
            return v.is_number();
        case type::integer:
            return v.is_number_integer() ||
                   (v.is_number_float() &&
                    v.get<double>() == static_cast<int64_t>(v.get<double>()));
        case type::boolean:
            return v.is_boolean();
        case type::object:
            return v.is_object();
        case type::array:
            return v.is_array();
        case type::any:
            return true;
    }
    return false;
}

const char* type_name(field_schema::type t) {
    using type = field_schema::type;
    switch (t) {
        case type::string:
            return "string";
        case type::number:
            return "number";
        case type::integer:
            return "integer";
        case type::boolean:
            return "boolean";
        case type::object:
            return "object";
        case type::array:
            return "array";
        case type::any:
            return "any";
    }
    return "?";
}

// CSV fields of one line (RFC 4180 quoting: "a ""quoted"" field"), or nullopt when a quote is
// left open.
std::optional<std::vector<std::string>> csv_fields(std::string_view line, char delimiter) {
    if (line.ends_with("\r\n")) line.remove_suffix(2);
    if (line.ends_with('\n')) line.remove_suffix(1);
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields.back() += c;
            }
        } else if (c == '"' && fields.back().empty()) {
            quoted = true;
        } else if (c == delimiter) {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    if (quoted) return std::nullopt;
    return fields;
}

// A CSV field converted to the schema's type for its column.
std::optional<json> typed(const std::string& text, field_schema::type t) {
    using type = field_schema::type;
    if (t == type::string || t == type::any) return json(text);
    if (t == type::boolean) {
        if (text == "true") return json(true);
        if (text == "false") return json(false);
        return std::nullopt;
    }
    if (t == type::integer) {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc{} && end == text.data() + text.size()) return json(v);
        return std::nullopt;
    }
    if (t == type::number) {
        double v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc{} && end == text.data() + text.size()) return json(v);
        return std::nullopt;
    }
    return std::nullopt;  // objects and arrays do not come out of CSV
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
    if (at + n > s.size()) return false;
    auto [end, ec] = std::from_chars(s.data() + at, s.data() + at + n, out);
    return ec == std::errc{} && end == s.data() + at + n;
}

}  // namespace

std::optional<std::string> schema_problem(const field_schema& schema, const json& value) {
    if (!value.is_object()) return "not a JSON object";
    for (const auto& f : schema.fields) {
        auto it = value.find(f.name);
        if (it == value.end() || it->is_null()) {
            if (f.optional) continue;
            return "field '" + f.name + "' is missing";
        }
        if (!type_matches(f.kind, *it)) {
            return "field '" + f.name + "' is not " + type_name(f.kind);
        }
    }
    return std::nullopt;
}

std::optional<std::string> decode_value(const decoding& how, std::string_view bytes, json& out) {
    switch (how.format) {
        case data_format::text:
        case data_format::bytes:
            out = std::string(bytes);
            return std::nullopt;
        case data_format::json: {
            json v = json::parse(bytes, nullptr, false);
            if (v.is_discarded()) return std::string("not valid JSON");
            if (how.schema) {
                if (auto problem = schema_problem(*how.schema, v)) return problem;
            }
            out = std::move(v);
            return std::nullopt;
        }
        case data_format::csv: {
            auto fields = csv_fields(bytes, how.delimiter);
            if (!fields) return std::string("a quoted CSV field is not closed");
            if (!how.columns.empty() && fields->size() != how.columns.size()) {
                return "expected " + std::to_string(how.columns.size()) + " CSV fields, found " +
                       std::to_string(fields->size());
            }
            json v = json::object();
            for (size_t i = 0; i < fields->size(); ++i) {
                std::string name = "c";
                if (i < how.columns.size()) {
                    name = how.columns[i];
                } else {
                    name += std::to_string(i);
                }
                auto type = field_schema::type::string;
                if (how.schema) {
                    for (const auto& f : how.schema->fields) {
                        if (f.name == name) type = f.kind;
                    }
                }
                auto cell = typed((*fields)[i], type);
                if (!cell) return "CSV field '" + name + "' is not " + type_name(type);
                v[name] = std::move(*cell);
            }
            if (how.schema) {
                if (auto problem = schema_problem(*how.schema, v)) return problem;
            }
            out = std::move(v);
            return std::nullopt;
        }
    }
    return std::string("unknown format");
}

std::string encode_value(data_format format, const json& value) {
    if (format == data_format::text && value.is_string()) {
        return value.get_ref<const std::string&>();
    }
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<int64_t> event_time_of(const json& field) {
    if (field.is_number_integer()) return field.get<int64_t>();
    if (field.is_number_float()) {
        const double v = field.get<double>();
        if (!(v > -9.0e18 && v < 9.0e18)) return std::nullopt;  // (NaN too)
        return static_cast<int64_t>(v);
    }
    if (!field.is_string()) return std::nullopt;
    std::string_view s = field.get_ref<const std::string&>();
    // YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z | +HH:MM | -HH:MM]
    int y, mo, d, h, mi, sec;
    if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) ||
        s[7] != '-' || !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != ' ') ||
        !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
        !digits(s, 17, 2, sec)) {
        return std::nullopt;
    }
    using namespace std::chrono;
    year_month_day date{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
    if (!date.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    int64_t ms = duration_cast<milliseconds>(sys_days(date).time_since_epoch()).count() +
                 ((h * 60 + mi) * 60 + sec) * 1000LL;
    size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        int64_t scale = 100;
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
            ms += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    if (i == s.size() || s.substr(i) == "Z" || s.substr(i) == "z") return ms;
    int oh, om;
    if ((s[i] == '+' || s[i] == '-') && s.size() == i + 6 && digits(s, i + 1, 2, oh) &&
        s[i + 3] == ':' && digits(s, i + 4, 2, om)) {
        int64_t offset = (oh * 60 + om) * 60'000LL;
        return s[i] == '+' ? ms - offset : ms + offset;
    }
    return std::nullopt;
}

}  // namespace runnel::streams
