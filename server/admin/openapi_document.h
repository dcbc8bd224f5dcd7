// The OpenAPI 3 document describing the admin API (server/admin/openapi.json, compiled in).
#pragma once

#include <string_view>

namespace runnel::server::admin {

std::string_view openapi_document();

}  // namespace runnel::server::admin
