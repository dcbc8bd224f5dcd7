#include <CLI/CLI.hpp>

#include "server/cli/cli_context.h"

namespace runnel::cli {

void add_group_commands(CLI::App& app, cli_context& ctx) {
    auto* group = app.add_subcommand("group", "List, describe and seek consumer groups");
    group->require_subcommand(1);

    group->add_subcommand("list", "Every consumer group")->callback([&ctx] {
        ctx.show(ctx.client().get("/v1/groups"), [&ctx](const json& list) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& g : list) {
                rows.push_back({cell(g["group_id"]), cell(g["state"]), cell(g["type"])});
            }
            print_table(ctx.out, {"GROUP", "STATE", "TYPE"}, rows);
        });
    });

    auto id = std::make_shared<std::string>();
    auto* describe = group->add_subcommand("describe", "Members, committed offsets and lag");
    describe->add_option("group", *id, "Group id")->required();
    describe->callback([&ctx, id] {
        ctx.show(ctx.client().get("/v1/groups/" + url_escape(*id)), [&ctx](const json& g) {
            ctx.out << "group " << cell(g["group_id"]) << ": " << cell(g["state"]) << ", "
                    << g["members"].size() << " member(s), lag " << cell(g["lag"]) << "\n\n";
            std::vector<std::vector<std::string>> rows;
            for (const auto& o : g["offsets"]) {
                rows.push_back({cell(o["topic"]), cell(o["partition"]), cell(o["committed_offset"]),
                                cell(o["log_end_offset"]), cell(o["lag"])});
            }
            print_table(ctx.out, {"TOPIC", "PARTITION", "COMMITTED", "END", "LAG"}, rows);
            if (!g["members"].empty()) {
                rows.clear();
                for (const auto& m : g["members"]) {
                    rows.push_back(
                        {cell(m["member_id"]), cell(m["client_id"]), cell(m["client_host"])});
                }
                ctx.out << "\n";
                print_table(ctx.out, {"MEMBER", "CLIENT", "HOST"}, rows);
            }
        });
    });

    struct seek_args {
        std::string group, topic, to;
        std::vector<int32_t> partitions;
    };
    auto args = std::make_shared<seek_args>();
    auto* seek = group->add_subcommand(
        "seek", "Move a group's offsets of a topic (the group must have no members)");
    seek->add_option("group", args->group, "Group id")->required();
    seek->add_option("--topic", args->topic, "Topic")->required();
    seek->add_option("--to", args->to, "earliest, latest or an offset")->required();
    seek->add_option("--partitions", args->partitions, "Only these partitions");
    seek->callback([&ctx, args] {
        json body = {{"topic", args->topic}};
        if (args->to == "earliest" || args->to == "latest") {
            body["to"] = args->to;
        } else {
            try {
                size_t used = 0;
                body["to"] = std::stoll(args->to, &used);
                if (used != args->to.size()) throw std::invalid_argument(args->to);
            } catch (const std::exception&) {
                ctx.err << "error: --to takes earliest, latest or an offset, not '" << args->to
                        << "'\n";
                ctx.exit_code = exit_usage;
                return;
            }
        }
        if (!args->partitions.empty()) body["partitions"] = args->partitions;
        ctx.show(
            ctx.client().send_json("POST", "/v1/groups/" + url_escape(args->group) + "/offsets",
                                   body),
            [&ctx](const json& done) {
                std::vector<std::vector<std::string>> rows;
                for (const auto& o : done["offsets"]) {
                    rows.push_back({cell(o["topic"]), cell(o["partition"]), cell(o["offset"])});
                }
                print_table(ctx.out, {"TOPIC", "PARTITION", "NEW OFFSET"}, rows);
            });
    });
}

}  // namespace runnel::cli
