// The web console's files (server/admin/console/*: HTML, CSS and JavaScript written for it, no
// framework and no build step), compiled into the broker so it serves them with no file at run
// time and nothing from a CDN.
#pragma once

#include <optional>
#include <string_view>

namespace runnel::server::admin {

struct console_asset {
    std::string_view content_type;
    std::string_view body;
};

// The file named `name` (e.g. "index.html"), or nullopt.
std::optional<console_asset> console_file(std::string_view name);

}  // namespace runnel::server::admin
