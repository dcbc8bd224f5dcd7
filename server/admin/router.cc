#include "server/admin/router.h"

namespace runnel::server::admin {

namespace {

std::vector<std::string> split_path(const std::string& pattern) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < pattern.size()) {
        if (pattern[at] == '/') {
            ++at;
            continue;
        }
        const size_t end = pattern.find('/', at);
        out.push_back(pattern.substr(at, end == std::string::npos ? std::string::npos : end - at));
        at = end == std::string::npos ? pattern.size() : end;
    }
    return out;
}

bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
             std::vector<std::string>& params) {
    if (pattern.size() != segments.size()) return false;
    params.clear();
    for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i].size() > 1 && pattern[i].front() == '{') {
            if (segments[i].empty()) return false;
            params.push_back(segments[i]);
        } else if (pattern[i] != segments[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

void router::add(std::string method, std::string pattern, route_handler handler) {
    routes_.push_back(route{std::move(method), split_path(pattern), std::move(handler)});
}

asio::awaitable<http_response> router::dispatch(const http_request& request) const {
    std::vector<std::string> params;
    std::string allowed;
    for (const auto& r : routes_) {
        if (!matches(r.pattern, request.segments, params)) continue;
        // HEAD is answered as GET, without the body (the session drops it).
        if (r.method == request.method || (request.method == "HEAD" && r.method == "GET")) {
            co_return co_await r.handler(request, params);
        }
        allowed += (allowed.empty() ? "" : ", ") + r.method;
    }
    if (allowed.empty()) {
        co_return error_answer(404, "no such path: " + request.target.substr(0, 200));
    }
    http_response r = error_answer(405, request.method + " is not allowed here (" + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    co_return r;
}

}  // namespace runnel::server::admin
