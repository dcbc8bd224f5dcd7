#include "streams/records/field_ref.h"

#include <charconv>

namespace runnel::streams {

std::string to_text(const json& v) {
    if (v.is_string()) return v.get_ref<const std::string&>();
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<field_ref> field_ref::parse(std::string_view text) {
    field_ref ref;
    ref.text_ = std::string(text);
    if (text == "value") return ref;
    if (text == "key") {
        ref.part_ = part::key;
        return ref;
    }
    if (text == "timestamp") {
        ref.part_ = part::timestamp;
        return ref;
    }
    if (text.starts_with("value.")) text.remove_prefix(6);
    // name ( "." name | "[" digits "]" )*
    size_t i = 0;
    bool expect_name = true;
    while (i < text.size()) {
        if (text[i] == '[') {
            size_t close = text.find(']', i);
            if (close == std::string_view::npos || close == i + 1) return std::nullopt;
            size_t index = 0;
            auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + close, index);
            if (ec != std::errc{} || end != text.data() + close) return std::nullopt;
            if (expect_name && !ref.steps_.empty()) return std::nullopt;
            ref.steps_.emplace_back(index);
            i = close + 1;
            expect_name = false;
            continue;
        }
        if (!expect_name) {
            if (text[i] != '.') return std::nullopt;
            ++i;
        }
        size_t end = text.find_first_of(".[", i);
        if (end == std::string_view::npos) end = text.size();
        if (end == i) return std::nullopt;
        ref.steps_.emplace_back(std::string(text.substr(i, end - i)));
        i = end;
        expect_name = false;
    }
    if (ref.steps_.empty()) return std::nullopt;
    return ref;
}

const json* field_ref::find(const stream_record& r, json& scratch) const {
    if (part_ == part::timestamp) {
        scratch = r.timestamp;
        return &scratch;
    }
    const json* at = part_ == part::key ? &r.key : &r.value;
    for (const auto& s : steps_) {
        if (const auto* name = std::get_if<std::string>(&s)) {
            if (!at->is_object()) return nullptr;
            auto it = at->find(*name);
            if (it == at->end()) return nullptr;
            at = &*it;
        } else {
            size_t index = std::get<size_t>(s);
            if (!at->is_array() || index >= at->size()) return nullptr;
            at = &(*at)[index];
        }
    }
    return at;
}

json* field_ref::find_or_create(stream_record& r) const {
    if (part_ == part::timestamp) return nullptr;
    json* at = part_ == part::key ? &r.key : &r.value;
    for (const auto& s : steps_) {
        if (const auto* name = std::get_if<std::string>(&s)) {
            if (at->is_null()) *at = json::object();
            if (!at->is_object()) return nullptr;
            at = &(*at)[*name];
        } else {
            size_t index = std::get<size_t>(s);
            if (!at->is_array() || index >= at->size()) return nullptr;
            at = &(*at)[index];
        }
    }
    return at;
}

}  // namespace runnel::streams
