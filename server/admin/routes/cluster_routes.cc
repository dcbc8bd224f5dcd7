#include "server/admin/routes/routes.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server::admin {

void add_cluster_routes(router& r, admin_services& s) {
    r.add("GET", "/v1/cluster",
          [&s](const http_request&,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              auto& kafka = s.kafka;
              json listeners = json::array();
              for (const auto& e : kafka.endpoints()) {
                  listeners.push_back({{"name", e.listener}, {"host", e.host}, {"port", e.port}});
              }
              auto topics = kafka.topics().snapshot();
              json broker = {{"node_id", kafka.node_id()},
                             {"listeners", listeners},
                             {"shards", kafka.shards().size()}};
              co_return json_answer(200, json{{"cluster_id", kafka.cluster_id()},
                                              {"controller_id", kafka.node_id()},
                                              {"brokers", json::array({broker})},
                                              {"topics", topics->by_name.size()},
                                              {"partitions", topics->partition_count}});
          });
}

}  // namespace runnel::server::admin
