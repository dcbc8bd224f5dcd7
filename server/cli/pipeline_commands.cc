#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "server/cli/cli_context.h"

namespace runnel::cli {

namespace {

// The pipeline's name from its YAML's first "pipeline:" line (the broker checks the rest).
std::string pipeline_name(const std::string& yaml) {
    std::istringstream lines(yaml);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("pipeline:", 0) != 0) continue;
        std::string name = line.substr(9);
        const size_t hash = name.find(" #");
        if (hash != std::string::npos) name.resize(hash);
        const size_t b = name.find_first_not_of(" \t\"'");
        const size_t e = name.find_last_not_of(" \t\"'\r");
        return b == std::string::npos ? "" : name.substr(b, e - b + 1);
    }
    return "";
}

}  // namespace

void add_pipeline_commands(CLI::App& app, cli_context& ctx) {
    auto* pipeline = app.add_subcommand("pipeline", "Apply, list and read pipelines");
    pipeline->require_subcommand(1);

    auto file = std::make_shared<std::string>();
    auto* apply = pipeline->add_subcommand("apply", "Create or replace a pipeline from its YAML");
    apply->add_option("file", *file, "The pipeline's YAML file")
        ->required()
        ->check(CLI::ExistingFile);
    apply->callback([&ctx, file] {
        std::ifstream in(*file, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        const std::string yaml = text.str();
        const std::string name = pipeline_name(yaml);
        if (name.empty()) {
            ctx.err << "error: " << *file << " has no 'pipeline: <name>' line\n";
            ctx.exit_code = exit_usage;
            return;
        }
        ctx.show(
            ctx.client().call("PUT", "/v1/pipelines/" + url_escape(name), yaml, "application/yaml"),
            [&ctx, name](const json&) {
                ctx.out << "pipeline " << name << " applied; it starts within the "
                        << "broker's scan interval\n";
            });
    });

    pipeline->add_subcommand("list", "Every pipeline and its counters")->callback([&ctx] {
        ctx.show(ctx.client().get("/v1/pipelines"), [&ctx](const json& list) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& p : list) {
                rows.push_back({cell(p["name"]), cell(p["state"]),
                                cell(p.value("records_in", json(nullptr))),
                                cell(p.value("records_out", json(nullptr))),
                                cell(p.value("late", json(nullptr))),
                                cell(p.value("dead_lettered", json(nullptr))), cell(p["file"])});
            }
            print_table(ctx.out, {"NAME", "STATE", "IN", "OUT", "LATE", "DEAD", "FILE"}, rows);
        });
    });

    struct results_args {
        std::string name, topic;
        int limit = 20;
        bool by_key = false;
    };
    auto args = std::make_shared<results_args>();
    auto* results = pipeline->add_subcommand("results", "A pipeline's latest results");
    results->add_option("name", args->name, "Pipeline name")->required();
    results->add_option("-n,--limit", args->limit, "How many")->check(CLI::Range(1, 10000));
    results->add_flag("--by-key", args->by_key, "Only the newest result of each key");
    results->add_option("--topic", args->topic, "Another of its output topics");
    results->callback([&ctx, args] {
        std::string target = "/v1/pipelines/" + url_escape(args->name) +
                             "/results?limit=" + std::to_string(args->limit);
        if (args->by_key) target += "&by_key=true";
        if (!args->topic.empty()) target += "&topic=" + url_escape(args->topic);
        ctx.show(ctx.client().get(target), [&ctx](const json& r) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& e : r["results"]) {
                rows.push_back({cell(e["key"]), cell(e["value"]), cell(e["partition"])});
            }
            print_table(ctx.out, {"KEY", "VALUE", "PARTITION"}, rows);
        });
    });

    auto doomed = std::make_shared<std::string>();
    auto* remove = pipeline->add_subcommand("delete", "Stop a pipeline and remove its file");
    remove->add_option("name", *doomed, "Pipeline name")->required();
    remove->callback([&ctx, doomed] {
        ctx.show(
            ctx.client().call("DELETE", "/v1/pipelines/" + url_escape(*doomed)),
            [&ctx, doomed](const json&) { ctx.out << "deleted pipeline " << *doomed << "\n"; });
    });
}

}  // namespace runnel::cli
