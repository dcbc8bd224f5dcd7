#include "server/admin/openapi_document.h"
#include "server/admin/routes/routes.h"

namespace runnel::server::admin {

void add_health_routes(router& r, admin_services& s) {
    // Alive: the process answers.
    r.add(
        "GET", "/v1/health",
        [](const http_request&, const std::vector<std::string>&) -> asio::awaitable<http_response> {
            co_return json_answer(200, json{{"status", "ok"}});
        });
    // Ready: started and not stopping (a load balancer or an orchestrator's readiness probe).
    r.add("GET", "/v1/ready",
          [&s](const http_request&,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              const bool ready = s.ready();
              co_return json_answer(
                  ready ? 200 : 503,
                  json{{"ready", ready}, {"status", ready ? "ready" : "starting"}});
          });
    r.add(
        "GET", "/v1/openapi.json",
        [](const http_request&, const std::vector<std::string>&) -> asio::awaitable<http_response> {
            http_response answer;
            answer.body = std::string(openapi_document());
            co_return answer;
        });
}

}  // namespace runnel::server::admin
