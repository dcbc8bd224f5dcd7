#include <CLI/CLI.hpp>

#include "server/cli/cli_context.h"

namespace runnel::cli {

void add_topic_commands(CLI::App& app, cli_context& ctx) {
    auto* topic = app.add_subcommand(
        "topic", "Create, list, describe and delete topics; produce and consume records");
    topic->require_subcommand(1);

    topic->add_subcommand("list", "Every topic")->callback([&ctx] {
        ctx.show(ctx.client().get("/v1/topics"), [&ctx](const json& list) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& t : list) {
                rows.push_back({cell(t["name"]), cell(t["partitions"]),
                                t["internal"].get<bool>() ? "yes" : "no", cell(t["id"])});
            }
            print_table(ctx.out, {"NAME", "PARTITIONS", "INTERNAL", "ID"}, rows);
        });
    });

    struct create_args {
        std::string name;
        int32_t partitions = -1;
        std::vector<std::string> configs;
    };
    auto args = std::make_shared<create_args>();
    auto* create = topic->add_subcommand("create", "Create a topic");
    create->add_option("name", args->name, "Topic name")->required();
    create->add_option("-p,--partitions", args->partitions, "Partitions (num.partitions)");
    create->add_option("-c,--config", args->configs, "A topic config as key=value (repeatable)");
    create->callback([&ctx, args] {
        json body = {{"name", args->name}};
        if (args->partitions > 0) body["partitions"] = args->partitions;
        json configs = json::object();
        for (const auto& kv : args->configs) {
            const size_t eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) {
                ctx.err << "error: --config takes key=value, not '" << kv << "'\n";
                ctx.exit_code = exit_usage;
                return;
            }
            configs[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        if (!configs.empty()) body["configs"] = configs;
        ctx.show(ctx.client().send_json("POST", "/v1/topics", body), [&ctx](const json& t) {
            ctx.out << "created topic " << cell(t["name"]) << " with " << cell(t["partitions"])
                    << " partition(s)\n";
        });
    });

    auto name = std::make_shared<std::string>();
    auto* describe = topic->add_subcommand("describe", "A topic's partitions and configs");
    describe->add_option("name", *name, "Topic name")->required();
    describe->callback([&ctx, name] {
        auto c = ctx.client();
        api_answer t = c.get("/v1/topics/" + url_escape(*name));
        if (!t.ok() || ctx.json_output()) {
            ctx.show(t, [](const json&) {});
            return;
        }
        const json& d = t.body;
        ctx.out << "topic " << cell(d["name"]) << " (id " << cell(d["id"]) << ")\n\n";
        std::vector<std::vector<std::string>> rows;
        for (const auto& p : d["partitions"]) {
            rows.push_back({cell(p["partition"]), cell(p["leader"]), cell(p["log_start_offset"]),
                            cell(p["log_end_offset"]), cell(p["size_bytes"]), cell(p["segments"])});
        }
        print_table(ctx.out, {"PARTITION", "LEADER", "START", "END", "BYTES", "SEGMENTS"}, rows);
        api_answer configs = c.get("/v1/topics/" + url_escape(*name) + "/configs");
        if (!configs.ok()) {
            ctx.err << "error: " << configs.error() << "\n";
            ctx.exit_code = exit_refused;
            return;
        }
        rows.clear();
        for (const auto& e : configs.body) {
            if (e["source"] == "DEFAULT_CONFIG") continue;
            rows.push_back({cell(e["name"]), cell(e["value"]), cell(e["source"])});
        }
        if (!rows.empty()) {
            ctx.out << "\n";
            print_table(ctx.out, {"CONFIG", "VALUE", "SOURCE"}, rows);
        }
    });

    auto doomed = std::make_shared<std::string>();
    auto* remove = topic->add_subcommand("delete", "Delete a topic");
    remove->add_option("name", *doomed, "Topic name")->required();
    remove->callback([&ctx, doomed] {
        ctx.show(ctx.client().call("DELETE", "/v1/topics/" + url_escape(*doomed)),
                 [&ctx, doomed](const json&) { ctx.out << "deleted topic " << *doomed << "\n"; });
    });

    add_record_commands(*topic, ctx);
}

}  // namespace runnel::cli
