#include "server/admin/group_view.h"
#include "server/admin/routes/routes.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/groups/group_coordinator.h"
#include "server/core/cross_shard.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server::admin {

namespace {

using protocol::error_code;

json detail_json(const group_detail& d) {
    json members = json::array();
    for (const auto& m : d.members) {
        members.push_back({{"member_id", m.member_id},
                           {"instance_id", m.instance_id ? json(*m.instance_id) : json(nullptr)},
                           {"client_id", m.client_id},
                           {"client_host", m.client_host}});
    }
    json offsets = json::array();
    int64_t total_lag = 0;
    for (const auto& o : d.offsets) {
        json entry = {{"topic", o.topic},
                      {"partition", o.partition},
                      {"committed_offset", o.committed_offset}};
        if (o.log_end_offset >= 0) {
            const int64_t lag = std::max<int64_t>(0, o.log_end_offset - o.committed_offset);
            entry["log_end_offset"] = o.log_end_offset;
            entry["lag"] = lag;
            total_lag += lag;
        } else {
            entry["log_end_offset"] = nullptr;
            entry["lag"] = nullptr;
        }
        offsets.push_back(std::move(entry));
    }
    return json{{"group_id", d.group_id}, {"state", d.state},   {"protocol_type", d.protocol_type},
                {"type", d.type},         {"members", members}, {"offsets", offsets},
                {"lag", total_lag}};
}

}  // namespace

void add_group_routes(router& r, admin_services& s) {
    r.add("GET", "/v1/groups",
          [&s](const http_request&,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              json list = json::array();
              for (const auto& g : co_await list_all_groups(s.kafka)) {
                  list.push_back({{"group_id", g.group_id},
                                  {"state", g.state},
                                  {"protocol_type", g.protocol_type},
                                  {"type", g.type}});
              }
              co_return json_answer(200, list);
          });

    r.add("GET", "/v1/groups/{id}",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              std::optional<group_detail> d = co_await describe_one_group(s.kafka, params[0]);
              if (!d) co_return error_answer(404, "no group named '" + params[0] + "'");
              co_return json_answer(200, detail_json(*d));
          });

    // As kafka-consumer-groups --delete: only a group without members (409 otherwise).
    r.add("DELETE", "/v1/groups/{id}",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              const coordinator_state state = co_await coordinator_ready(s.kafka, params[0]);
              if (state == coordinator_state::absent) {
                  co_return error_answer(404, "no group named '" + params[0] + "'");
              }
              if (state == coordinator_state::loading) {
                  co_return error_answer(503, "the group's coordinator is still loading");
              }
              auto where = s.kafka.groups().locate(params[0]);
              if (where.error != error_code::none) {
                  co_return error_answer(404, "no group named '" + params[0] + "'");
              }
              auto drop = [&s, where, id = params[0]]() -> asio::awaitable<error_code> {
                  co_return s.kafka.groups().on(where.owner).delete_group(where.partition, id);
              };
              const error_code e = co_await on_shard(s.kafka.shards().at(where.owner), drop);
              switch (e) {
                  case error_code::none:
                      co_return empty_answer(204);
                  case error_code::group_id_not_found:
                      co_return error_answer(404, "no group named '" + params[0] + "'");
                  case error_code::non_empty_group:
                      co_return error_answer(409, "group '" + params[0] + "' has members");
                  default:
                      co_return error_answer(503, std::string(protocol::error_name(e)));
              }
          });
}

}  // namespace runnel::server::admin
