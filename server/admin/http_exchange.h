// One request to the admin HTTP API and its answer, as the routes see them: the method, the
// path split into segments, the query and the body in; a status and a JSON (or text) body out.
// Every error answer is JSON, {"error": "...", "field": "..."} (field when one is to blame), so
// scripts and the OpenAPI document can rely on its shape.
#pragma once

#include <charconv>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::server::admin {

using json = nlohmann::json;

struct http_request {
    std::string method;                        // GET, POST, PUT, DELETE, ...
    std::string target;                        // as sent: path and query
    std::vector<std::string> segments;         // of the path, percent-decoded
    std::map<std::string, std::string> query;  // decoded
    std::string content_type;                  // without parameters, lower case
    std::string body;
};

struct http_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// Pieces joined into one string (g++ 12 warns wrongly, -Wrestrict, about "literal" + string).
template <class... Parts>
std::string join(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

inline http_response json_answer(unsigned status, const json& body) {
    http_response r;
    r.status = status;
    r.body = body.dump();
    return r;
}

inline http_response error_answer(unsigned status, std::string_view message,
                                  std::optional<std::string_view> field = std::nullopt) {
    json body = {{"error", message}};
    if (field) body["field"] = *field;
    return json_answer(status, body);
}

inline http_response empty_answer(unsigned status) {
    http_response r;
    r.status = status;
    r.content_type.clear();
    return r;
}

// A true/false query parameter (absent: `value` unchanged); anything else is a 400 naming it.
inline std::optional<http_response> query_flag(const http_request& request, std::string_view name,
                                               bool& value) {
    auto it = request.query.find(std::string(name));
    if (it == request.query.end()) return std::nullopt;
    if (it->second == "true" || it->second == "false") {
        value = it->second == "true";
        return std::nullopt;
    }
    return error_answer(400, join("'", name, "' must be true or false"), name);
}

// An integer query parameter within [min, max] (absent: `value` unchanged); anything else is a
// 400 naming it.
inline std::optional<http_response> query_integer(const http_request& request,
                                                  std::string_view name, int64_t min, int64_t max,
                                                  int64_t& value) {
    auto it = request.query.find(std::string(name));
    if (it == request.query.end()) return std::nullopt;
    const std::string& text = it->second;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min ||
        v > max) {
        return error_answer(400,
                            join("'", name, "' must be an integer from ", std::to_string(min),
                                 " to ", std::to_string(max)),
                            name);
    }
    value = v;
    return std::nullopt;
}

}  // namespace runnel::server::admin
