#include <fstream>
#include <sstream>

#include "server/admin/routes/routes.h"
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

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    return text.str();
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
                  answer["yaml"] = read_text(p.file);
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
