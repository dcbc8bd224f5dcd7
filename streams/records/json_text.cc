#include "streams/records/json_text.h"

namespace runnel::streams {

namespace {

// A string JSON writes as it is between quotes: printable ASCII without '"' or '\'.
bool plain(std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    }
    return true;
}

bool plain_string(const json& v) { return v.is_string() && plain(v.get_ref<const std::string&>()); }

}  // namespace

std::string group_key_text(const json& v) {
    if (plain_string(v)) {
        const auto& s = v.get_ref<const std::string&>();
        std::string out;
        out.reserve(s.size() + 4);
        out += "[\"";
        out += s;
        out += "\"]";
        return out;
    }
    return to_text(json::array({v}));
}

std::string pair_text(const json& key, const json& value) {
    if ((key.is_null() || plain_string(key)) && plain_string(value)) {
        const auto& s = value.get_ref<const std::string&>();
        std::string out;
        out.reserve(s.size() + 16);
        out += '[';
        if (key.is_null()) {
            out += "null";
        } else {
            out += '"';
            out += key.get_ref<const std::string&>();
            out += '"';
        }
        out += ",\"";
        out += s;
        out += "\"]";
        return out;
    }
    return to_text(json::array({key, value}));
}

bool parse_pair(std::string_view text, json& key, json& value) {
    // Fast path: [null,"plain"] or ["plain","plain"].
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        std::string_view inner = text.substr(1, text.size() - 2);
        std::string_view k;
        bool null_key = false;
        if (inner.starts_with("null,")) {
            null_key = true;
            inner.remove_prefix(5);
        } else if (inner.starts_with('"')) {
            auto close = inner.find('"', 1);
            if (close != std::string_view::npos && close + 1 < inner.size() &&
                inner[close + 1] == ',') {
                k = inner.substr(1, close - 1);
                inner.remove_prefix(close + 2);
            } else {
                inner = {};
            }
        } else {
            inner = {};
        }
        if (inner.size() >= 2 && inner.front() == '"' && inner.back() == '"') {
            std::string_view v = inner.substr(1, inner.size() - 2);
            if (plain(v) && plain(k)) {
                key = null_key ? json(nullptr) : json(std::string(k));
                value = std::string(v);
                return true;
            }
        }
    }
    json pair = json::parse(text, nullptr, false);
    if (!pair.is_array() || pair.size() != 2) return false;
    key = std::move(pair[0]);
    value = std::move(pair[1]);
    return true;
}

}  // namespace runnel::streams
