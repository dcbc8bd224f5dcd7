#include "server/admin/json_body.h"

namespace runnel::server::admin {

json_body::json_body(const http_request& request) {
    if (request.content_type != "application/json") {
        problem_ = error_answer(415, "the body must be JSON (Content-Type: application/json)");
        return;
    }
    doc_ = json::parse(request.body, nullptr, false);
    if (doc_.is_discarded()) {
        fail("the body is not valid JSON", std::nullopt);
    } else if (!doc_.is_object()) {
        fail("the body must be a JSON object", std::nullopt);
    }
}

json_body::json_body(const json& object, std::string prefix) : prefix_(std::move(prefix)) {
    doc_ = object;
    if (!doc_.is_object()) {
        const std::string at = prefix_.substr(0, prefix_.size() - 1);  // without the last '.'
        fail(join("'", at, "' must be an object"), at);
    }
}

void json_body::fail(std::string message, std::optional<std::string> field) {
    if (problem_) return;
    problem_ = error_answer(400, message, field);
}

const json* json_body::field(std::string_view name, bool required) {
    read_.emplace(name);
    if (problem_) return nullptr;
    // An explicit null is not an absent field: it is the wrong type for every field here.
    auto it = doc_.find(name);
    if (it == doc_.end()) {
        if (required) fail(join("'", full(name), "' is required"), full(name));
        return nullptr;
    }
    return &*it;
}

std::optional<std::string> json_body::string(std::string_view name, bool required) {
    const json* v = field(name, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
        fail(join("'", full(name), "' must be a string"), full(name));
        return std::nullopt;
    }
    return v->get<std::string>();
}

std::optional<int64_t> json_body::integer(std::string_view name, bool required, int64_t min,
                                          int64_t max) {
    const json* v = field(name, required);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) {
        fail(join("'", full(name), "' must be an integer"), full(name));
        return std::nullopt;
    }
    // Unsigned values above INT64_MAX do not fit: out of range like any other.
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) {
        fail(join("'", full(name), "' must be at most ", std::to_string(max)), full(name));
        return std::nullopt;
    }
    const int64_t n = v->get<int64_t>();
    if (n < min || n > max) {
        fail(join("'", full(name), "' must be from ", std::to_string(min), " to ",
                  std::to_string(max)),
             full(name));
        return std::nullopt;
    }
    return n;
}

std::optional<std::map<std::string, std::string>> json_body::string_map(std::string_view name,
                                                                        bool required) {
    const json* v = field(name, required);
    if (!v) return std::nullopt;
    if (!v->is_object()) {
        fail(join("'", full(name), "' must be an object of strings"), full(name));
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : v->items()) {
        if (!value.is_string()) {
            fail(join("'", full(name), ".", key, "' must be a string"), join(full(name), ".", key));
            return std::nullopt;
        }
        out[key] = value.get<std::string>();
    }
    return out;
}

std::optional<std::vector<std::string>> json_body::string_list(std::string_view name,
                                                               bool required) {
    const json* v = field(name, required);
    if (!v) return std::nullopt;
    if (!v->is_array()) {
        fail(join("'", full(name), "' must be an array of strings"), full(name));
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string()) {
            const std::string at = join(full(name), "[", std::to_string(i), "]");
            fail(join("'", at, "' must be a string"), at);
            return std::nullopt;
        }
        out.push_back((*v)[i].get<std::string>());
    }
    return out;
}

std::optional<json> json_body::value(std::string_view name, bool required) {
    const json* v = field(name, required);
    if (!v) return std::nullopt;
    return *v;
}

std::optional<std::vector<int64_t>> json_body::integer_list(std::string_view name, bool required,
                                                            int64_t min, int64_t max) {
    const json* v = field(name, required);
    if (!v) return std::nullopt;
    if (!v->is_array()) {
        fail(join("'", full(name), "' must be an array of integers"), full(name));
        return std::nullopt;
    }
    std::vector<int64_t> out;
    for (size_t i = 0; i < v->size(); ++i) {
        const json& e = (*v)[i];
        const std::string at = join(full(name), "[", std::to_string(i), "]");
        if (!e.is_number_integer() ||
            (e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(max)) ||
            e.get<int64_t>() < min || e.get<int64_t>() > max) {
            fail(join("'", at, "' must be an integer from ", std::to_string(min), " to ",
                      std::to_string(max)),
                 at);
            return std::nullopt;
        }
        out.push_back(e.get<int64_t>());
    }
    return out;
}

std::optional<http_response> json_body::problem() {
    if (!problem_ && doc_.is_object()) {
        for (const auto& [key, _] : doc_.items()) {
            if (!read_.count(key)) {
                fail(join("unknown field '", full(key), "'"), full(key));
                break;
            }
        }
    }
    return problem_;
}

}  // namespace runnel::server::admin
