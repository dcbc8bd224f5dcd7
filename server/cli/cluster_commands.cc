#include <CLI/CLI.hpp>

#include "server/cli/cli_context.h"

namespace runnel::cli {

void add_cluster_commands(CLI::App& app, cli_context& ctx) {
    auto* cluster = app.add_subcommand("cluster", "The cluster and its brokers");
    cluster->require_subcommand(1);
    cluster->add_subcommand("info", "Cluster id, brokers and their listeners")->callback([&ctx] {
        ctx.show(ctx.client().get("/v1/cluster"), [&ctx](const json& c) {
            ctx.out << "cluster " << cell(c["cluster_id"]) << ", controller "
                    << cell(c["controller_id"]) << ", " << cell(c["topics"]) << " topics, "
                    << cell(c["partitions"]) << " partitions\n";
            std::vector<std::vector<std::string>> rows;
            for (const auto& b : c["brokers"]) {
                std::string listeners;
                for (const auto& l : b["listeners"]) {
                    // (Appended piece by piece: g++ 12 warns wrongly about a + chain here.)
                    if (!listeners.empty()) listeners += ',';
                    listeners.append(cell(l["name"])).append("://").append(cell(l["host"]));
                    listeners.append(":").append(cell(l["port"]));
                }
                rows.push_back({cell(b["node_id"]), listeners, cell(b["shards"])});
            }
            print_table(ctx.out, {"BROKER", "LISTENERS", "SHARDS"}, rows);
        });
    });
}

}  // namespace runnel::cli
