#include "server/admin/routes/routes.h"
#include "server/coordinators/transactions/transaction_coordinator_set.h"
#include "server/core/cross_shard.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server::admin {

void add_transaction_routes(router& r, admin_services& s) {
    // Every transactional id the coordinators know (as kafka-transactions.sh list, with what
    // kafka-transactions.sh describe adds), from every shard's coordinator.
    r.add("GET", "/v1/transactions",
          [&s](const http_request&,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              json list = json::array();
              for (shard_id id = 0; id < s.kafka.shards().size(); ++id) {
                  auto read = [&s, id]() -> asio::awaitable<json> {
                      json found = json::array();
                      s.kafka.transactions().on(id).for_each(
                          [&found](const transactions::transaction_metadata& m) {
                              if (m.status == transactions::txn_status::dead) return;
                              json partitions = json::array();
                              for (const auto& tp : m.partitions) {
                                  partitions.push_back(
                                      {{"topic", tp.topic}, {"partition", tp.partition}});
                              }
                              found.push_back({{"transactional_id", m.transactional_id},
                                               {"producer_id", m.producer_id},
                                               {"producer_epoch", m.producer_epoch},
                                               {"state", transactions::status_name(m.status)},
                                               {"timeout_ms", m.timeout_ms},
                                               {"start_ms", m.start_ms},
                                               {"partitions", partitions}});
                          });
                      co_return found;
                  };
                  json found = co_await on_shard(s.kafka.shards().at(id), read);
                  for (auto& t : found) list.push_back(std::move(t));
              }
              std::sort(list.begin(), list.end(), [](const json& a, const json& b) {
                  return a["transactional_id"] < b["transactional_id"];
              });
              co_return json_answer(200, list);
          });

    // The idempotent and transactional producers each partition's log keeps state for (as
    // kafka-transactions.sh describe-producers): an open transaction shows its first offset.
    r.add("GET", "/v1/topics/{name}/producers",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              auto t = s.kafka.topics().snapshot()->find(params[0]);
              if (!t) co_return error_answer(404, "no topic named '" + params[0] + "'");
              json out = json::array();
              for (int32_t i = 0; i < t->partition_count(); ++i) {
                  const shard_id owner = t->partitions[i].owner;
                  auto read = [&s, owner, id = t->id, i]() -> asio::awaitable<json> {
                      json producers = json::array();
                      const partition* p = s.kafka.partitions_on(owner).find(id, i);
                      if (!p) co_return producers;
                      p->log().producers().for_each(
                          [&producers](int64_t pid, const storage::producer_entry& e) {
                              producers.push_back(
                                  {{"producer_id", pid},
                                   {"producer_epoch", e.epoch},
                                   {"last_sequence", e.last_seq()},
                                   {"last_timestamp", e.last_timestamp},
                                   {"coordinator_epoch", e.coordinator_epoch},
                                   {"current_txn_start_offset", e.current_txn_first_offset}});
                          });
                      std::sort(producers.begin(), producers.end(),
                                [](const json& a, const json& b) {
                                    return a["producer_id"] < b["producer_id"];
                                });
                      co_return producers;
                  };
                  json producers = co_await on_shard(s.kafka.shards().at(owner), read);
                  out.push_back({{"partition", i}, {"producers", producers}});
              }
              co_return json_answer(200, out);
          });
}

}  // namespace runnel::server::admin
