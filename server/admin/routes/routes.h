// The admin API's routes, one file per resource (see docs/operations.md and the OpenAPI document
// at /v1/openapi.json, server/admin/openapi.json, which lists every one of them).
#pragma once

#include <functional>

#include "server/admin/router.h"

namespace runnel::server {
class kafka_services;
namespace pipelines {
class pipeline_host;
}
}  // namespace runnel::server

namespace runnel::server::admin {

// What the routes reach: the broker's parts, all usable from any shard.
struct admin_services {
    kafka_services& kafka;
    pipelines::pipeline_host& pipelines;
    std::function<bool()> ready;  // serving clients (started, not stopping)
};

void add_health_routes(router& r, admin_services& s);    // /v1/health, /v1/ready, /v1/openapi.json
void add_cluster_routes(router& r, admin_services& s);   // /v1/cluster
void add_topic_routes(router& r, admin_services& s);     // /v1/topics...
void add_record_routes(router& r, admin_services& s);    // /v1/topics/{topic}/...records
void add_pipeline_routes(router& r, admin_services& s);  // /v1/pipelines...
void add_metrics_routes(router& r, admin_services& s);   // /metrics (Prometheus)
void add_group_routes(router& r, admin_services& s);     // /v1/groups...
void add_transaction_routes(router& r, admin_services& s);  // /v1/transactions, producers
void add_console_routes(router& r, admin_services& s);      // /, /console/ (the web console)

// Every route above, in one table.
inline router all_routes(admin_services& s) {
    router r;
    add_health_routes(r, s);
    add_cluster_routes(r, s);
    add_topic_routes(r, s);
    add_record_routes(r, s);
    add_pipeline_routes(r, s);
    add_metrics_routes(r, s);
    add_group_routes(r, s);
    add_transaction_routes(r, s);
    add_console_routes(r, s);
    return r;
}

}  // namespace runnel::server::admin
