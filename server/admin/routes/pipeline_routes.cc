
#include <algorithm>
#include <deque>
#include <set>

#include "server/admin/record_json.h"
#include "server/admin/routes/routes.h"
#include "server/core/cross_shard.h"
#include "server/kafka/kafka_services.h"
#include "server/pipelines/committed_reader.h"
#include "server/pipelines/pipeline_host.h"
#include "streams/spec/pipeline_yaml.h"

namespace runnel::server::admin {

namespace {

json status_json(const pipelines::pipeline_status& s) {
    return json{{"name", s.name},
                {"file", s.file},
                {"state", s.state},
                {"tasks", s.tasks},
                {"records_in", s.records_in},
                {"records_out", s.records_out},
                {"late", s.late},
                {"dead_lettered", s.dead_lettered},
                {"commits", s.commits},
                {"restarts", s.restarts}};
}

bool is_yaml(const std::string& content_type) {
    return content_type == "application/yaml" || content_type == "application/x-yaml" ||
           content_type == "text/yaml" || content_type == "text/plain";
}

// The topics a pipeline writes results to: its sink, or its routes' topics; then its late and
// dead-letter topics.
std::vector<std::string> result_topics(const streams::pipeline_spec& spec) {
    std::vector<std::string> out;
    if (spec.sink) out.push_back(spec.sink->topic);
    for (const auto& step : spec.steps) {
        if (const auto* r = std::get_if<streams::route_step>(&step)) {
            for (const auto& rule : r->rules) out.push_back(rule.topic);
            if (r->otherwise) out.push_back(*r->otherwise);
        }
    }
    if (spec.late_topic) out.push_back(*spec.late_topic);
    out.push_back(spec.dead_letter_topic);
    return out;
}

json value_json(const std::optional<std::string>& bytes) {
    if (!bytes) return nullptr;
    json parsed = json::parse(*bytes, nullptr, false);
    if (!parsed.is_discarded()) return parsed;
    // Not JSON: its text, or base64 when it is not text (JSON strings must be UTF-8; a value
    // that is base64 cannot be told from text here: keys carry key_encoding).
    return valid_utf8(*bytes) ? json(*bytes) : json(base64_of(*bytes));
}

struct tail_record {
    int32_t partition = 0;
    streams::input_record record;
};

// The last `limit` committed records of each partition of `topic`, read on their owner shards.
asio::awaitable<std::vector<tail_record>> tail_of(kafka_services& kafka, const std::string& topic,
                                                  int64_t limit) {
    std::vector<tail_record> out;
    auto t = kafka.topics().snapshot()->find(topic);
    if (!t) co_return out;
    for (int32_t i = 0; i < t->partition_count(); ++i) {
        const shard_id owner = t->partitions[i].owner;
        auto read = [&kafka, owner, id = t->id, i,
                     limit]() -> asio::awaitable<std::vector<streams::input_record>> {
            const partition* p = kafka.partitions_on(owner).find(id, i);
            if (!p) co_return std::vector<streams::input_record>();
            const auto& log = p->log();
            // Pipelines write in transactions: each ends in a marker taking an offset, so
            // twice the span holds `limit` records even with one record per transaction.
            const int64_t from =
                std::max(log.log_start_offset(), log.last_stable_offset() - 2 * limit - 1);
            // Read on to the stable end (a read returns about 4 MiB), keeping the last `limit`.
            std::deque<streams::input_record> kept;
            for (int64_t at = from; at < log.last_stable_offset();) {
                auto chunk = pipelines::read_committed(*p, at, 4 << 20);
                if (chunk.error || chunk.next_offset <= at) break;
                for (auto& r : chunk.records) {
                    kept.push_back(std::move(r));
                    if (static_cast<int64_t>(kept.size()) > limit) kept.pop_front();
                }
                at = chunk.next_offset;
            }
            co_return std::vector<streams::input_record>(std::make_move_iterator(kept.begin()),
                                                         std::make_move_iterator(kept.end()));
        };
        std::vector<streams::input_record> records =
            co_await on_shard(kafka.shards().at(owner), read);
        // Newest first within the partition: the sort by timestamp below is stable, and records
        // of one input record share its timestamp.
        for (auto it = records.rbegin(); it != records.rend(); ++it) {
            out.push_back({i, std::move(*it)});
        }
    }
    co_return out;
}

}  // namespace

void add_pipeline_routes(router& r, admin_services& s) {
    r.add("GET", "/v1/pipelines",
          [&s](const http_request&,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              json list = json::array();
              for (const auto& p : s.pipelines.status()) list.push_back(status_json(p));
              co_return json_answer(200, list);
          });

    r.add("GET", "/v1/pipelines/{name}",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              for (const auto& p : s.pipelines.status()) {
                  if (p.name != params[0]) continue;
                  json answer = status_json(p);
                  // The YAML it runs (its file may hold a newer version not loaded yet).
                  auto running = s.pipelines.find(p.name);
                  answer["yaml"] = running ? running->text : std::string();
                  co_return json_answer(200, answer);
              }
              co_return error_answer(404, "no pipeline named '" + params[0] + "' is running");
          });

    // Creates or replaces a pipeline from its YAML; the broker starts it within
    // runnel.pipelines.scan.interval.ms (202: accepted, not yet running).
    r.add("PUT", "/v1/pipelines/{name}",
          [&s](const http_request& request,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              if (!is_yaml(request.content_type)) {
                  co_return error_answer(
                      415, "the body must be the pipeline's YAML (Content-Type: application/yaml)");
              }
              auto load = streams::load_pipeline(request.body, "the submitted pipeline");
              if (!load.spec) co_return error_answer(400, load.error);
              if (load.spec->name != params[0]) {
                  co_return error_answer(400,
                                         "the YAML names pipeline '" + load.spec->name +
                                             "', the path '" + params[0] + "'",
                                         "pipeline");
              }
              const std::string why = s.pipelines.submit(request.body);
              if (!why.empty()) co_return error_answer(409, why);
              co_return json_answer(202, json{{"name", params[0]}, {"state", "submitted"}});
          });

    // The latest results: the last `limit` records of each partition of the sink (or of
    // `topic`, one of the pipeline's outputs), newest first; with by_key=true only the newest
    // record of each key (a count's current value per group, the latest top list per window).
    r.add("GET", "/v1/pipelines/{name}/results",
          [&s](const http_request& request,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              auto pipeline = s.pipelines.find(params[0]);
              if (!pipeline) {
                  co_return error_answer(404, "no pipeline named '" + params[0] + "'");
              }
              bool by_key = false;
              if (auto bad = query_flag(request, "by_key", by_key)) co_return *bad;
              int64_t limit = 100;
              if (auto bad = query_integer(request, "limit", 1, 10000, limit)) co_return *bad;
              const auto topics = result_topics(pipeline->spec);
              std::string topic = topics.front();
              if (auto it = request.query.find("topic"); it != request.query.end()) {
                  if (std::find(topics.begin(), topics.end(), it->second) == topics.end()) {
                      co_return error_answer(400,
                                             "'" + it->second +
                                                 "' is not a topic the "
                                                 "pipeline writes",
                                             "topic");
                  }
                  topic = it->second;
              }
              std::vector<tail_record> tail = co_await tail_of(s.kafka, topic, limit);
              std::stable_sort(tail.begin(), tail.end(), [](const auto& a, const auto& b) {
                  return a.record.timestamp > b.record.timestamp;
              });
              json results = json::array();
              std::set<std::optional<std::string>> keys;
              for (const auto& t : tail) {
                  if (by_key && !keys.insert(t.record.key).second) continue;
                  if (static_cast<int64_t>(results.size()) >= limit) break;
                  json result = {{"value", value_json(t.record.value)},
                                 {"partition", t.partition},
                                 {"timestamp", t.record.timestamp}};
                  // A key that is not text comes as base64 (key_encoding says so).
                  put_bytes(result, "key", t.record.key);
                  results.push_back(std::move(result));
              }
              co_return json_answer(200, json{{"topic", topic}, {"results", results}});
          });

    r.add("POST", "/v1/pipelines/{name}/pause",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              const std::string why = s.pipelines.pause(params[0]);
              if (!why.empty()) co_return error_answer(404, why);
              co_return json_answer(200, json{{"name", params[0]}, {"state", "paused"}});
          });

    r.add("POST", "/v1/pipelines/{name}/resume",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              const std::string why = s.pipelines.resume(params[0]);
              if (!why.empty()) co_return error_answer(404, why);
              co_return json_answer(202, json{{"name", params[0]}, {"state", "resuming"}});
          });

    r.add("DELETE", "/v1/pipelines/{name}",
          [&s](const http_request&,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              const std::string why = s.pipelines.remove(params[0]);
              if (why.rfind("no pipeline named", 0) == 0) co_return error_answer(404, why);
              if (!why.empty()) co_return error_answer(500, why);
              co_return empty_answer(204);
          });
}

}  // namespace runnel::server::admin
