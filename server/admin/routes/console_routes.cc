// The web console: / sends browsers to /console/, which serves the compiled-in files
// (console_assets.h). The pages read the same /v1 API and /metrics as everyone else.
#include "server/admin/console_assets.h"
#include "server/admin/routes/routes.h"

namespace runnel::server::admin {

namespace {

http_response asset_answer(std::string_view name) {
    auto file = console_file(name);
    if (!file) return error_answer(404, join("the console has no file '", name, "'"));
    http_response r;
    r.content_type = std::string(file->content_type);
    r.body = std::string(file->body);
    // Everything comes from this server: no CDN, no inline script, no framing by other sites.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

}  // namespace

void add_console_routes(router& r, admin_services&) {
    r.add(
        "GET", "/",
        [](const http_request&, const std::vector<std::string>&) -> asio::awaitable<http_response> {
            http_response moved = empty_answer(302);
            moved.headers.emplace_back("Location", "/console/");
            co_return moved;
        });
    r.add(
        "GET", "/console/",
        [](const http_request&, const std::vector<std::string>&) -> asio::awaitable<http_response> {
            co_return asset_answer("index.html");
        });
    r.add("GET", "/console/{file}",
          [](const http_request&, const std::vector<std::string>& params)
              -> asio::awaitable<http_response> { co_return asset_answer(params[0]); });
}

}  // namespace runnel::server::admin
