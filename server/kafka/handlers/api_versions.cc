// ApiVersions (18): which APIs and versions this broker serves. The connection answers an
// unsupported ApiVersions version itself (KIP-511 fallback); this handles the supported ones.
#include "protocol/messages/api_versions.h"

#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;

namespace {

asio::awaitable<std::optional<api_versions_response>> handle(request_context& ctx,
                                                             api_versions_request req) {
    api_versions_response resp;
    for (const api_handler* h : ctx.services.api_dispatch().all()) {
        api_versions_response::api_version e;
        e.api_key = h->key;
        e.min_version = h->advertised_min_version;
        e.max_version = h->max_version;
        resp.api_keys.push_back(e);
    }
    co_return resp;
}

}  // namespace

void register_api_versions(dispatch& d) { d.add<api_types<18>>(handle); }

}  // namespace runnel::server
