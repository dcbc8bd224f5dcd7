#include <algorithm>
#include "server/admin/group_view.h"
#include "server/admin/routes/routes.h"

#include "server/admin/json_body.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/groups/group_call.h"
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

    // As kafka-consumer-groups --reset-offsets --execute: a topic's partitions (all, or those
    // listed) moved to "earliest", "latest" or an offset (kept within the log), for a group
    // without members (409 otherwise: its consumers would overwrite them).
    r.add(
        "POST", "/v1/groups/{id}/offsets",
        [&s](const http_request& request,
             const std::vector<std::string>& params) -> asio::awaitable<http_response> {
            json_body body(request);
            const std::string topic = body.string("topic", true).value_or("");
            const std::optional<json> to = body.value("to", true);
            const auto only = body.integer_list("partitions", false, 0, INT32_MAX);
            if (to && !((to->is_number_integer() && !to->is_number_unsigned()) ||
                        (to->is_number_unsigned() && to->get<uint64_t>() <= INT64_MAX) ||
                        (to->is_string() && (*to == "earliest" || *to == "latest")))) {
                body.refuse("'to' must be \"earliest\", \"latest\" or an offset", "to");
            }
            if (auto bad = body.problem()) co_return *bad;
            auto t = s.kafka.topics().snapshot()->find(topic);
            if (!t) co_return error_answer(400, "no topic named '" + topic + "'", "topic");
            std::vector<int32_t> partitions;
            if (only) {
                for (int64_t p : *only) {
                    if (p >= t->partition_count()) {
                        co_return error_answer(
                            400, "topic '" + topic + "' has no partition " + std::to_string(p),
                            "partitions");
                    }
                    partitions.push_back(static_cast<int32_t>(p));
                }
            } else {
                for (int32_t p = 0; p < t->partition_count(); ++p) partitions.push_back(p);
            }
            if (co_await coordinator_ready(s.kafka, params[0], true) != coordinator_state::ready) {
                co_return error_answer(503, "the group's coordinator is still loading");
            }
            if (auto d = co_await describe_one_group(s.kafka, params[0]);
                d && !d->members.empty()) {
                co_return error_answer(
                    409, "group '" + params[0] + "' has members: stop its consumers first");
            }
            // Where each partition's log starts and ends now.
            std::vector<group_partition_offset> ends;
            for (int32_t p : partitions) ends.push_back({topic, p, -1, -1});
            co_await fill_log_ends(s.kafka, ends);
            std::vector<int64_t> starts;
            for (int32_t p : partitions) {
                const shard_id owner = t->partitions[p].owner;
                auto read = [&s, owner, id = t->id, p]() -> asio::awaitable<int64_t> {
                    const partition* part = s.kafka.partitions_on(owner).find(id, p);
                    co_return part ? part->log().log_start_offset() : 0;
                };
                starts.push_back(co_await on_shard(s.kafka.shards().at(owner), read));
            }
            protocol::msg::offset_commit_request commit;
            commit.group_id = params[0];
            commit.generation_id_or_member_epoch = -1;  // an admin's commit (no member)
            auto& entry = commit.topics.emplace_back();
            entry.name = topic;
            json moved = json::array();
            for (size_t i = 0; i < partitions.size(); ++i) {
                const int64_t start = starts[i], end = std::max<int64_t>(ends[i].log_end_offset, 0);
                int64_t offset = *to == "earliest" ? start
                                 : *to == "latest" ? end
                                                   : std::clamp(to->get<int64_t>(), start, end);
                auto& part = entry.partitions.emplace_back();
                part.partition_index = partitions[i];
                part.committed_offset = offset;
                part.committed_metadata = "";
                moved.push_back(
                    {{"topic", topic}, {"partition", partitions[i]}, {"offset", offset}});
            }
            auto write = [commit](groups::group_coordinator& c, int32_t partition)
                -> asio::awaitable<protocol::msg::offset_commit_response> {
                co_return c.commit_offsets(partition, commit, 8);
            };
            auto done = co_await groups::call_coordinator<protocol::msg::offset_commit_response>(
                s.kafka.groups(), params[0], write);
            if (done.error != error_code::none) {
                co_return error_answer(503, std::string(protocol::error_name(done.error)));
            }
            for (const auto& tp : done.value.topics) {
                for (const auto& p : tp.partitions) {
                    const auto e = static_cast<error_code>(p.error_code);
                    if (e == error_code::none) continue;
                    co_return error_answer(e == error_code::unknown_member_id ||
                                                   e == error_code::illegal_generation ||
                                                   e == error_code::rebalance_in_progress
                                               ? 409
                                               : 503,
                                           std::string(protocol::error_name(e)));
                }
            }
            co_return json_answer(200, json{{"group_id", params[0]}, {"offsets", moved}});
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
