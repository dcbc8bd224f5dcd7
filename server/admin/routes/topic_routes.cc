#include <boost/asio/this_coro.hpp>

#include "protocol/errors.h"
#include "server/admin/json_body.h"
#include "server/admin/routes/routes.h"
#include "server/cluster/topic_admin.h"
#include "server/config/config_changes.h"
#include "server/config/config_entry.h"
#include "server/core/cross_shard.h"
#include "server/kafka/kafka_services.h"
#include "storage/partition_dir.h"

namespace runnel::server::admin {

namespace {

using protocol::error_code;

json topic_summary(const topic_metadata& t) {
    return json{{"name", t.name},
                {"id", storage::topic_id_to_string(t.id)},
                {"partitions", t.partition_count()},
                {"internal", t.internal}};
}

// An admin_result's error as HTTP: the client's mistakes are 4xx, naming the field to blame.
http_response refusal(const admin_result& r, std::string_view config_field = "configs") {
    const std::string message = r.message.value_or(std::string(protocol::error_name(r.error)));
    switch (r.error) {
        case error_code::topic_already_exists:
            return error_answer(409, message, "name");
        case error_code::unknown_topic_or_partition:
            return error_answer(404, message);
        case error_code::invalid_topic_exception:
            return error_answer(400, message, "name");
        case error_code::invalid_partitions:
            return error_answer(400, message, "partitions");
        case error_code::invalid_replication_factor:
            return error_answer(400, message, "replication_factor");
        case error_code::invalid_config:
            return error_answer(400, message, config_field);
        case error_code::policy_violation:
        case error_code::invalid_request:
            return error_answer(400, message);
        case error_code::not_controller:
        case error_code::request_timed_out:
            return error_answer(503, message);
        default:
            return error_answer(500, message);
    }
}

// Each partition's offsets and files, read on the shards that own them.
asio::awaitable<json> partitions_of(kafka_services& kafka,
                                    std::shared_ptr<const topic_metadata> t) {
    std::vector<json> out(static_cast<size_t>(t->partition_count()));
    std::map<shard_id, std::vector<int32_t>> by_owner;
    for (int32_t i = 0; i < t->partition_count(); ++i)
        by_owner[t->partitions[i].owner].push_back(i);
    for (auto& [owner, indexes] : by_owner) {
        auto read = [&kafka, owner = owner, id = t->id,
                     indexes = indexes]() -> asio::awaitable<std::vector<json>> {
            std::vector<json> found;
            for (int32_t i : indexes) {
                const partition* p = kafka.partitions_on(owner).find(id, i);
                if (!p) {
                    found.push_back(json{{"partition", i}, {"error", "not open"}});
                    continue;
                }
                const auto& log = p->log();
                found.push_back(json{{"partition", i},
                                     {"log_start_offset", log.log_start_offset()},
                                     {"log_end_offset", log.log_end_offset()},
                                     {"last_stable_offset", log.last_stable_offset()},
                                     {"size_bytes", log.size_bytes()},
                                     {"segments", log.segment_count()}});
            }
            co_return found;
        };
        std::vector<json> found = co_await on_shard(kafka.shards().at(owner), read);
        for (size_t k = 0; k < indexes.size(); ++k) {
            json& entry = found[k];
            entry["leader"] = kafka.node_id();
            entry["leader_epoch"] = t->partitions[indexes[k]].leader_epoch;
            entry["log_dir"] = t->partitions[indexes[k]].log_dir;
            out[static_cast<size_t>(indexes[k])] = std::move(entry);
        }
    }
    co_return json(out);
}

// Kafka's names of config sources, as kafka-configs --describe --all prints them.
std::string source_name(config_source source) {
    switch (source) {
        case config_source::dynamic_topic_config:
            return "DYNAMIC_TOPIC_CONFIG";
        case config_source::dynamic_broker_config:
            return "DYNAMIC_BROKER_CONFIG";
        case config_source::dynamic_default_broker_config:
            return "DYNAMIC_DEFAULT_BROKER_CONFIG";
        case config_source::static_broker_config:
            return "STATIC_BROKER_CONFIG";
        case config_source::default_config:
            return "DEFAULT_CONFIG";
        case config_source::dynamic_broker_logger_config:
            return "DYNAMIC_BROKER_LOGGER_CONFIG";
        default:
            return "UNKNOWN";
    }
}

}  // namespace

void add_topic_routes(router& r, admin_services& s) {
    r.add("GET", "/v1/topics",
          [&s](const http_request&,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              json list = json::array();
              for (const auto& [name, t] : s.kafka.topics().snapshot()->by_name) {
                  list.push_back(topic_summary(*t));
              }
              co_return json_answer(200, list);
          });

    r.add("POST", "/v1/topics",
          [&s](const http_request& request,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              json_body body(request);
              new_topic spec;
              spec.name = body.string("name", true).value_or("");
              spec.partitions = static_cast<int32_t>(
                  body.integer("partitions", false, 1, INT32_MAX).value_or(-1));
              spec.replication_factor = static_cast<int16_t>(
                  body.integer("replication_factor", false, 1, INT16_MAX).value_or(-1));
              spec.configs =
                  body.string_map("configs", false).value_or(std::map<std::string, std::string>());
              if (auto bad = body.problem()) co_return *bad;
              bool validate_only = false;
              if (auto bad = query_flag(request, "validate_only", validate_only)) co_return *bad;
              admin_result created =
                  co_await s.kafka.admin().create_topic(std::move(spec), validate_only);
              if (created.error != error_code::none) co_return refusal(created);
              if (validate_only || !created.topic) {
                  co_return json_answer(200, json{{"valid", true}});
              }
              co_return json_answer(201, topic_summary(*created.topic));
          });

    r.add("GET", "/v1/topics/{name}",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              auto t = s.kafka.topics().snapshot()->find(params[0]);
              if (!t) co_return error_answer(404, "no topic named '" + params[0] + "'");
              json answer = topic_summary(*t);
              answer["configs"] = t->config_overrides;
              answer["partitions"] = co_await partitions_of(s.kafka, t);
              co_return json_answer(200, answer);
          });

    r.add(
        "GET", "/v1/topics/{name}/configs",
        [&s](const http_request&,
             const std::vector<std::string>& params) -> asio::awaitable<http_response> {
            auto t = s.kafka.topics().snapshot()->find(params[0]);
            if (!t) co_return error_answer(404, "no topic named '" + params[0] + "'");
            json list = json::array();
            for (const auto& e : s.kafka.admin().config_of(*t).describe(*s.kafka.live_config())) {
                list.push_back({{"name", e.name},
                                {"value", e.sensitive || !e.value ? json(nullptr) : json(*e.value)},
                                {"source", source_name(e.source)},
                                {"read_only", e.read_only},
                                {"sensitive", e.sensitive},
                                {"documentation", e.documentation}});
            }
            co_return json_answer(200, list);
        });

    // As kafka-configs --alter (IncrementalAlterConfigs): "set" values, "delete" names (back to
    // the inherited value); the rest of the topic's overrides stay.
    r.add("PATCH", "/v1/topics/{name}/configs",
          [&s](const http_request& request,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              json_body body(request);
              auto set = body.string_map("set", false);
              auto remove = body.string_list("delete", false);
              if (auto bad = body.problem()) co_return *bad;
              bool validate_only = false;
              if (auto bad = query_flag(request, "validate_only", validate_only)) co_return *bad;
              if (!s.kafka.topics().snapshot()->find(params[0])) {
                  co_return error_answer(404, "no topic named '" + params[0] + "'");
              }
              std::vector<config_change> changes;
              for (const auto& [key, value] : set.value_or(std::map<std::string, std::string>())) {
                  changes.push_back(
                      {key, static_cast<int8_t>(config_operation::set), std::optional(value)});
              }
              for (const auto& key : remove.value_or(std::vector<std::string>())) {
                  changes.push_back({key, static_cast<int8_t>(config_operation::remove), {}});
              }
              std::string name = params[0];
              admin_result altered = co_await s.kafka.admin().alter_configs(
                  std::move(name), std::move(changes), false, validate_only);
              if (altered.error != error_code::none) co_return refusal(altered, "set");
              auto t = s.kafka.topics().snapshot()->find(params[0]);
              co_return json_answer(
                  200, json{{"configs", t ? json(t->config_overrides) : json::object()}});
          });

    r.add("DELETE", "/v1/topics/{name}",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              if (!s.kafka.topics().snapshot()->find(params[0])) {
                  co_return error_answer(404, "no topic named '" + params[0] + "'");
              }
              std::string name = params[0];
              admin_result deleted = co_await s.kafka.admin().delete_topic(std::move(name));
              if (deleted.error != error_code::none) co_return refusal(deleted);
              co_return empty_answer(204);
          });
}

}  // namespace runnel::server::admin
